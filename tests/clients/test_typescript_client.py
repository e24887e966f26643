"""A TypeScript client generated from the served /openapi.json works against a live gateway.

Most agency systems will call the gateway through a client generated in their own language.
Here openapi-typescript generates the types from the document a live gateway serves, tsc
checks `typescript/consented-query.ts` against them in strict mode, and node runs it: the
foreigners' office records a consent with plain dates, the job centre reads it and asks for
the person's residence status, each agency with its own `private_key_jwt` token signed by
jose. A request body with a wrong field name, or a value outside a vocabulary, must not compile.

Without node and npm these tests are skipped with a reason; when CI=true they fail instead.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from joserfc.jwk import KeySet
from sqlalchemy import select

from consent.vocabulary import AgencyKind
from gateway.agencies.tables import Agency
from gateway.audit.tables import AuditEntry
from gateway.simulator.app import provider_app
from tests.exchange.world import RELEASED, RESIDENCE
from tests.support import (
    LiveServer,
    RegisteredClient,
    new_ed25519,
    new_es256,
    serve_app,
    start_live_server,
)

PROJECT = Path(__file__).parent / "typescript"
INSTALLED = PROJECT / "node_modules" / ".installed-from-lock"
BIN = PROJECT / "node_modules" / ".bin"
ABH, JC = "koeln-auslaenderbehoerde", "koeln-jobcenter"
ABH_REF, JC_REF = "ABH-2024/0815", "JC-4711"

# Enough for a cold `npm ci` over a slow network; a cached run takes seconds.
pytestmark = pytest.mark.timeout(600)


def run(
    command: list[str], cwd: Path, timeout: float, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Runs a tool; when it fails (and ``check``) or hangs, fails the test showing its output."""
    environment = os.environ | {"NO_COLOR": "1", "npm_config_update_notifier": "false"}
    shown = " ".join(command)
    try:
        done = subprocess.run(
            command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"`{shown}` took over {timeout} s\n{_output(hung.stdout, hung.stderr)}")
    if check and done.returncode != 0:
        pytest.fail(f"`{shown}` exited {done.returncode}\n{_output(done.stdout, done.stderr)}")
    return done


def _output(stdout: str | bytes | None, stderr: str | bytes | None) -> str:
    def text(stream: str | bytes | None) -> str:
        return stream.decode(errors="replace") if isinstance(stream, bytes) else stream or ""

    return f"--- stdout\n{text(stdout)}\n--- stderr\n{text(stderr)}"


@pytest.fixture(scope="session")
def node_project() -> Path:
    """The TypeScript project with its packages installed exactly as its lock file says."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        reason = f"{' and '.join(missing)} not found (apt-get install -y nodejs npm)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must test the generated TypeScript client, but {reason}")
        pytest.skip(f"the generated TypeScript client is not tested: {reason}")
    lock = PROJECT / "package-lock.json"
    wanted = hashlib.sha256((PROJECT / "package.json").read_bytes() + lock.read_bytes())
    with lock.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another run on this checkout may be installing
        # CI runs the suite twice (SQLite, PostgreSQL): the second run finds them installed.
        if not INSTALLED.is_file() or INSTALLED.read_text() != wanted.hexdigest():
            run(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"], PROJECT, 480)
            INSTALLED.write_text(wanted.hexdigest())
    return PROJECT


@pytest.fixture
def workspace(node_project: Path, tmp_path: Path) -> Path:
    """A copy of the project for this test's generated types and build (a run on SQLite and
    one on PostgreSQL may share the checkout), over the installed packages."""
    work = tmp_path / "typescript"
    shutil.copytree(
        node_project, work, ignore=shutil.ignore_patterns("node_modules", "generated", "build")
    )
    (work / "node_modules").symlink_to(node_project / "node_modules", target_is_directory=True)
    return work


def generate_types(workspace: Path, gateway: LiveServer) -> None:
    """The types of the document the live gateway serves, as an integrator generates them
    (`npx openapi-typescript URL -o FILE`; the installed command itself, without npx's
    start-up)."""
    document = f"{gateway.url}/openapi.json"
    run([str(BIN / "openapi-typescript"), document, "-o", "generated/gateway.ts"], workspace, 120)


def compile_project(
    workspace: Path, project: str = ".", *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "tsc"), "-p", project, "--pretty", "false"], workspace, 120, check=check)


@dataclass
class World:
    """A live gateway, the foreigners' office's system behind it, and both agencies' keys."""

    gateway: LiveServer
    abh: RegisteredClient
    jc: RegisteredClient

    def audit(self) -> list[dict[str, Any]]:
        with self.gateway.runtime.database.transaction(read_only=True) as session:
            rows = session.scalars(
                select(AuditEntry)
                .where(AuditEntry.event.in_(["consent.recorded", "exchange.decided"]))
                .order_by(AuditEntry.id)
            )
            return [json.loads(row.body or "{}") for row in rows]


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with start_live_server(database_url, tmp_path / "gateway") as gateway:
        jwks_url = f"{gateway.url}/.well-known/jwks.json"

        def gateway_keys() -> KeySet:
            return KeySet.import_key_set(httpx.get(jwks_url).json())

        issuer = gateway.runtime.settings.issuer
        cases = {ABH_REF: {"residence_status": dict(RESIDENCE)}}
        with serve_app(provider_app(ABH, issuer, gateway_keys, cases)) as provider_url:
            clients = gateway.clients
            # One agency signs with Ed25519, the other with P-256: both as jose does.
            abh = clients.agency(ABH, AgencyKind.FOREIGNERS_OFFICE, key=new_ed25519())
            jc = clients.agency(JC, AgencyKind.JOB_CENTRE, key=new_es256())
            with gateway.runtime.database.transaction() as session:
                session.get_one(Agency, ABH).provider_url = provider_url
            yield World(gateway, abh, jc)


