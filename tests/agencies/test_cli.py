"""The registry commands (``gateway agency|dpo|monitoring``), ``keys rotate`` and ``db upgrade``,
run in-process against the test database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from gateway.agencies.credentials import verify_secret
from gateway.agencies.tables import Agency, Client
from gateway.cli.main import cli
from gateway.db.engine import Database
from gateway.db.migrate import is_current
from gateway.runtime import open_key_store
from gateway.settings import Settings
from tests.support import new_ed25519, new_es256, public_jwks

SECRET = "gws_" + "a-client-secret-of-forty-characters-x"


def succeeded(result: Result) -> str:
    assert result.exception is None, result.output
    assert result.exit_code == 0, result.output
    return result.output


def refused(result: Result) -> str:
    """A refusal: a non-zero exit with a message, not a crash with a traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Error:" in result.output
    return result.output


def listed(gateway) -> list[dict]:
    output = succeeded(gateway("agency", "list", "--json"))
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def add_agency(
    gateway,
    *extra: str,
    agency_id: str = "koeln-jobcenter",
    input: str | None = None,
    **options: str,
) -> Result:
    values = {"kind": "job_centre", "municipality": "koeln", "name": "Jobcenter Köln"} | options
    args = ["agency", "add", "--id", agency_id]
    for name, value in values.items():
        args += [f"--{name.replace('_', '-')}", value]
    return gateway(*args, *extra, input=input)


def count_rows(database: Database) -> tuple[int, int]:
    with database.transaction() as session:
        clients = session.scalar(select(func.count()).select_from(Client))
        agencies = session.scalar(select(func.count()).select_from(Agency))
    return clients, agencies


# -- agency add / list ------------------------------------------------------------------------


def test_agency_add_with_a_jwks_file_registers_a_private_key_jwt_agency(
    gateway, jwks_file: Path, database: Database
):
    output = succeeded(add_agency(gateway, "--jwks", str(jwks_file)))

    assert "registered agency koeln-jobcenter" in output
    with database.transaction() as session:
        client = session.get(Client, "koeln-jobcenter")
        assert client is not None
        assert client.role == "agency"
        assert client.enabled is True
        assert client.demo is False
        assert client.secret_hash is None
        assert client.jwks == json.loads(jwks_file.read_text())
        assert client.agency is not None
        assert (client.agency.kind, client.agency.municipality) == ("job_centre", "koeln")
        assert client.agency.provider_url is None


def test_agency_add_with_a_secret_on_stdin_keeps_only_its_hash(gateway, database: Database):
    output = succeeded(
        add_agency(
            gateway,
            "--secret-stdin",
            agency_id="koeln-sozialamt",
            kind="social_office",
            input=SECRET + "\n",
        )
    )

    assert SECRET not in output
    with database.transaction() as session:
        client = session.get(Client, "koeln-sozialamt")
        assert client is not None
        assert client.jwks is None
        assert client.secret_hash is not None
        assert SECRET not in client.secret_hash
        assert verify_secret(SECRET, client.secret_hash)
    (row,) = listed(gateway)
    assert row["auth"] == "client_secret_basic"


def test_agency_add_keeps_an_https_provider_url(gateway, jwks_file: Path, database: Database):
    url = "https://jobcenter.koeln.example/api"
    succeeded(add_agency(gateway, "--jwks", str(jwks_file), provider_url=url))
    with database.transaction() as session:
        agency = session.get(Agency, "koeln-jobcenter")
        assert agency is not None
        assert agency.provider_url == url


def test_agency_list_shows_a_registered_agency(gateway, jwks_file: Path):
    succeeded(add_agency(gateway, "--jwks", str(jwks_file)))

    lines = succeeded(gateway("agency", "list")).splitlines()

    assert lines[0].split() == [
        "ID",
        "ROLE",
        "KIND",
        "MUNICIPALITY",
        "NAME",
        "AUTH",
        "ENABLED",
        "DEMO",
    ]
    (row,) = [line for line in lines[1:] if line.strip()]
    assert row.split()[:4] == ["koeln-jobcenter", "agency", "job_centre", "koeln"]
    assert "private_key_jwt" in row
    assert "Jobcenter Köln" in row


def test_agency_list_json_prints_one_object_per_client(gateway, jwks_file: Path):
    succeeded(add_agency(gateway, "--jwks", str(jwks_file)))
    succeeded(
        add_agency(
            gateway,
            "--secret-stdin",
            agency_id="koeln-jugendamt",
            kind="youth_welfare_office",
            input=SECRET,
        )
    )

    rows = listed(gateway)

    assert [(r["id"], r["kind"], r["municipality"], r["enabled"]) for r in rows] == [
        ("koeln-jobcenter", "job_centre", "koeln", True),
        ("koeln-jugendamt", "youth_welfare_office", "koeln", True),
    ]
    assert {r["auth"] for r in rows} == {"private_key_jwt", "client_secret_basic"}


def test_agency_list_json_of_an_empty_registry_prints_nothing(gateway):
    assert succeeded(gateway("agency", "list", "--json")) == ""


