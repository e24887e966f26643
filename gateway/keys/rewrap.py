"""After a rotation of the key-encryption keys: everything sealed at rest (message payloads,
DPO users' TOTP secrets, persons' texts of rectification notices) re-wrapped by the active
key, and the retired keys that nothing names any more erased (``MessageKeys.erase_unused``
keeps those retired too recently, which a running process may still be sealing with)."""

from __future__ import annotations

from gateway.db.engine import Database
from gateway.dpo import repository as dpo_repository
from gateway.dpo import users
from gateway.messages import repository as messages_repository
from gateway.messages.sealing import MessageKeys, Rewrapped
from gateway.messages.service import rewrap_all
from gateway.rectifications import repository as rectifications_repository
from gateway.rectifications import service as rectifications


def rewrap_sealed(database: Database, sealing: MessageKeys) -> Rewrapped:
    done = [rewrap_all(database, sealing), rectifications.rewrap_all(database, sealing)]
    with database.transaction() as session:
        done.append(users.rewrap_totp_secrets(session, sealing))
    with database.transaction(read_only=True) as session:
        in_use = (
            messages_repository.key_ids_in_use(session)
            | dpo_repository.totp_key_ids(session)
            | rectifications_repository.key_ids_in_use(session)
        )
    sealing.erase_unused(in_use)
    return Rewrapped(sum(part.count for part in done), sum(part.unreadable for part in done))
