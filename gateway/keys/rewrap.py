"""After a rotation of the key-encryption keys: everything sealed at rest (message payloads,
DPO users' TOTP secrets) re-wrapped by the active key, and the retired keys that nothing names
any more erased (``MessageKeys.erase_unused`` keeps those retired too recently, which a running
process may still be sealing with)."""

from __future__ import annotations

from gateway.db.engine import Database
from gateway.dpo import repository as dpo_repository
from gateway.dpo import users
from gateway.messages import repository as messages_repository
from gateway.messages.sealing import MessageKeys, Rewrapped
from gateway.messages.service import rewrap_all


def rewrap_sealed(database: Database, sealing: MessageKeys) -> Rewrapped:
    messages = rewrap_all(database, sealing)
    with database.transaction() as session:
        secrets = users.rewrap_totp_secrets(session, sealing)
    with database.transaction(read_only=True) as session:
        in_use = messages_repository.key_ids_in_use(session) | dpo_repository.totp_key_ids(session)
    sealing.erase_unused(in_use)
    return Rewrapped(messages.count + secrets.count, messages.unreadable + secrets.unreadable)
