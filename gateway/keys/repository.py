"""All SQL over rows sealed at rest with a data key that a key-encryption key of the key
folder wraps: message payloads and persons' texts of rectification notices. Each such table
has the columns ``id``, ``key_id`` (the wrapping key, NULL once the content is deleted) and
``wrapped_key``. (DPO users' TOTP secrets are sealed in columns of their own:
``gateway.dpo.repository``.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.emergency.tables import EmergencyUse
from gateway.messages.tables import Message
from gateway.rectifications.tables import Rectification

SealedTable = type[Message] | type[Rectification] | type[EmergencyUse]
SEALED_TABLES: tuple[SealedTable, ...] = (Message, Rectification, EmergencyUse)


def sealed_with_other_keys(
    session: Session, table: SealedTable, key_id: str, after: str, limit: int
) -> list[tuple[str, str, bytes]]:
    """Rows whose data key another key than ``key_id`` wraps: id, key id, wrapped key, by id
    after ``after``."""
    rows = session.execute(
        select(table.id, table.key_id, table.wrapped_key)
        .where(
            table.key_id.is_not(None),
            table.wrapped_key.is_not(None),
            table.key_id != key_id,
            table.id > after,
        )
        .order_by(table.id)
        .limit(limit)
    )
    return [(row_id, kid, wrapped) for row_id, kid, wrapped in rows if kid and wrapped]


def replace_wrapped_key(
    session: Session,
    table: SealedTable,
    row_id: str,
    old: tuple[str, bytes],
    new: tuple[str, bytes],
) -> bool:
    """Swap the wrapped data key, unless the row changed meanwhile (its content deleted)."""
    result: Any = session.execute(
        update(table)
        .where(table.id == row_id, table.key_id == old[0], table.wrapped_key == old[1])
        .values(key_id=new[0], wrapped_key=new[1])
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def key_ids_in_use(session: Session) -> set[str]:
    """Every key-encryption key a sealed row still names."""
    return {
        key_id
        for table in SEALED_TABLES
        for key_id in session.scalars(
            select(table.key_id).where(table.key_id.is_not(None)).distinct()
        )
        if key_id is not None
    }
