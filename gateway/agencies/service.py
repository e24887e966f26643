"""Registering, listing and disabling the gateway's clients."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent.vocabulary import AgencyKind
from gateway.agencies import contacts, repository
from gateway.agencies.contacts import ContactError
from gateway.agencies.credentials import CredentialError, hash_secret, parse_public_jwks
from gateway.agencies.tables import Agency, Client, ClientRole
from gateway.audit.events import OPERATOR, AuditEvent, EventType
from gateway.audit.service import AuditLog
from gateway.auth.scopes import ROLE_SCOPES, Scope, scope_string
from gateway.db.base import utcnow
from gateway.policy.model import PolicySet

_CLIENT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


class RegistryError(ValueError):
    """A registration the registry refuses; the message is meant for the operator."""


@dataclass(frozen=True)
class Credential:
    """Exactly one of a public JWK set (JSON text) or a client secret."""

    jwks_text: str | None = None
    secret: str | None = None


def register_agency(
    session: Session,
    audit: AuditLog,
    *,
    agency_id: str,
    kind: str,
    municipality: str,
    name: str,
    credential: Credential,
    provider_url: str | None = None,
    contact: Mapping[str, str | None] | None = None,
    demo: bool = False,
) -> Agency:
    """Register an agency, with the contact details a person reaches it by if given."""
    _check_id(agency_id)
    try:
        agency_kind = AgencyKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in AgencyKind)
        raise RegistryError(f"unknown agency kind {kind!r}; one of: {kinds}") from None
    municipality = _required_text("municipality", municipality, 100)
    name = _required_text("name", name, 200)
    if provider_url is not None:
        _check_url(provider_url)
    contact = _checked_contact(contact or {})
    client = _new_client(session, agency_id, ClientRole.AGENCY, name, credential, demo)
    agency = Agency(
        id=agency_id, kind=agency_kind.value, municipality=municipality, provider_url=provider_url
    )
    _store(session, client, agency)
    contacts.change(session, agency_id, contact)
    _audit_added(session, audit, client, {"kind": agency.kind, "municipality": municipality})
    return agency


def update_agency(
    session: Session,
    audit: AuditLog,
    agency_id: str,
    *,
    name: str | None = None,
    provider_url: str | None = None,
    contact: Mapping[str, str | None] | None = None,
) -> list[str]:
    """Change an agency's display name, its system's address or its contact details (an empty
    contact value clears the field); everything is checked before anything changes. The names
    of the fields that changed, recorded in the log (never their values)."""
    agency = get_agency(session, agency_id)
    if name is not None:
        name = _required_text("name", name, 200)
    if provider_url is not None:
        _check_url(provider_url)
    checked = _checked_contact(contact or {})
    changed = contacts.change(session, agency_id, checked)
    if name is not None and name != agency.client.name:
        agency.client.name = name
        changed.insert(0, "name")
    if provider_url is not None and provider_url != agency.provider_url:
        agency.provider_url = provider_url
        changed.insert(0, "provider_url")
    if changed:
        session.flush()
        audit.record(
            session,
            AuditEvent(
                EventType.AGENCY_UPDATED,
                actor=OPERATOR,
                details={"agency": agency_id, "changed": ",".join(changed)},
            ),
        )
    return changed


def register_client(
    session: Session,
    audit: AuditLog,
    *,
    client_id: str,
    role: ClientRole,
    name: str,
    credential: Credential,
) -> Client:
    """Register a client that is not an agency: a DPO tool or the monitoring office."""
    if role is ClientRole.AGENCY:
        raise RegistryError("agencies are registered with register_agency")
    _check_id(client_id)
    name = _required_text("name", name, 200)
    client = _new_client(session, client_id, role, name, credential, demo=False)
    _store(session, client, None)
    _audit_added(session, audit, client, {})
    return client


def disable(session: Session, audit: AuditLog, client_id: str) -> Client:
    client = repository.get_client(session, client_id)
    if client is None:
        raise RegistryError(f"no client with id {client_id!r}")
    if client.enabled:
        client.enabled = False
        client.disabled_at = utcnow()
        session.flush()
        audit.record(
            session,
            AuditEvent(
                EventType.CLIENT_DISABLED,
                actor=OPERATOR,
                details={"client": client.id, "role": client.role},
            ),
        )
    return client


def set_emergency_access(
    session: Session, audit: AuditLog, agency_id: str, *, allowed: bool, policies: PolicySet
) -> bool:
    """Let an agency make emergency queries (scope ``exchange:emergency``), or no longer:
    only an agency of a kind some emergency flow of ``policies`` delivers to can get it. Takes
    effect at once, tokens already issued included; whether anything changed."""
    agency = get_agency(session, agency_id)
    if allowed and not any(
        flow.emergency is not None and flow.recipient_kind == agency.kind for flow in policies.flows
    ):
        raise RegistryError(
            f"no emergency flow of the policy set delivers to a {agency.kind}: emergency "
            "access would permit nothing"
        )
    client = agency.client
    scopes = set(client.scope_set)
    if (Scope.EXCHANGE_EMERGENCY.value in scopes) == allowed:
        return False
    scopes ^= {Scope.EXCHANGE_EMERGENCY.value}
    client.scopes = " ".join(sorted(scopes))
    session.flush()
    change = "added" if allowed else "removed"
    audit.record(
        session,
        AuditEvent(
            EventType.CLIENT_SCOPES_CHANGED,
            actor=OPERATOR,
            details={"client": agency_id, change: Scope.EXCHANGE_EMERGENCY.value},
        ),
    )
    return True


def get_agency(session: Session, agency_id: str) -> Agency:
    agency = repository.get_agency(session, agency_id)
    if agency is None:
        raise RegistryError(f"no agency with id {agency_id!r}")
    return agency


def list_clients(session: Session, role: ClientRole | None = None) -> Sequence[Client]:
    return repository.list_clients(session, role.value if role else None)


def _new_client(
    session: Session,
    client_id: str,
    role: ClientRole,
    name: str,
    credential: Credential,
    demo: bool,
) -> Client:
    if repository.get_client(session, client_id) is not None:
        raise RegistryError(f"a client with id {client_id!r} is already registered")
    if (credential.jwks_text is None) == (credential.secret is None):
        raise RegistryError("give exactly one credential: a public JWK set or a client secret")
    try:
        jwks = parse_public_jwks(credential.jwks_text) if credential.jwks_text is not None else None
        secret_hash = hash_secret(credential.secret) if credential.secret is not None else None
    except CredentialError as bad:
        raise RegistryError(str(bad)) from bad
    return Client(
        id=client_id,
        role=role.value,
        name=name,
        jwks=jwks,
        secret_hash=secret_hash,
        scopes=scope_string(ROLE_SCOPES[role]),
        enabled=True,
        demo=demo,
        created_at=utcnow(),
    )


def _audit_added(
    session: Session, audit: AuditLog, client: Client, facts: dict[str, str | int | bool]
) -> None:
    audit.record(
        session,
        AuditEvent(
            EventType.CLIENT_ADDED,
            actor=OPERATOR,
            details={
                "client": client.id,
                "role": client.role,
                "auth": "private_key_jwt" if client.jwks is not None else "client_secret_basic",
                "demo": client.demo,
                **facts,
            },
        ),
    )


def _checked_contact(contact: Mapping[str, str | None]) -> dict[str, str | None]:
    try:
        return contacts.checked(contact)
    except ContactError as bad:
        raise RegistryError(str(bad)) from None


def _store(session: Session, client: Client, agency: Agency | None) -> None:
    try:
        repository.add(session, client, agency)
    except IntegrityError:
        if repository.get_client(session, client.id) is None:
            raise
        # Another registration of the same id won the race.
        raise RegistryError(f"a client with id {client.id!r} is already registered") from None


def is_client_id(value: str) -> bool:
    """Whether ``value`` has the form of a registry id (checked before any lookup)."""
    return bool(_CLIENT_ID.fullmatch(value))


def _check_id(client_id: str) -> None:
    if not is_client_id(client_id):
        raise RegistryError(
            "an id is 1 to 64 lower-case letters, digits and hyphens, "
            "starting and ending with a letter or digit (e.g. koeln-jobcenter)"
        )


def _required_text(field: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise RegistryError(f"{field} must not be empty")
    if len(value) > limit:
        raise RegistryError(f"{field} must be at most {limit} characters")
    return value


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise RegistryError("the provider URL must be an absolute http(s) URL")
