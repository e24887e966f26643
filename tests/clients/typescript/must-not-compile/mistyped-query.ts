/**
 * Two slips an integrator could make, which the generated types must catch at compile time:
 * the test expects `tsc -p must-not-compile` to fail with exactly these two errors.
 */

import createClient from "openapi-fetch";

import type { paths } from "../generated/gateway.js";

const gateway = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });

// The contract calls the requester's own reference `subject_ref`.
await gateway.POST("/v1/exchanges", {
  body: {
    provider: "koeln-auslaenderbehoerde",
    subject_reference: "JC-4711",
    categories: ["residence_status"],
    purpose: "labour_market_integration",
  },
});

// Purposes are a closed vocabulary.
await gateway.POST("/v1/exchanges", {
  body: {
    provider: "koeln-auslaenderbehoerde",
    subject_ref: "JC-4711",
    categories: ["residence_status"],
    purpose: "labour_market",
  },
});
