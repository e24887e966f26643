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
class Caller:
    """A client as the request guard sees it, with its agency's kind and place if it is one."""

    id: str
    role: str
    enabled: bool
    demo: bool
    agency_kind: str | None
    municipality: str | None


# Built once from the tables' columns (Core, not ORM entities): they run on every request.
_clients, _agencies = Client.__table__, Agency.__table__
_AGENCIES = (
    select(
        _agencies.c.id,
        _clients.c.name,
        _agencies.c.kind,
        _agencies.c.municipality,
        _agencies.c.provider_url,
        _clients.c.enabled,
    )
    .join(_clients, _clients.c.id == _agencies.c.id)
    .where(_agencies.c.id.in_(bindparam("ids", expanding=True)))
)
_CALLER = (
    select(
        _clients.c.id,
        _clients.c.role,
        _clients.c.enabled,
        _clients.c.demo,
        _agencies.c.kind,
        _agencies.c.municipality,
    )
    .outerjoin(_agencies, _agencies.c.id == _clients.c.id)
    .where(_clients.c.id == bindparam("id"))
)


def get_client(session: Session, client_id: str) -> Client | None:
    return session.get(Client, client_id)


def get_agency(session: Session, agency_id: str) -> Agency | None:
    return session.get(Agency, agency_id)


def caller(session: Session, client_id: str) -> Caller | None:
    row = session.connection().execute(_CALLER, {"id": client_id}).first()
    return Caller(*row) if row is not None else None


def agencies(session: Session, *agency_ids: str) -> dict[str, Registered]:
    """The agencies of these ids that exist, in one query."""
    rows = session.connection().execute(_AGENCIES, {"ids": list(agency_ids)})
    return {row.id: Registered(*row) for row in rows}


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
