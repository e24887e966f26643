"""``gateway keys``: the gateway's own signing keys."""

from __future__ import annotations

import click

from gateway.audit.events import OPERATOR, AuditEvent, EventType
from gateway.cli.context import load_settings, migrated_database, transaction
from gateway.keys.rewrap import rewrap_sealed
from gateway.runtime import open_audit_log, open_key_store, open_message_keys
from gateway.settings import Settings


@click.group("keys")
def keys_group() -> None:
    """Manage the gateway's signing keys and message key-encryption keys."""


@keys_group.command("rotate")
def rotate() -> None:
    """Sign with a new key, wrap message keys with a new key-encryption key, and key the audit
    log's digests with a new key, from now on.

    The old signing key verifies until its tokens expire; every stored message key is
    re-wrapped with the new key-encryption key while the gateway keeps running; old audit
    digest keys are kept, so the digests older entries carry can still be checked."""
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
    sealing = open_message_keys(settings)
    sealing.ensure()
    retired = sealing.active_kid()
    wrapping = sealing.rotate()
    with transaction(settings) as session:
        open_audit_log(settings).record(
            session,
            AuditEvent(
                EventType.MESSAGE_KEY_ROTATED,
                actor=OPERATOR,
                details={"kid": wrapping, "retired_kid": retired},
            ),
        )
    database = migrated_database(settings)
    try:
        rewrapped = rewrap_sealed(database, sealing)
    finally:
        database.dispose()
    click.echo(
        f"message payloads and TOTP secrets: wrapping with {wrapping};"
        f" {rewrapped.count} stored keys re-wrapped"
    )
    if rewrapped.unreadable:
        click.echo(
            f"warning: {rewrapped.unreadable} stored keys did not unwrap and were left as they "
            "are (altered rows, or a key file lost); their key-encryption keys are kept",
            err=True,
        )
    _rotate_audit_digests(settings)


def _rotate_audit_digests(settings: Settings) -> None:
    audit = open_audit_log(settings)
    new, retired = audit.digests.rotate()
    with transaction(settings) as session:
        audit.record(
            session,
            AuditEvent(
                EventType.AUDIT_KEY_ROTATED,
                actor=OPERATOR,
                details={"kid": new, "retired_kid": retired or ""},
            ),
        )
    click.echo(f"audit digests and caseworker pseudonyms: keyed with {new}; older keys kept")
