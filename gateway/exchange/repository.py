"""All SQL of exchanges: the release ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table
from sqlalchemy.orm import Session

from gateway.exchange.tables import Exchange, Release

# Core inserts on the table, built once: the ORM's bulk-insert machinery costs more than the
# statements, and this runs on every permitted query.
_EXCHANGES: Table = Exchange.__table__  # type: ignore[assignment]  # mapped to a Table
_RELEASES: Table = Release.__table__  # type: ignore[assignment]
_INSERT_EXCHANGE = _EXCHANGES.insert()
_INSERT_RELEASE = _RELEASES.insert()


def add_release(
    session: Session,
    *,
    exchange_id: str,
    requester: str,
    provider: str,
    subject_id: str,
    purpose: str,
    released_at: datetime,
    consents: dict[str, tuple[str, int] | None],
) -> None:
    """Record an exchange and, per category released, the consent version it rested on
    (``None`` for a statute). Plain inserts: this runs on every permitted query."""
    connection = session.connection()
    connection.execute(
        _INSERT_EXCHANGE,
        {
            "id": exchange_id,
            "requester": requester,
            "provider": provider,
            "subject_id": subject_id,
            "purpose": purpose,
            "categories": sorted(consents),
            "released_at": released_at,
        },
    )
    connection.execute(
        _INSERT_RELEASE,
        [
            {
                "exchange_id": exchange_id,
                "category": category,
                "consent_id": consent[0] if consent else None,
                "consent_version": consent[1] if consent else None,
            }
            for category, consent in consents.items()
        ],
    )
