"""DPO users' TOTP secrets at rest: sealed with the key folder's key-encryption keys and bound to
their user, re-wrapped when the keys rotate (the retired key is kept while a secret needs it),
and sealed by the migration that found them stored in clear."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select, update

from gateway.db.engine import make_engine
from gateway.db.migrate import MigrationRefused, downgrade, is_current, upgrade
from gateway.dpo import totp, users
from gateway.dpo.tables import DpoUser
from gateway.messages.sealing import ERASE_AFTER, MessageKeys
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.cli.test_serve import gateway_command, serving
from tests.dpo.conftest import sign_in
from tests.dpo.seeded import PASSWORD, TOTP_NAME, TOTP_USER, USER, add_user, current_code
from tests.keys.operator import Command, key_files, rotate
from tests.support import fresh_database

SEALED = ("totp_key_id", "totp_wrapped_key", "totp_nonce", "totp_ciphertext")
CLEAR_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def stored(runtime: Runtime, user_id: str = TOTP_USER) -> DpoUser:
    with runtime.database.transaction(read_only=True) as session:
        user = session.get(DpoUser, user_id)
    assert user is not None
    return user


def signed_in(pages, code: str, user_id: str = TOTP_USER) -> bool:
    pages.cookies.clear()
    return bool(sign_in(pages, user_id, PASSWORD, code).status_code == 303)


def test_a_sealed_secret_copied_to_another_user_does_not_open(pages, runtime: Runtime):
    theirs = add_user(runtime, TOTP_USER, TOTP_NAME, with_totp=True)
    add_user(runtime, USER, "Anna Schmidt", with_totp=True)
    source = stored(runtime)
    with runtime.database.transaction() as session:
        session.execute(
            update(DpoUser)
            .where(DpoUser.id == USER)
            .values({name: getattr(source, name) for name in SEALED})
        )

    # Jonas's current code for Anna, whose row now holds his sealed secret: it does not open.
    assert theirs.totp_uri is not None
    assert not signed_in(pages, current_code(theirs.totp_uri), USER)
    assert signed_in(pages, current_code(theirs.totp_uri))  # where it belongs, it still works


def test_rotating_the_keys_re_wraps_the_secret_and_keeps_it_working(
    pages, runtime: Runtime, settings: Settings, operator: Command, key_clock
):
    added = add_user(runtime, TOTP_USER, TOTP_NAME, with_totp=True)
    assert added.totp_uri is not None
    first = runtime.sealing.active_kid()
    before = stored(runtime)

    rotate(operator)
    key_clock(ERASE_AFTER + timedelta(minutes=1))
    rotate(operator)  # erases the first key: nothing names it any more

    after = stored(runtime)
    assert after.totp_key_id == runtime.sealing.active_kid()
    assert after.totp_wrapped_key != before.totp_wrapped_key
    assert (after.totp_nonce, after.totp_ciphertext) == (before.totp_nonce, before.totp_ciphertext)
    assert first not in key_files(settings)
    assert signed_in(pages, current_code(added.totp_uri))


def test_a_retired_key_a_secret_still_needs_is_kept(
    pages, runtime: Runtime, settings: Settings, operator: Command, key_clock
):
    add_user(runtime, TOTP_USER, TOTP_NAME, with_totp=True)
    first = runtime.sealing.active_kid()
    with runtime.database.transaction() as session:  # a data key that no longer unwraps
        session.execute(
            update(DpoUser).where(DpoUser.id == TOTP_USER).values(totp_wrapped_key=bytes(40))
        )

    result = operator("keys", "rotate")
    key_clock(ERASE_AFTER + timedelta(minutes=1))
    rotate(operator)

    assert "1 stored keys did not unwrap" in result.stderr
    assert stored(runtime).totp_key_id == first
    assert first in key_files(settings)
    assert not signed_in(pages, "123456")  # refused, not a server error


def test_a_broken_key_folder_refuses_the_sign_in_like_any_failure(
    pages, runtime: Runtime, settings: Settings
):
    added = add_user(runtime, TOTP_USER, TOTP_NAME, with_totp=True)
    assert added.totp_uri is not None
    (settings.key_dir / "messages" / "kek-broken.json").write_text("not a key")

    wrong_password = sign_in(pages, TOTP_USER, "falsches Passwort!", current_code(added.totp_uri))
    right_password = sign_in(pages, TOTP_USER, PASSWORD, current_code(added.totp_uri))

    # The right password must not show: the same refusal, not a server error.
    assert right_password.status_code == wrong_password.status_code == 200
    assert "Sign-in failed." in right_password.text
    assert not any(v.startswith("gw_dpo=") for v in right_password.headers.get_list("set-cookie"))


def test_a_row_whose_sealing_is_incomplete_is_left_and_its_key_kept(
    runtime: Runtime, settings: Settings, operator: Command, key_clock
):
    add_user(runtime, TOTP_USER, TOTP_NAME, with_totp=True)
    first = runtime.sealing.active_kid()
    with runtime.database.transaction() as session:
        session.execute(
            update(DpoUser).where(DpoUser.id == TOTP_USER).values(totp_wrapped_key=None)
        )

    result = operator("keys", "rotate")
    key_clock(ERASE_AFTER + timedelta(minutes=1))
    rotate(operator)

    assert result.exit_code == 0, result.output
    assert "1 stored keys did not unwrap" in result.stderr
    assert stored(runtime).totp_key_id == first
    assert first in key_files(settings)


# -- the migration -------------------------------------------------------------------------------


@pytest.fixture
def before_sealing(postgres_url: str | None) -> Iterator[str]:
    """A database at the revision before TOTP secrets were sealed, with one stored in clear."""
    with fresh_database(postgres_url, "totp") as url:
        downgrade(url, "0008")
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO dpo_users (id, name, password_hash, totp_secret, enabled,"
                    " created_at) VALUES (:id, 'Jonas Weber', :hash, :secret, :yes, :now)"
                ),
                {
                    "id": TOTP_USER,
                    "hash": users.hash_password(PASSWORD),
                    "secret": CLEAR_SECRET,
                    "yes": True,
                    "now": datetime.now(UTC),
                },
            )
        engine.dispose()
        yield url


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def test_the_migration_seals_a_secret_stored_in_clear(before_sealing: str, tmp_path: Path):
    keys = MessageKeys(tmp_path / "keys")
    keys.ensure()

    upgrade(before_sealing, sealing=keys)

    engine = make_engine(before_sealing)
    try:
        with engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("dpo_users")}
            row = connection.execute(select(DpoUser).where(DpoUser.id == TOTP_USER)).one()
    finally:
        engine.dispose()
    assert "totp_secret" not in columns
    user = DpoUser(**{name: getattr(row, name) for name in ("id", *SEALED)})
    assert users.totp_secret(user, keys) == CLEAR_SECRET
    assert CLEAR_SECRET.encode() not in (row.totp_ciphertext or b"")
    now = datetime.now(UTC)
    assert totp.code_matches(CLEAR_SECRET, totp.code_at(CLEAR_SECRET, now), now)

    downgrade(before_sealing, "0008", sealing=keys)  # and back: the secret in clear again
    engine = make_engine(before_sealing)
    try:
        with engine.connect() as connection:
            secret = connection.execute(sa.text("SELECT totp_secret FROM dpo_users")).scalar()
    finally:
        engine.dispose()
    assert secret == CLEAR_SECRET


@pytest.mark.parametrize("keys", ["none given", "an empty key folder"])
def test_without_the_keys_the_migration_changes_nothing(
    before_sealing: str, tmp_path: Path, keys: str
):
    sealing = MessageKeys(tmp_path / "elsewhere") if keys == "an empty key folder" else None
    with pytest.raises(MigrationRefused, match="GATEWAY_KEY_DIR"):
        upgrade(before_sealing, sealing=sealing)

    assert _revision(before_sealing) == "0008"
    engine = make_engine(before_sealing)
    try:
        with engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("dpo_users")}
            secret = connection.execute(sa.text("SELECT totp_secret FROM dpo_users")).scalar()
    finally:
        engine.dispose()
    assert secret == CLEAR_SECRET
    assert not columns & set(SEALED)  # checked before any change to the table


def test_the_cli_refuses_the_upgrade_with_the_reason_and_no_traceback(
    before_sealing: str, tmp_path: Path
):
    refused = gateway_command("db", "upgrade", cwd=tmp_path, database_url=before_sealing)

    assert refused.returncode != 0
    assert "GATEWAY_KEY_DIR" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert CLEAR_SECRET not in refused.stderr + refused.stdout
    assert _revision(before_sealing) == "0008"


def test_starting_the_gateway_seals_the_secrets_with_its_key_folder(
    before_sealing: str, tmp_path: Path
):
    """An installation whose key folder never got a key-encryption key (no gateway ever served
    with it): serve makes the first, then upgrades."""
    with serving(cwd=tmp_path, database_url=before_sealing, name="upgrade") as server:
        assert CLEAR_SECRET not in server.log.read_text()

    assert is_current(before_sealing)
    engine = make_engine(before_sealing)
    try:
        with engine.connect() as connection:
            row = connection.execute(select(DpoUser).where(DpoUser.id == TOTP_USER)).one()
    finally:
        engine.dispose()
    user = DpoUser(**{name: getattr(row, name) for name in ("id", *SEALED)})
    keys = MessageKeys(tmp_path / "gateway-keys")  # serve's default folder, in its directory
    assert users.totp_secret(user, keys) == CLEAR_SECRET