def agency_config(client: RegisteredClient, reference: str, folder: Path) -> dict[str, str]:
    """How the script acts as an agency: its client id, private JWK file, own reference."""
    key_file = folder / f"{client.id}.jwk.json"
    key_file.touch(mode=0o600)
    key_file.write_text(json.dumps(client.key.as_dict(private=True)))
    return {"client_id": client.id, "key_file": str(key_file), "reference": reference}


def test_a_generated_typescript_client_records_a_consent_and_makes_a_consented_query(
    workspace: Path, world: World, tmp_path: Path
):
    generate_types(workspace, world.gateway)
    compile_project(workspace)
    zone = ZoneInfo(world.gateway.runtime.settings.time_zone)
    today = datetime.now(zone).date()
    valid_until = date(today.year + 1, today.month, 1)
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "gateway_url": world.gateway.url,
                "recorder": agency_config(world.abh, ABH_REF, tmp_path),
                "requester": agency_config(world.jc, JC_REF, tmp_path),
                "valid_from": today.isoformat(),
                "valid_until": valid_until.isoformat(),
            }
        )
    )

    printed = run(["node", "build/consented-query.js", str(config)], workspace, 60).stdout
    result = json.loads(printed)

    recorded = result["recorded"]
    consent_id = recorded["consent_id"]
    assert set(recorded) == {"consent_id", "version", "status", "receipt"}
    assert (recorded["version"], recorded["status"]) == (1, "active")
    consent = result["consent"]
    assert consent["consent_id"] == consent_id
    assert consent["subject_ref"] == JC_REF  # the job centre sees only its own reference
    assert consent["recorded_by"] == ABH
    assert consent["grants"] == [
        {"from": ABH, "to": JC, "categories": ["residence_status"],
         "purposes": ["labour_market_integration"]}
    ]  # fmt: skip
    # Plain dates are whole days in the deployment's time zone.
    start = datetime(today.year, today.month, today.day, tzinfo=zone)
    end = datetime(valid_until.year, valid_until.month, valid_until.day, tzinfo=zone)
    assert datetime.fromisoformat(consent["valid_from"]) == start
    assert datetime.fromisoformat(consent["valid_until"]) == end + timedelta(days=1)

    query = result["query"]
    assert query["data"] == {"residence_status": {field: RESIDENCE[field] for field in RELEASED}}
    assert query["legal_basis"] == "consent"
    assert query["consent_id"] == consent_id
    assert query["bases"]["residence_status"]["consent_id"] == consent_id
    assert "§ 25" not in printed  # legal_provision is not released to a job centre

    entries = world.audit()
    assert [
        (entry["event"], entry.get("decision"), entry.get("consent_id")) for entry in entries
    ] == [("consent.recorded", None, consent_id), ("exchange.decided", "permit", consent_id)]
    recording, permit = entries
    assert recording["actor"] == ABH
    assert (permit["requester"], permit["provider"]) == (JC, ABH)
    assert permit["details"]["exchange_id"] == query["exchange_id"]
    assert permit["categories"] == ["residence_status"]
    assert permit["purpose"] == "labour_market_integration"
    assert recording["subject"] == permit["subject"]  # one person, as a pseudonym
    # The X-Caseworker header the typed client sent, kept as pseudonyms.
    assert recording["caseworker"] != permit["caseworker"]
    assert "caseworker-" not in json.dumps(entries)


def test_a_mistyped_request_body_does_not_compile(workspace: Path, live_server: LiveServer):
    generate_types(workspace, live_server)
    source = workspace / "must-not-compile" / "mistyped-query.ts"
    lines = source.read_text().splitlines()
    wrong_field = 1 + next(n for n, line in enumerate(lines) if "subject_reference:" in line)
    wrong_purpose = 1 + next(n for n, line in enumerate(lines) if '"labour_market",' in line)

    failed = compile_project(workspace, "must-not-compile", check=False)

    errors = re.findall(r"^(\S+)\((\d+),\d+\): error (TS\d+): (.*)$", failed.stdout, re.M)
    assert failed.returncode != 0
    assert [(path, int(line), code) for path, line, code, _ in errors] == [
        ("must-not-compile/mistyped-query.ts", wrong_field, "TS2353"),  # unknown property
        ("must-not-compile/mistyped-query.ts", wrong_purpose, "TS2322"),  # not assignable
    ], failed.stdout
    assert "'subject_reference' does not exist" in errors[0][3]
    assert "'\"labour_market\"' is not assignable" in errors[1][3]