# -- agency disable ---------------------------------------------------------------------------


def test_agency_disable_turns_the_agency_off(gateway, jwks_file: Path, database: Database):
    succeeded(add_agency(gateway, "--jwks", str(jwks_file)))

    assert "disabled koeln-jobcenter" in succeeded(gateway("agency", "disable", "koeln-jobcenter"))

    (row,) = listed(gateway)
    assert row["enabled"] is False
    with database.transaction() as session:
        client = session.get(Client, "koeln-jobcenter")
        assert client is not None
        assert client.disabled_at is not None


def test_disabling_twice_is_harmless_and_keeps_the_first_time(
    gateway, jwks_file: Path, database: Database
):
    succeeded(add_agency(gateway, "--jwks", str(jwks_file)))
    succeeded(gateway("agency", "disable", "koeln-jobcenter"))
    with database.transaction() as session:
        first = session.get(Client, "koeln-jobcenter").disabled_at

    succeeded(gateway("agency", "disable", "koeln-jobcenter"))

    with database.transaction() as session:
        client = session.get(Client, "koeln-jobcenter")
        assert (client.enabled, client.disabled_at) == (False, first)


def test_disabling_an_unknown_id_fails(gateway, jwks_file: Path):
    succeeded(add_agency(gateway, "--jwks", str(jwks_file)))

    output = refused(gateway("agency", "disable", "koeln-nobody"))

    assert "no client with id 'koeln-nobody'" in output
    assert [row["enabled"] for row in listed(gateway)] == [True]


# -- agency add refusals: nothing is written ----------------------------------------------------


def test_an_unknown_kind_is_refused(gateway, jwks_file: Path, database: Database):
    output = refused(add_agency(gateway, "--jwks", str(jwks_file), kind="police"))

    assert "unknown agency kind 'police'" in output
    assert "job_centre" in output  # the message names the kinds there are
    assert count_rows(database) == (0, 0)


def test_a_jwks_file_that_is_not_json_is_refused(gateway, tmp_path: Path, database: Database):
    path = tmp_path / "keys.txt"
    path.write_text("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n")

    output = refused(add_agency(gateway, "--jwks", str(path)))

    assert "not valid JSON" in output
    assert "MCowBQYDK2VwAyEA" not in output
    assert count_rows(database) == (0, 0)


def test_a_jwks_file_with_a_private_key_is_refused_without_echoing_it(
    gateway, tmp_path: Path, database: Database
):
    private = new_ed25519().as_dict(private=True)
    path = tmp_path / "private.jwks.json"
    path.write_text(json.dumps({"keys": [private]}))

    output = refused(add_agency(gateway, "--jwks", str(path)))

    assert "private key material" in output
    assert private["d"] not in output
    assert count_rows(database) == (0, 0)


def test_a_missing_jwks_file_is_refused(gateway, tmp_path: Path, database: Database):
    result = add_agency(gateway, "--jwks", str(tmp_path / "nowhere.json"))
    assert result.exit_code == 2, result.output
    assert "does not exist" in result.output
    assert count_rows(database) == (0, 0)


def test_a_duplicate_id_is_refused_and_the_first_agency_is_kept(
    gateway, jwks_file: Path, tmp_path: Path, database: Database
):
    succeeded(add_agency(gateway, "--jwks", str(jwks_file)))
    other_keys = tmp_path / "other.jwks.json"
    other_keys.write_text(public_jwks(new_es256()))

    output = refused(
        add_agency(gateway, "--jwks", str(other_keys), kind="social_office", name="Someone else")
    )

    assert "already registered" in output
    (row,) = listed(gateway)
    assert (row["kind"], row["name"]) == ("job_centre", "Jobcenter Köln")
    with database.transaction() as session:
        assert session.get(Client, "koeln-jobcenter").jwks == json.loads(jwks_file.read_text())
    assert count_rows(database) == (1, 1)


@pytest.mark.parametrize(
    "agency_id",
    ["Koeln-Jobcenter", "koeln jobcenter", "koeln_jobcenter", "-koeln", "koeln-", "", "k" * 65],
)
def test_an_invalid_id_is_refused(gateway, jwks_file: Path, database: Database, agency_id):
    output = refused(add_agency(gateway, "--jwks", str(jwks_file), agency_id=agency_id))

    assert "lower-case letters, digits and hyphens" in output
    assert count_rows(database) == (0, 0)


def test_both_a_jwks_file_and_a_secret_are_refused(gateway, jwks_file: Path, database: Database):
    result = add_agency(gateway, "--jwks", str(jwks_file), "--secret-stdin", input=SECRET)

    assert result.exit_code == 2, result.output
    assert "exactly one of --jwks FILE or --secret-stdin" in result.output
    assert count_rows(database) == (0, 0)


def test_neither_a_jwks_file_nor_a_secret_is_refused(gateway, database: Database):
    result = add_agency(gateway)

    assert result.exit_code == 2, result.output
    assert "exactly one of --jwks FILE or --secret-stdin" in result.output
    assert count_rows(database) == (0, 0)


