"""What the audit log records: one event per decision or change, without readable personal data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class EventType(StrEnum):
    EXCHANGE_DECIDED = "exchange.decided"
    CONSENT_RECORDED = "consent.recorded"
    CONSENT_REFUSED = "consent.refused"
    CONSENT_WITHDRAWN = "consent.withdrawn"
    CONSENT_SUPERSEDED = "consent.superseded"
    CONSENT_EXPIRED = "consent.expired"
    REFERENCE_SET = "subject.reference_set"
    NOTICE_ACKNOWLEDGED = "notice.acknowledged"
    # A person flagged information passed on about them as wrong (Art. 16 GDPR); the text, if
    # any, only as the payload's keyed digest.
    RECTIFICATION_REQUESTED = "rectification.requested"
    RECTIFICATION_ANSWERED = "rectification.answered"
    MESSAGE_SENT = "message.sent"
    MESSAGE_FETCHED = "message.fetched"
    MESSAGE_ACKNOWLEDGED = "message.acknowledged"
    MESSAGE_PURGED = "message.purged"
    CLIENT_ADDED = "client.added"
    CLIENT_DISABLED = "client.disabled"
    CLIENT_SCOPES_CHANGED = "client.scopes_changed"  # which scope was added or removed
    AGENCY_UPDATED = "agency.updated"  # its name, system address or contact: which fields
    SIGNING_KEY_ROTATED = "keys.rotated"
    MESSAGE_KEY_ROTATED = "keys.message_key_rotated"
    AUDIT_KEY_ROTATED = "keys.audit_key_rotated"
    POLICY_SET_LOADED = "policy.loaded"
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_PRUNED = "audit.pruned"
    PORTAL_CODE_ISSUED = "portal_code.issued"
    PORTAL_SIGNED_IN = "portal.signed_in"
    AUDIT_VERIFIED = "audit.verified"
    AUDIT_ENTRY_SET_ASIDE = "audit.entry_set_aside"
    DPO_USER_ADDED = "dpo_user.added"
    DPO_USER_DISABLED = "dpo_user.disabled"
    DPO_USER_TOTP_RESET = "dpo_user.totp_reset"
    DPO_SIGNED_IN = "dpo.signed_in"
    DPO_SIGN_IN_FAILED = "dpo.sign_in_failed"
    DPO_SIGNED_OUT = "dpo.signed_out"
    DPO_ACCESS_REPORT = "dpo.access_report"
    INDICATORS_AGGREGATED = "indicators.aggregated"
    INDICATORS_READ = "indicators.read"
    # A batch of data whose period ran out, erased: counts and pseudonyms, never references.
    LIFECYCLE_ERASED = "lifecycle.erased"
    # What a DPO (or the operator) set on a person or did with their data (Art. 17, 18 GDPR):
    # the person as a pseudonym, never the DPO's note.
    SUBJECT_VIEWED = "subject.viewed"  # a DPO's or the operator's look at the controls
    SUBJECT_RESTRICTED = "subject.restricted"
    SUBJECT_RESTRICTION_LIFTED = "subject.restriction_lifted"
    SUBJECT_HOLD_SET = "subject.hold_set"
    SUBJECT_HOLD_LIFTED = "subject.hold_lifted"
    SUBJECT_ERASED = "subject.erased"
    SUBJECT_ERASURE_REFUSED = "subject.erasure_refused"
    # Emergency access (§ 8a SGB VIII): the queries are ``exchange.decided`` entries marked
    # ``emergency``; these are what DPOs do about them afterwards.
    EMERGENCY_JUSTIFICATION_READ = "emergency.justification_read"
    EMERGENCY_REVIEWED = "emergency.reviewed"
    EMERGENCY_DISCLOSURE_DEFERRED = "emergency.disclosure_deferred"
    EMERGENCY_DISCLOSURE_RESUMED = "emergency.disclosure_resumed"


class Decision(StrEnum):
    PERMIT = "permit"
    DENY = "deny"


OPERATOR = "operator"  # the actor of commands run on the gateway's host
PERSON = "person"  # the actor of what a person does themselves in the portal


@dataclass(frozen=True)
class AuditEvent:
    """One thing that happened, as the features report it.

    ``subject_id`` (the gateway's internal id of a person) is written only as a keyed
    pseudonym, ``caseworker`` (as the acting agency names them) only as a keyed pseudonym,
    ``payload`` and ``justification`` only as keyed digests (``gateway.audit.digests``).
    ``details`` holds further non-personal facts (key ids, counts), never names, references
    or payload values.
    """

    type: EventType
    actor: str | None = None
    requester: str | None = None
    provider: str | None = None
    caseworker: str | None = None
    subject_id: str | None = None
    categories: tuple[str, ...] = ()
    purpose: str | None = None
    decision: Decision | None = None
    reason: str | None = None
    legal_basis: str | None = None
    consent_id: str | None = None
    consent_version: int | None = None
    policy_id: str | None = None
    policy_set_digest: str | None = None
    payload: bytes | None = None
    # An emergency query's justification (case number and text): only as its keyed digest.
    justification: bytes | None = None
    request_id: str | None = None
    trace_id: str | None = None  # W3C Trace Context: the caller's, or one the gateway started
    details: Mapping[str, str | int | bool] = field(default_factory=dict)
