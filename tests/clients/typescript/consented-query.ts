/**
 * A consented query from TypeScript, written as an agency system's developer would write it:
 * the gateway's types are generated from its served /openapi.json (openapi-typescript, into
 * generated/gateway.ts), every call goes through openapi-fetch's typed client, and each agency
 * gets its own access token with the client credentials grant, authenticated by
 * private_key_jwt (RFC 7523) signed with jose.
 *
 * The foreigners' office records the consent a person signed (they may tell the job centre
 * their residence status, for labour-market integration); the job centre reads the consent
 * and asks the foreigners' office for the residence status. In life these are two agencies'
 * systems; here one script plays both.
 *
 *     node build/consented-query.js config.json
 *
 * config.json names the gateway, each agency's client id, its private JWK file (Ed25519 or
 * P-256) and its own file reference for the person, and the dates on the signed form. Prints
 * a JSON object to standard output: what the recording returned (without the portal code,
 * which goes to the person), the consent as the job centre reads it, and the query's answer.
 */

import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";

import { importJWK, type JWK, SignJWT } from "jose";
import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "./generated/gateway.js";

type Gateway = Client<paths>;
type Problem = components["schemas"]["ProblemDetail"];

interface Agency {
  client_id: string;
  key_file: string;
  reference: string;
}

interface Config {
  gateway_url: string;
  recorder: Agency;
  requester: Agency;
  valid_from: string;
  valid_until: string;
}

const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** A client of the gateway that acts as one agency, with an access token of its own. */
async function connect(baseUrl: string, agency: Agency): Promise<Gateway> {
  const gateway = createClient<paths>({ baseUrl });
  const token = await accessToken(gateway, agency);
  // A long-running system would fetch a new token before `expires_in` runs out.
  gateway.use({
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  });
  return gateway;
}

/** OAuth 2.0 client credentials, the client authenticated by a signed assertion. */
async function accessToken(gateway: Gateway, agency: Agency): Promise<string> {
  const metadata = answer(await gateway.GET("/.well-known/oauth-authorization-server"));
  const jwk = JSON.parse(await readFile(agency.key_file, "utf8")) as JWK;
  const alg = jwk.kty === "OKP" ? "Ed25519" : "ES256";
  const assertion = await new SignJWT({})
    .setProtectedHeader(jwk.kid === undefined ? { alg } : { alg, kid: jwk.kid })
    .setIssuer(agency.client_id)
    .setSubject(agency.client_id)
    .setAudience(metadata.token_endpoint)
    .setIssuedAt()
    .setExpirationTime("60s")
    .setJti(randomUUID())
    .sign(await importJWK(jwk, alg));
  const token = answer(
    await gateway.POST("/oauth/token", {
      body: {
        grant_type: "client_credentials",
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: assertion,
      },
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    }),
  );
  return token.access_token;
}

/** The answer's body, or a thrown error with the problem the gateway described. */
function answer<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data === undefined) {
    const problem = result.error as Partial<Problem> | undefined;
    throw new Error(
      `${result.response.url} answered ${result.response.status}: ${JSON.stringify(problem)}`,
    );
  }
  return result.data;
}

async function main(configFile: string): Promise<void> {
  const config = JSON.parse(await readFile(configFile, "utf8")) as Config;
  const { recorder, requester } = config;
  const foreignersOffice = await connect(config.gateway_url, recorder);
  const jobCentre = await connect(config.gateway_url, requester);

  const recorded = answer(
    await foreignersOffice.POST("/v1/consents", {
      body: {
        subject: {
          references: {
            [recorder.client_id]: recorder.reference,
            [requester.client_id]: requester.reference,
          },
          age_band: "adult",
        },
        given_by: [{ role: "data_subject" }],
        grants: [
          {
            from: recorder.client_id,
            to: requester.client_id,
            categories: ["residence_status"],
            purposes: ["labour_market_integration"],
          },
        ],
        // Plain dates, as the signed form gives them: whole days in the gateway's time zone.
        valid_from: config.valid_from,
        valid_until: config.valid_until,
        notice: {
          form_id: "cross-agency-case-management",
          form_version: "1",
          language: "ar",
          interpreter_language: "ar",
        },
        evidence: { channel: "paper_signed" },
      },
      params: { header: { "X-Caseworker": "abh-caseworker-17" } },
    }),
  );

  const consent = answer(
    await jobCentre.GET("/v1/consents/{consent_id}", {
      params: { path: { consent_id: recorded.consent_id } },
    }),
  );

  const query = answer(
    await jobCentre.POST("/v1/exchanges", {
      body: {
        provider: recorder.client_id,
        subject_ref: requester.reference,
        categories: ["residence_status"],
        purpose: "labour_market_integration",
      },
      params: { header: { "X-Caseworker": "jc-caseworker-4" } },
    }),
  );

  const { portal_code: _forThePerson, ...recording } = recorded;
  process.stdout.write(`${JSON.stringify({ recorded: recording, consent, query })}\n`);
}

const configFile = process.argv[2];
if (configFile === undefined) {
  process.stderr.write("usage: node build/consented-query.js CONFIG.json\n");
  process.exit(2);
}
await main(configFile);
