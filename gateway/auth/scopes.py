"""OAuth scopes and which kind of client may hold which."""

from __future__ import annotations

from enum import StrEnum

from gateway.agencies.tables import ClientRole


class Scope(StrEnum):
    CONSENT_WRITE = "consent:write"
    CONSENT_READ = "consent:read"
    EXCHANGE_QUERY = "exchange:query"
    EXCHANGE_SEND = "exchange:send"
    EXCHANGE_RECEIVE = "exchange:receive"
    # Emergency queries (§ 8a SGB VIII): only for agencies registered with it, and in a token
    # only when asked for by name (breaking the glass is deliberate, never a default).
    EXCHANGE_EMERGENCY = "exchange:emergency"
    AUDIT_READ = "audit:read"
    POLICY_READ = "policy:read"
    MONITORING_READ = "monitoring:read"


ROLE_SCOPES: dict[ClientRole, frozenset[Scope]] = {
    ClientRole.AGENCY: frozenset(
        {
            Scope.CONSENT_WRITE,
            Scope.CONSENT_READ,
            Scope.EXCHANGE_QUERY,
            Scope.EXCHANGE_SEND,
            Scope.EXCHANGE_RECEIVE,
            Scope.POLICY_READ,
        }
    ),
    ClientRole.DPO: frozenset({Scope.AUDIT_READ, Scope.POLICY_READ}),
    ClientRole.MONITORING: frozenset({Scope.MONITORING_READ}),
}

ALL_SCOPES = frozenset(Scope)
# Scopes a token carries only when the token request names them.
NAMED_ONLY = frozenset({Scope.EXCHANGE_EMERGENCY})

# What each scope lets a client do, as the OpenAPI document tells integrators.
SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.CONSENT_WRITE: "Record and withdraw consents, correct the agency's own reference, "
    "issue portal codes.",
    Scope.CONSENT_READ: "Read the consents the agency is party to; read and answer its "
    "withdrawal notices and rectification notices.",
    Scope.EXCHANGE_QUERY: "Ask another agency for data about a person (queries).",
    Scope.EXCHANGE_SEND: "Send messages to another agency.",
    Scope.EXCHANGE_RECEIVE: "Read and acknowledge the agency's own messages.",
    Scope.EXCHANGE_EMERGENCY: "Ask for data without consent in a child-protection emergency "
    "(§ 8a SGB VIII), justified, on emergency flows only; each use is reviewed by a "
    "data-protection officer. Held only by agencies registered with it, and granted only "
    "when the token request names it.",
    Scope.AUDIT_READ: "Read and verify the audit log (data-protection officers).",
    Scope.POLICY_READ: "Read the policies, records of processing and category schemas.",
    Scope.MONITORING_READ: "Read the disclosure-controlled monitoring indicators.",
}


def scope_string(scopes: frozenset[Scope] | set[Scope]) -> str:
    return " ".join(sorted(scopes))