@pytest.mark.parametrize("secret", ["gws_too-short-secret", "", "   \n"])
def test_a_short_secret_is_refused_without_echoing_it(gateway, database: Database, secret):
    output = refused(add_agency(gateway, "--secret-stdin", input=secret))

    assert "at least 32 characters" in output
    if secret.strip():
        assert secret not in output
    assert count_rows(database) == (0, 0)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://jobcenter.koeln.example/api",
        "jobcenter.koeln.example/api",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://",
    ],
)
def test_a_provider_url_that_is_not_http_is_refused(
    gateway, jwks_file: Path, database: Database, url
):
    output = refused(add_agency(gateway, "--jwks", str(jwks_file), provider_url=url))

    assert "provider URL must be an absolute http(s) URL" in output
    assert count_rows(database) == (0, 0)


@pytest.mark.parametrize("field", ["municipality", "name"])
def test_an_empty_municipality_or_name_is_refused(
    gateway, jwks_file: Path, database: Database, field
):
    output = refused(add_agency(gateway, "--jwks", str(jwks_file), **{field: "  "}))

    assert f"{field} must not be empty" in output
    assert count_rows(database) == (0, 0)


# -- dpo and monitoring clients -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "role", "scopes"),
    [("dpo", "dpo", "audit:read policy:read"), ("monitoring", "monitoring", "monitoring:read")],
)
def test_role_clients_are_registered_with_their_role_and_scopes(
    gateway, jwks_file: Path, database: Database, group, role, scopes
):
    output = succeeded(gateway(group, "add", "--id", f"city-{group}", "--jwks", str(jwks_file)))

    assert f"registered {role} client city-{group}" in output
    with database.transaction() as session:
        client = session.get(Client, f"city-{group}")
        assert client is not None
        assert (client.role, client.scopes, client.name) == (role, scopes, f"city-{group}")
        assert client.agency is None
        assert client.jwks == json.loads(jwks_file.read_text())
    (row,) = listed(gateway)
    assert (row["id"], row["role"], row["kind"], row["enabled"]) == (
        f"city-{group}",
        role,
        "",
        True,
    )


def test_a_dpo_client_takes_the_id_of_no_existing_agency(
    gateway, jwks_file: Path, database: Database
):
    succeeded(add_agency(gateway, "--jwks", str(jwks_file)))

    output = refused(gateway("dpo", "add", "--id", "koeln-jobcenter", "--jwks", str(jwks_file)))

    assert "already registered" in output
    with database.transaction() as session:
        assert session.get(Client, "koeln-jobcenter").role == "agency"


@pytest.mark.parametrize("group", ["dpo", "monitoring"])
def test_a_role_client_with_a_private_key_is_refused(
    gateway, tmp_path: Path, database: Database, group
):
    private = new_ed25519().as_dict(private=True)
    path = tmp_path / "private.jwks.json"
    path.write_text(json.dumps({"keys": [private]}))

    output = refused(gateway(group, "add", "--id", f"city-{group}", "--jwks", str(path)))

    assert "private key material" in output
    assert private["d"] not in output
    assert count_rows(database) == (0, 0)


# -- keys rotate ------------------------------------------------------------------------------


def test_keys_rotate_prints_the_new_kid_and_publishes_both_keys(
    gateway, database_url: str, key_dir: Path
):
    output = succeeded(gateway("keys", "rotate"))

    store = open_key_store(Settings(database_url=database_url, key_dir=key_dir))
    new_kid = store.active_kid()
    assert output.startswith(f"signing with {new_kid};")
    assert len(list((key_dir / "signing").glob("*.json"))) == 2
    kids = [key["kid"] for key in store.public_jwks()["keys"]]
    assert len(kids) == 2
    assert new_kid in kids
    (previous,) = set(kids) - {new_kid}
    assert f"{previous} retired" in output


def test_keys_rotate_again_signs_with_a_third_key(gateway, database_url: str, key_dir: Path):
    first = succeeded(gateway("keys", "rotate"))
    second = succeeded(gateway("keys", "rotate"))

    store = open_key_store(Settings(database_url=database_url, key_dir=key_dir))
    assert second.startswith(f"signing with {store.active_kid()};")
    assert first.split()[2] != second.split()[2]
    assert len(list((key_dir / "signing").glob("*.json"))) == 3
    # Both retired keys are still within their grace period, so all three verify.
    assert len(store.public_jwks()["keys"]) == 3


# -- db upgrade -------------------------------------------------------------------------------


def test_db_upgrade_brings_the_database_to_the_newest_schema(gateway, database_url: str):
    assert "database is up to date" in succeeded(gateway("db", "upgrade"))
    assert is_current(database_url)
    # Idempotent: a second run has nothing to do and still succeeds.
    assert "database is up to date" in succeeded(gateway("db", "upgrade"))


def test_db_upgrade_creates_the_schema_in_an_empty_database(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert not is_current(url)

    result = CliRunner(env={"GATEWAY_DATABASE_URL": url}).invoke(cli, ["db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert is_current(url)
