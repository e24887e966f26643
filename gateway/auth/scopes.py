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


def scope_string(scopes: frozenset[Scope] | set[Scope]) -> str:
    return " ".join(sorted(scopes))
