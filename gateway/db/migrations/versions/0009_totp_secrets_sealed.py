"""DPO users' TOTP secrets are sealed at rest, as message payloads are: AES-256-GCM under a data
key wrapped by a key-encryption key of the key folder, bound to the user. Secrets stored in clear
so far are sealed here, with the key folder's keys (``gateway db upgrade`` and ``gateway serve``
hand them over); without them the migration refuses to run before it changes anything.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

from gateway.db.migrate import MigrationRefused
from gateway.dpo.users import totp_context
from gateway.messages.sealing import Sealed

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SEALED = ("totp_key_id", "totp_wrapped_key", "totp_nonce", "totp_ciphertext")
_users = sa.table(
    "dpo_users",
    sa.column("id", sa.String()),
    sa.column("totp_secret", sa.String()),
    sa.column("totp_key_id", sa.String()),
    *(sa.column(name, sa.LargeBinary()) for name in _SEALED[1:]),
)


def _sealing(count: int) -> Any:
    """The key folder's keys, checked before anything changes. Never made here: a secret
    sealed with a key of the wrong folder, its clear column dropped, would be lost."""
    sealing = context.config.attributes.get("sealing")
    if sealing is None or not sealing.is_loaded():
        raise MigrationRefused(
            f"{count} DPO user(s) have a TOTP secret this migration must seal or open with the"
            " key-encryption keys of the gateway's key folder (GATEWAY_KEY_DIR, its messages/"
            " folder), and there are none there: point GATEWAY_KEY_DIR at the folder the"
            " gateway runs with, or start the gateway (gateway serve) with it, which makes the"
            " first key before it upgrades the database"
        )
    return sealing


def upgrade() -> None:
    bind = op.get_bind()
    clear = bind.execute(
        sa.select(_users.c.id, _users.c.totp_secret).where(_users.c.totp_secret.is_not(None))
    ).all()
    sealing: Any = _sealing(len(clear)) if clear else None
    with op.batch_alter_table("dpo_users") as table:
        table.add_column(sa.Column("totp_key_id", sa.String(64)))
        for name in _SEALED[1:]:
            table.add_column(sa.Column(name, sa.LargeBinary()))
    for user_id, secret in clear:
        sealed = sealing.seal(secret.encode(), totp_context(user_id))
        bind.execute(
            sa.update(_users)
            .where(_users.c.id == user_id)
            .values(
                totp_key_id=sealed.key_id,
                totp_wrapped_key=sealed.wrapped_key,
                totp_nonce=sealed.nonce,
                totp_ciphertext=sealed.ciphertext,
            )
        )
    with op.batch_alter_table("dpo_users") as table:
        table.drop_column("totp_secret")


def downgrade() -> None:
    bind = op.get_bind()
    columns = [_users.c.id, *(_users.c[name] for name in _SEALED)]
    sealed = bind.execute(sa.select(*columns).where(_users.c.totp_ciphertext.is_not(None))).all()
    sealing: Any = _sealing(len(sealed)) if sealed else None
    with op.batch_alter_table("dpo_users") as table:
        table.add_column(sa.Column("totp_secret", sa.String(64)))
    for user_id, *parts in sealed:
        secret = sealing.open(Sealed(*parts), totp_context(user_id)).decode()
        bind.execute(sa.update(_users).where(_users.c.id == user_id).values(totp_secret=secret))
    with op.batch_alter_table("dpo_users") as table:
        for name in _SEALED:
            table.drop_column(name)
