"""Request and response shapes of the audit API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEntryOut(BaseModel):
    """One audit entry as a DPO sees it. Fields other than the first four are absent once the
    entry's body has been pruned by retention."""

    id: int
    position: int | None = Field(description="Leaf index in the Merkle tree; null until placed.")
    recorded_at: datetime
    event: str
    pruned: bool = False
    actor: str | None = None
    requester: str | None = None
    provider: str | None = None
    caseworker: str | None = Field(
        default=None,
        description="Keyed pseudonym of the caseworker (`<key id>:<hex>`, keyed per acting "
        "agency); entries of version 1 hold it as the agency sent it.",
    )
    subject: str | None = Field(default=None, description="Keyed pseudonym, never a reference.")
    categories: list[str] | None = None
    purpose: str | None = None
    decision: str | None = None
    reason: str | None = None
    legal_basis: str | None = None
    consent_id: str | None = None
    consent_version: int | None = None
    policy_id: str | None = None
    policy_set_digest: str | None = None
    payload_hmac: str | None = Field(
        default=None,
        description="Keyed digest of the released payload: `<key id>:<hex>`, HMAC-SHA256 over "
        "the subject pseudonym, the entry's time and the payload; checkable only with the key.",
    )
    payload_sha256: str | None = Field(
        default=None, description="Plain SHA-256 of the payload, in entries of version 1 only."
    )
    request_id: str | None = None
    trace_id: str | None = Field(
        default=None,
        description="W3C Trace Context trace id of the request (the caller's `traceparent`, or one "
        "the gateway started), as the provider's system was given it.",
    )
    details: dict[str, Any] | None = None


class AuditPage(BaseModel):
    entries: list[AuditEntryOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class InclusionProof(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str = Field(description="Base64 of the leaf hash (RFC 6962).")
    hashes: list[str] = Field(description="The audit path, base64, leaf to root.")


class ConsistencyProof(BaseModel):
    first: int
    second: int
    hashes: list[str] = Field(description="RFC 6962 consistency proof, base64.")


class AccessRecord(BaseModel):
    """One decision or change about the person: who, what, why, and the outcome."""

    time: datetime
    event: str
    requester: str | None = None
    provider: str | None = None
    caseworker: str | None = Field(default=None, description="Keyed pseudonym of the caseworker.")
    categories: list[str] = Field(default_factory=list)
    purpose: str | None = None
    legal_basis: str | None = None
    decision: str | None = None
    reason: str | None = None
    consent_id: str | None = None
    details: dict[str, Any] | None = Field(
        default=None,
        description="Further facts of the entry, never personal: e.g. whether a withdrawal "
        "took back the whole consent (`whole`) or some of its grants (`grants_withdrawn`).",
    )
    deferred: bool = Field(
        default=False,
        description="An emergency access (§ 8a SGB VIII) a data-protection officer deferred "
        "telling the person of (or the same office's refused emergency attempt meanwhile): not "
        "to be handed to the person before the deferral ends; their portal does not show it yet.",
    )


class AccessReport(BaseModel):
    agency: str
    records: list[AccessRecord]
