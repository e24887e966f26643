"""All SQL of the client registry."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gateway.agencies.tables import Agency, Client

_AGENCIES = select(Agency).where(Agency.id.in_(bindparam("ids", expanding=True)))


def get_client(session: Session, client_id: str) -> Client | None:
    return session.get(Client, client_id)


def get_agency(session: Session, agency_id: str) -> Agency | None:
    return session.get(Agency, agency_id)


def agencies(session: Session, *agency_ids: str) -> dict[str, Agency]:
    """The agencies of these ids that exist (with their clients), in one query."""
    found = session.scalars(_AGENCIES, {"ids": list(agency_ids)})
    return {agency.id: agency for agency in found}


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
