"""All SQL of the client registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gateway.agencies.tables import Agency, Client


@dataclass(frozen=True)
class Registered:
    """An agency as decisions see it: its kind, place, system and whether its client is
    enabled. A plain row, read without the ORM: every exchange and message reads two."""

    id: str
    name: str
    kind: str
    municipality: str
    provider_url: str | None
    enabled: bool


@dataclass(frozen=True)
class KnownClient:
    """A client as the request guard sees it, and its agency as decisions see it if it is
    one: a query reads its caller and both agencies in one statement."""

    id: str
    role: str
    enabled: bool
    demo: bool
    agency: Registered | None
    scopes: frozenset[str]  # what it may hold now (a token may carry what it held when issued)


# Built once from the tables' columns (Core, not ORM entities): they run on every request.
_clients, _agencies = Client.__table__, Agency.__table__
_WITH_AGENCY = select(
    _clients.c.id,
    _clients.c.role,
    _clients.c.enabled,
    _clients.c.demo,
    _clients.c.scopes,
    _clients.c.name,
    _agencies.c.kind,
    _agencies.c.municipality,
    _agencies.c.provider_url,
).outerjoin(_agencies, _agencies.c.id == _clients.c.id)
_CLIENTS = _WITH_AGENCY.where(_clients.c.id.in_(bindparam("ids", expanding=True)))
# The lookup of requests (a caller; two parties) without an expanding IN, whose SQL is
# rendered anew at every execution: a fifth of the statement's cost on asyncpg.
_PAIR = _WITH_AGENCY.where(_clients.c.id.in_([bindparam("first"), bindparam("second")]))
# The same, holding the clients' rows against a change (a disabling) until the transaction
# ends. (SQLite has no row locks: its writing transactions hold the database's write lock.)
_PAIR_LOCKED = _PAIR.with_for_update(read=True, of=_clients)


def get_client(session: Session, client_id: str) -> Client | None:
    return session.get(Client, client_id)


def get_agency(session: Session, agency_id: str) -> Agency | None:
    return session.get(Agency, agency_id)


def clients(session: Session, *client_ids: str) -> dict[str, KnownClient]:
    """The clients of these ids that exist, with their agencies, in one query."""
    if 1 <= len(client_ids) <= 2:
        first, second = client_ids[0], client_ids[-1]
        rows = session.connection().execute(_PAIR, {"first": first, "second": second})
    else:
        rows = session.connection().execute(_CLIENTS, {"ids": list(client_ids)})
    return {row.id: _known(*row) for row in rows}


def caller(session: Session, client_id: str) -> KnownClient | None:
    return clients(session, client_id).get(client_id)


def agencies(session: Session, *agency_ids: str, locked: bool = False) -> dict[str, Registered]:
    """The agencies of these ids that exist, in one query; ``locked`` (for one or two ids):
    a disabling of either waits until this transaction ends, so a release decided on them
    commits before the disabling or sees it."""
    if locked:
        assert 1 <= len(agency_ids) <= 2
        first, second = agency_ids[0], agency_ids[-1]
        rows = session.connection().execute(_PAIR_LOCKED, {"first": first, "second": second})
        found = [_known(*row) for row in rows]
    else:
        found = list(clients(session, *agency_ids).values())
    return {client.id: client.agency for client in found if client.agency is not None}


def _known(  # the columns of _WITH_AGENCY, in order
    id_: str,
    role: str,
    enabled: bool,
    demo: bool,
    scopes: str,
    name: str,
    kind: str | None,
    municipality: str | None,
    provider_url: str | None,
) -> KnownClient:
    agency = None
    if kind is not None and municipality is not None:  # an agency (an outer join's row)
        agency = Registered(id_, name, kind, municipality, provider_url, enabled)
    return KnownClient(id_, role, enabled, demo, agency, frozenset(scopes.split()))


def add(session: Session, client: Client, agency: Agency | None = None) -> None:
    """Insert; raises IntegrityError (with the transaction still usable) if the id is taken."""
    with session.begin_nested():
        session.add(client)
        if agency is not None:
            session.add(agency)


def list_clients(session: Session, role: str | None = None) -> Sequence[Client]:
    query = select(Client).order_by(Client.role, Client.id)
    if role is not None:
        query = query.where(Client.role == role)
    return session.scalars(query).all()
