"""After a rotation of the key-encryption keys: everything sealed at rest (message payloads,
persons' texts of rectification notices, DPO users' TOTP secrets) re-wrapped by the active
key, and the retired keys that nothing names any more erased (``MessageKeys.erase_unused``
keeps those retired too recently, which a running process may still be sealing with)."""

from __future__ import annotations

from gateway.db.engine import Database
from gateway.dpo import repository as dpo_repository
from gateway.dpo import users
from gateway.keys import repository
from gateway.keys.repository import SEALED_TABLES, SealedTable
from gateway.messages.sealing import MessageKeys, Rewrapped, SealBroken


def rewrap_sealed(database: Database, sealing: MessageKeys) -> Rewrapped:
    done = [rewrap_rows(database, sealing, table) for table in SEALED_TABLES]
    with database.transaction() as session:
        done.append(users.rewrap_totp_secrets(session, sealing))
    with database.transaction(read_only=True) as session:
        in_use = repository.key_ids_in_use(session) | dpo_repository.totp_key_ids(session)
    sealing.erase_unused(in_use)
    return Rewrapped(sum(part.count for part in done), sum(part.unreadable for part in done))


def rewrap_rows(
    database: Database, sealing: MessageKeys, table: SealedTable, batch: int = 500
) -> Rewrapped:
    """Re-wrap every row's data key that another key than the active one wraps, a batch per
    transaction (the sealed contents are not touched, requests go on). A data key that does
    not unwrap is left as it is (its row keeps naming its key, which therefore stays) and
    counted."""
    active, after, count, unreadable = sealing.active_kid(), "", 0, 0
    while True:
        with database.transaction() as session:
            rows = repository.sealed_with_other_keys(session, table, active, after, batch)
            for row_id, key_id, wrapped in rows:
                try:
                    new = sealing.rewrap(key_id, wrapped)
                except SealBroken:
                    unreadable += 1
                    continue
                old = (key_id, wrapped)
                count += repository.replace_wrapped_key(session, table, row_id, old, new)
        if len(rows) < batch:
            break
        after = rows[-1][0]
    return Rewrapped(count, unreadable)
