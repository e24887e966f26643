"""``gateway dpo add-user``, ``disable-user`` and ``reset-totp``: the people who sign in to the
/dpo/ pages. A password is never a command-line argument: it is prompted for twice, or read
from standard input with --password-stdin."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from gateway.cli.context import load_settings, transaction
from gateway.dpo import users
from gateway.dpo.users import UserError
from gateway.messages.sealing import MessageKeys
from gateway.runtime import open_audit_log, open_message_keys
from gateway.settings import Settings


@click.command("add-user")
@click.option("--id", "user_id", required=True, help="The sign-in name, e.g. anna.schmidt")
@click.option("--name", required=True, help="The person's full name, shown on the pages.")
@click.option(
    "--totp",
    "with_totp",
    is_flag=True,
    help="Also ask for a code from an authenticator app; prints its otpauth:// URI once.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)."
)
def add_user(user_id: str, name: str, with_totp: bool, password_stdin: bool) -> None:
    """Add a data-protection officer who signs in to the /dpo/ pages (password of at least
    12 characters)."""
    password = _password(password_stdin)
    try:
        users.check_password(password)
        settings = load_settings()
        with transaction(settings) as session:
            added = users.add_user(
                session,
                open_audit_log(settings),
                user_id=user_id,
                name=name,
                password=password,
                with_totp=with_totp,
                sealing=_sealing(settings) if with_totp else None,
                now=datetime.now(UTC),
            )
    except UserError as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"added DPO user {added.id}")
    if added.totp_uri is not None:
        click.echo("Add this to the user's authenticator app now; it is not shown again:")
        click.echo(added.totp_uri)


@click.command("disable-user")
@click.option("--id", "user_id", required=True)
def disable_user(user_id: str) -> None:
    """Disable a DPO user at once: their sessions end and they can no longer sign in."""
    settings = load_settings()
    try:
        with transaction(settings) as session:
            changed = users.disable_user(
                session, open_audit_log(settings), user_id, datetime.now(UTC)
            )
    except UserError as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"disabled DPO user {user_id}" if changed else f"{user_id} was disabled already")


@click.command("reset-totp")
@click.option("--id", "user_id", required=True)
def reset_totp(user_id: str) -> None:
    """Give a DPO user a new TOTP secret (a lost phone, or to turn codes on): the old one stops
    working at once, their sessions end, and the new otpauth:// URI is printed once."""
    settings = load_settings()
    try:
        with transaction(settings) as session:
            uri = users.reset_totp(
                session,
                open_audit_log(settings),
                user_id,
                _sealing(settings),
                datetime.now(UTC),
            )
    except UserError as refused:
        raise click.ClickException(str(refused)) from None
    click.echo("Add this to the user's authenticator app now; it is not shown again:")
    click.echo(uri)


def _sealing(settings: Settings) -> MessageKeys:
    """The key folder's key-encryption keys, which seal TOTP secrets. Not made here: a secret
    sealed with a key of a folder the gateway does not run with would never open."""
    sealing = open_message_keys(settings)
    if not sealing.is_loaded():
        raise UserError(
            f"no key-encryption key in {settings.key_dir / 'messages'}: run this with the"
            " gateway's GATEWAY_KEY_DIR (gateway serve makes the keys when it first starts)"
        )
    return sealing


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt(
        "Password (at least 12 characters)",
        hide_input=True,
        confirmation_prompt="Repeat the password",
    )
    return password
