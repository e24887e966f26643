"""``gateway keys``: the gateway's own signing keys."""

from __future__ import annotations

import click

from gateway.audit.events import OPERATOR, AuditEvent, EventType
from gateway.cli.context import load_settings, transaction
from gateway.runtime import open_audit_log, open_key_store


@click.group("keys")
def keys_group() -> None:
    """Manage the gateway's signing keys."""


@keys_group.command("rotate")
def rotate() -> None:
    """Sign with a new key from now on; the old one verifies until its tokens expire."""
    settings = load_settings()
    store = open_key_store(settings)
    store.ensure()
    previous = store.active_kid()
    with transaction(settings) as session:
        new = store.rotate()
        open_audit_log(settings).record(
            session,
            AuditEvent(
                EventType.SIGNING_KEY_ROTATED,
                actor=OPERATOR,
                details={"kid": new.kid, "retired_kid": previous},
            ),
        )
    click.echo(f"signing with {new.kid}; {previous} retired (verifies until its tokens expire)")
