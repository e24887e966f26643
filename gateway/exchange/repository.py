"""All SQL of exchanges: the release ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, Integer, String, Table, bindparam, func, select, true
from sqlalchemy.orm import Session

from gateway.exchange.tables import Exchange, Release

# Core inserts on the table, built once: the ORM's bulk-insert machinery costs more than the
# statements, and this runs on every permitted query.
_EXCHANGES: Table = Exchange.__table__  # type: ignore[assignment]  # mapped to a Table
_RELEASES: Table = Release.__table__  # type: ignore[assignment]
_INSERT_EXCHANGE = _EXCHANGES.insert()
_INSERT_RELEASE = _RELEASES.insert()
# On PostgreSQL both in one statement: the exchange, and a release row per element of the
# three arrays (category, consent, version).
_new_exchange = (
    _EXCHANGES.insert()
    .values({column.name: bindparam(column.name) for column in _EXCHANGES.columns})
    .returning(_EXCHANGES.c.id)
    .cte("exchange")
)
_released = (
    func.unnest(
        bindparam("release_categories", type_=ARRAY(String)),
        bindparam("release_consents", type_=ARRAY(String)),
        bindparam("release_versions", type_=ARRAY(Integer)),
    )
    .table_valued("category", "consent_id", "consent_version")
    .render_derived(name="released")
)
_RECORD_IN_ONE = _RELEASES.insert().from_select(
    ["exchange_id", "category", "consent_id", "consent_version"],
    select(
        _new_exchange.c.id,
        _released.c.category,
        _released.c.consent_id,
        _released.c.consent_version,
    ).select_from(_new_exchange.join(_released, true())),  # each release row with the exchange
)


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
    (``None`` for a statute), in as few round trips as the database allows (one on
    PostgreSQL). Plain inserts: this runs on every permitted query."""
    connection = session.connection()
    exchange = {
        "id": exchange_id,
        "requester": requester,
        "provider": provider,
        "subject_id": subject_id,
        "purpose": purpose,
        "categories": sorted(consents),
        "released_at": released_at,
    }
    releases = [
        {
            "exchange_id": exchange_id,
            "category": category,
            "consent_id": consent[0] if consent else None,
            "consent_version": consent[1] if consent else None,
        }
        for category, consent in consents.items()
    ]
    if connection.dialect.name == "postgresql":
        connection.execute(
            _RECORD_IN_ONE,
            {
                **exchange,
                "release_categories": [release["category"] for release in releases],
                "release_consents": [release["consent_id"] for release in releases],
                "release_versions": [release["consent_version"] for release in releases],
            },
        )
        return
    connection.execute(_INSERT_EXCHANGE, exchange)
    connection.execute(_INSERT_RELEASE, releases)
