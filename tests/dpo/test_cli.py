"""``gateway dpo add-user`` and ``disable-user``: password rules, stdin or a prompt asked twice,
a TOTP secret shown once as an otpauth:// URI, refusals that write nothing, and the audit."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from gateway.audit.events import EventType
from gateway.audit.tables import AuditEntry
from gateway.cli.main import cli
from gateway.dpo import totp, users
from gateway.dpo.tables import DpoUser
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.web.tables import WebSession
from tests.dpo.conftest import sign_in
from tests.dpo.seeded import recorded

GOOD = "lange genug, wirklich"


@pytest.fixture
def gateway(settings: Settings):
    runner = CliRunner(
        env={
            "GATEWAY_DATABASE_URL": settings.database_url,
            "GATEWAY_KEY_DIR": str(settings.key_dir),
            "GATEWAY_ISSUER": settings.issuer,
        }
    )
    return lambda *args, input=None: runner.invoke(cli, ["dpo", *args], input=input)


def stored(runtime: Runtime) -> dict[str, DpoUser]:
    with runtime.database.transaction(read_only=True) as session:
        return {user.id: user for user in session.scalars(select(DpoUser))}


def entry_count(runtime: Runtime) -> int:
    with runtime.database.transaction(read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_a_user_added_with_the_password_on_stdin_can_sign_in(gateway, runtime, pages):
    result = gateway("add-user", "--id", "anna.schmidt", "--name", "Anna Schmidt",
                     "--password-stdin", input=GOOD + "\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "otpauth://" not in result.output
    user = stored(runtime)["anna.schmidt"]
    assert (user.name, user.enabled, user.has_totp) == ("Anna Schmidt", True, False)
    assert user.password_hash.startswith("scrypt$")
    assert GOOD not in user.password_hash
    assert users.password_matches(GOOD, user.password_hash)
    assert sign_in(pages, "anna.schmidt", GOOD).status_code == 303


def test_without_stdin_the_password_is_asked_for_twice(gateway, runtime):
    result = gateway("add-user", "--id", "anna", "--name", "Anna", input=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("assword") == 2  # the prompt and its repetition
    assert GOOD not in result.output  # hidden input is not echoed
    assert users.password_matches(GOOD, stored(runtime)["anna"].password_hash)


def test_the_password_is_never_an_argument(gateway, runtime):
    result = gateway("add-user", "--id", "anna", "--name", "Anna", "--password", GOOD)
    assert result.exit_code != 0
    assert stored(runtime) == {}


@pytest.mark.parametrize(
    ("arguments", "typed", "why"),
    [
        (("--id", "anna", "--name", "Anna", "--password-stdin"), "elf Zeichen\n", "at least 12"),
        (("--id", "anna", "--name", "Anna"), f"{GOOD}\n{GOOD}x\n{GOOD}\n{GOOD}y\n", None),
        (("--id", "Anna Schmidt!", "--name", "Anna", "--password-stdin"), GOOD, "user id"),
        (("--id", "anna", "--name", "   ", "--password-stdin"), GOOD, "name must not"),
        (("--id", "anna", "--name", "Anna", "--password-stdin"), "x" * 257, "at most 256"),
        (("--id", "anna", "--name", "Anna", "--password-stdin"), "tab\there long enough",
         "control characters"),
        (("--id", "anna.schmidt1", "--name", "Anna", "--password-stdin"), "Anna.Schmidt1",
         "not be the user id"),
    ],
)  # fmt: skip
def test_refusals_exit_non_zero_and_write_nothing(gateway, runtime, arguments, typed, why):
    before = entry_count(runtime)
    result = gateway("add-user", *arguments, input=typed)
    assert result.exit_code != 0
    if why is not None:
        assert why in result.output
    assert stored(runtime) == {}
    assert entry_count(runtime) == before
    assert GOOD not in result.output


def test_an_id_taken_already_is_refused_and_the_first_user_stays(gateway, runtime):
    assert gateway("add-user", "--id", "anna", "--name", "Anna A", "--password-stdin",
                   input=GOOD).exit_code == 0  # fmt: skip
    first = stored(runtime)["anna"]
    before = entry_count(runtime)
    result = gateway("add-user", "--id", "ANNA", "--name", "Anna B", "--password-stdin",
                     input="ein anderes Passwort")  # fmt: skip
    assert result.exit_code != 0
    assert "exists already" in result.output
    assert stored(runtime)["anna"].password_hash == first.password_hash
    assert stored(runtime)["anna"].name == "Anna A"
    assert entry_count(runtime) == before


def test_totp_prints_an_otpauth_uri_once_that_authenticator_apps_read(gateway, runtime):
    result = gateway("add-user", "--id", "jonas", "--name", "Jonas Weber", "--totp",
                     "--password-stdin", input=GOOD)  # fmt: skip
    assert result.exit_code == 0, result.output
    uris = [line for line in result.output.splitlines() if line.startswith("otpauth://")]
    assert len(uris) == 1
    parts = urlsplit(uris[0])
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/Consent gateway:jonas"
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert query["algorithm"] == "SHA1"
    assert (query["digits"], query["period"]) == ("6", "30")
    user = stored(runtime)["jonas"]
    secret = users.totp_secret(user, runtime.sealing)
    assert secret is not None
    assert query["secret"] == secret
    assert len(secret) == 32  # 160 bits, base32
    # Sealed at rest: neither the secret nor its bytes are in the row.
    row = " ".join(str(getattr(user, column.key)) for column in DpoUser.__table__.columns)
    assert secret not in row
    assert user.totp_ciphertext is not None
    assert base64.b32decode(secret) not in user.totp_ciphertext
    assert secret.encode() not in user.totp_ciphertext
    now = datetime.now(UTC)
    assert totp.code_matches(secret, totp.code_at(secret, now), now)
    # Shown once: nothing prints it again.
    assert "otpauth" not in gateway("disable-user", "--id", "jonas").output


def test_adding_a_user_is_audited_without_the_name_or_the_password(gateway, runtime):
    gateway("add-user", "--id", "anna", "--name", "Anna Schmidt", "--totp", "--password-stdin",
            input=GOOD)  # fmt: skip
    (body,) = recorded(runtime, EventType.DPO_USER_ADDED)
    assert body["actor"] == "operator"
    assert body["details"] == {"user": "anna", "totp": True}
    assert "Anna Schmidt" not in str(body)
    assert GOOD not in str(body)


def test_disabling_a_user_ends_their_sessions_and_is_audited(gateway, runtime, pages):
    gateway("add-user", "--id", "anna", "--name", "Anna", "--password-stdin", input=GOOD)
    assert sign_in(pages, "anna", GOOD).status_code == 303
    assert pages.get("/dpo/overview").status_code == 200

    result = gateway("disable-user", "--id", "anna")
    assert result.exit_code == 0, result.output
    assert stored(runtime)["anna"].enabled is False
    with runtime.database.transaction(read_only=True) as session:
        assert session.scalars(select(WebSession)).all() == []
    redirected = pages.get("/dpo/overview")
    assert (redirected.status_code, redirected.headers["location"]) == (303, "/dpo/")
    assert sign_in(pages, "anna", GOOD).status_code == 200  # refused
    (body,) = recorded(runtime, EventType.DPO_USER_DISABLED)
    assert (body["actor"], body["details"]) == ("operator", {"user": "anna"})

    again = gateway("disable-user", "--id", "anna")
    assert again.exit_code == 0
    assert "already" in again.output
    assert len(recorded(runtime, EventType.DPO_USER_DISABLED)) == 1


def test_disabling_an_unknown_user_is_refused(gateway, runtime):
    before = entry_count(runtime)
    result = gateway("disable-user", "--id", "nobody")
    assert result.exit_code != 0
    assert "no DPO user" in result.output
    assert entry_count(runtime) == before


def test_totp_needs_the_gateways_key_folder_and_makes_no_keys_of_its_own(
    settings: Settings, runtime, tmp_path
):
    elsewhere = tmp_path / "not-the-gateways-keys"
    runner = CliRunner(
        env={
            "GATEWAY_DATABASE_URL": settings.database_url,
            "GATEWAY_KEY_DIR": str(elsewhere),
            "GATEWAY_ISSUER": settings.issuer,
        }
    )
    add = ["dpo", "add-user", "--name", "Jonas Weber", "--password-stdin"]

    refused = runner.invoke(cli, [*add, "--id", "jonas", "--totp"], input=GOOD)
    assert refused.exit_code != 0
    assert "no key-encryption key" in refused.output
    assert not (elsewhere / "messages").exists()
    assert "jonas" not in stored(runtime)
    # Without TOTP nothing is sealed, and no key is needed.
    assert runner.invoke(cli, [*add, "--id", "anna"], input=GOOD).exit_code == 0


def _uri_secret(output: str) -> str:
    (uri,) = [line for line in output.splitlines() if line.startswith("otpauth://")]
    return parse_qs(urlsplit(uri).query)["secret"][0]


def test_resetting_totp_replaces_the_secret_ends_sessions_and_is_audited(gateway, runtime, pages):
    added = gateway("add-user", "--id", "jonas", "--name", "Jonas Weber", "--totp",
                    "--password-stdin", input=GOOD)  # fmt: skip
    old = _uri_secret(added.output)
    now = datetime.now(UTC)
    assert sign_in(pages, "jonas", GOOD, totp.code_at(old, now)).status_code == 303

    result = gateway("reset-totp", "--id", "Jonas ")  # matched as sign-in names are
    assert result.exit_code == 0, result.output
    new = _uri_secret(result.output)
    assert new != old
    assert users.totp_secret(stored(runtime)["jonas"], runtime.sealing) == new
    with runtime.database.transaction(read_only=True) as session:
        assert session.scalars(select(WebSession)).all() == []
    pages.cookies.clear()
    later = datetime.now(UTC)
    assert sign_in(pages, "jonas", GOOD, totp.code_at(old, later)).status_code == 200  # refused
    assert sign_in(pages, "jonas", GOOD, totp.code_at(new, later)).status_code == 303
    (body,) = recorded(runtime, EventType.DPO_USER_TOTP_RESET)
    assert (body["actor"], body["details"]) == ("operator", {"user": "jonas"})
    assert new not in str(body)


def test_resetting_turns_totp_on_for_a_user_without_it(gateway, runtime, pages):
    gateway("add-user", "--id", "anna", "--name", "Anna", "--password-stdin", input=GOOD)
    secret = _uri_secret(gateway("reset-totp", "--id", "anna").output)
    assert sign_in(pages, "anna", GOOD).status_code == 200  # a code is needed now
    now = datetime.now(UTC)
    assert sign_in(pages, "anna", GOOD, totp.code_at(secret, now)).status_code == 303


def test_resetting_totp_of_an_unknown_user_is_refused(gateway, runtime):
    before = entry_count(runtime)
    result = gateway("reset-totp", "--id", "nobody")
    assert result.exit_code != 0
    assert "no DPO user" in result.output
    assert "otpauth" not in result.output
    assert entry_count(runtime) == before
