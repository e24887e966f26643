"""Faults of the gateway's own ground, as the operator and the gateway's users meet them: the
database out of reach (PostgreSQL behind a proxy the test cuts) or taking no writes (SQLite's
files made read-only), on every path a request takes.

The promise: such a fault is answered ``503`` with ``Retry-After`` and the stable problem type
``/problems/database-unavailable`` (a page on the people's pages), nothing is released, the
outage is logged once when it starts and once when it ends, and the gateway serves again as
soon as the database does.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from gateway.demo.cases import REFERENCES as DEMO
from gateway.observability.logging import JsonFormatter
from tests.adversarial.conftest import (
    ABH,
    AMIRA,
    JC,
    OLEKSII,
    RESIDENCE,
    City,
    consent_body,
    csrf_token,
)
from tests.cli.test_serve import command_env, wait_until_ready
from tests.db.outage import (
    CuttableProxy,
    cuttable,
    database_files,
    fill_the_disk_of,
    free_the_disk_of,
    on_a_small_disk,
    read_only,
)
from tests.support import free_port, start_live_server

UNAVAILABLE = "/problems/database-unavailable"


@pytest.fixture
def server_proxy(postgres_url: str | None) -> Iterator[CuttableProxy | None]:
    if postgres_url is None:
        yield None
        return
    with cuttable(postgres_url) as proxy:
        yield proxy


@pytest.fixture
def database_url(database_url: str, server_proxy: CuttableProxy | None) -> str:
    """On PostgreSQL the gateway reaches its server through a proxy the test can cut."""
    return database_url if server_proxy is None else server_proxy.url(database_url)


@dataclass
class Fault:
    """The database's fault, begun and ended as the operator (or the network) would."""

    on_postgres: bool
    begin: Callable[[], None]
    end: Callable[[], None]


@pytest.fixture
def fault(city: City, server_proxy: CuttableProxy | None, database_url: str) -> Iterator[Fault]:
    if server_proxy is not None:
        yield Fault(True, server_proxy.cut, server_proxy.restore)
        server_proxy.restore()
        return
    with ExitStack() as stack:

        def begin() -> None:
            stack.enter_context(read_only(*database_files(database_url)))

        yield Fault(False, begin, stack.close)


@dataclass
class Logs:
    """What the gateway writes to its log (JSON lines), while the block lasts."""

    lines: list[dict] = field(default_factory=list)

    def at_least(self, level: str) -> list[dict]:
        order = ["debug", "info", "warning", "error", "critical"]
        return [line for line in self.lines if order.index(line["level"]) >= order.index(level)]

    def text(self) -> str:
        return "\n".join(json.dumps(line, ensure_ascii=False) for line in self.lines)

    def request_logged(self, request_id: str) -> bool:
        """Whether the request's access line came, waiting a little: the envelope writes it
        once the response is sent, so the client may have its answer first."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(line.get("request_id") == request_id for line in list(self.lines)):
                return True
            time.sleep(0.01)
        return False


# The test's own HTTP clients and the agencies' simulated systems log in this process too.
_NOT_THE_SERVERS = ("httpx", "httpcore", "gateway.simulator")


@pytest.fixture
def logs() -> Iterator[Logs]:
    captured = Logs()
    formatter = JsonFormatter()

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if not record.name.startswith(_NOT_THE_SERVERS):
                captured.lines.append(json.loads(formatter.format(record)))

    root, uvicorn_access = logging.getLogger(), logging.getLogger("uvicorn.access")
    handler, level, disabled = Keep(logging.INFO), root.level, uvicorn_access.disabled
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    uvicorn_access.disabled = True  # as observability.logging has it in a served gateway
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        uvicorn_access.disabled = disabled


@pytest.fixture
def person(city: City) -> Iterator[httpx.Client]:
    """A person's browser."""
    with city.browser() as browser:
        yield browser


def assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == UNAVAILABLE
    assert int(answer.headers["retry-after"]) > 0


def assert_unavailable_page(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert int(answer.headers["retry-after"]) > 0


def retried(send: Callable[[], httpx.Response], attempts: int = 3) -> httpx.Response:
    """What a client that tries again after a 503 gets (without waiting the Retry-After
    seconds: the test knows the database is back)."""
    for _ in range(attempts - 1):
        answer = send()
        if answer.status_code != 503:
            return answer
        time.sleep(0.05)
    return send()


def test_an_outage_is_503_on_every_path_logged_once_and_over_when_the_database_is_back(
    city: City, fault: Fault, logs: Logs, person: httpx.Client
):
    consent = city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    withdrawal = f"/v1/consents/{consent['consent_id']}/withdraw"
    city.token(JC)  # the office's system holds a token from before
    assert city.sign_in(person, consent["portal_code"]).status_code == 303
    confirm = person.get(withdrawal.replace("/v1/", "/portal/"))
    form = {"csrf_token": csrf_token(confirm.text)}

    fault.begin()
    # A new consent and a withdrawal (the routes' session), a query (the exchange path in
    # the event loop), a person's withdrawal in the portal (a page).
    assert_unavailable(city.record(JC, {JC: OLEKSII[JC], ABH: OLEKSII[ABH]}, RESIDENCE))
    assert_unavailable(city.post(JC, withdrawal, {"channel": "in_person"}))
    assert_unavailable(city.ask(JC, ABH, AMIRA[JC]))
    assert_unavailable_page(person.post(withdrawal.replace("/v1/", "/portal/"), data=form))
    listed = city.get(JC, "/v1/consents", subject_ref=AMIRA[JC])
    if fault.on_postgres:
        assert_unavailable(listed)
    else:  # a read-only SQLite file still answers what is only read
        assert listed.status_code == 200, listed.text
    fault.end()

    withdrawn = retried(lambda: city.post(JC, withdrawal, {"channel": "in_person"}))
    assert withdrawn.status_code == 200, withdrawn.text
    refused = retried(lambda: city.ask(JC, ABH, AMIRA[JC]))
    assert refused.status_code == 403, refused.text
    assert refused.json()["reason"] == "consent_withdrawn"
    # Nothing was released while the database was unavailable: the one query answered
    # during the fault got no data, and no release entry exists.
    assert [e for e in city.audit("exchange.decided") if e and e.get("decision") == "permit"] == []

    problems = [(line["level"], line.get("event")) for line in logs.at_least("warning")]
    assert problems == [("error", "database_unavailable")], logs.text()
    back = [line for line in logs.lines if line.get("event") == "database_available"]
    assert len(back) == 1, logs.text()


def test_a_worker_that_began_while_the_file_was_read_only_writes_once_it_is_writable_again(
    city: City, database_url: str, tmp_path: Path, person: httpx.Client
):
    """A connection opened while SQLite's file is read-only stays read-only for its life;
    one whose write failed so is discarded, so the writable file is written again at once,
    a person's withdrawal first."""
    if make_url(database_url).get_backend_name() != "sqlite":
        pytest.skip("a SQLite file made read-only; PostgreSQL's outage is the test above")
    consent = city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    city.token(JC)
    assert city.sign_in(person, consent["portal_code"]).status_code == 303
    withdrawal = f"/portal/consents/{consent['consent_id']}/withdraw"
    confirm = person.get(withdrawal)
    form = {"csrf_token": csrf_token(confirm.text)}
    settings = city.runtime.settings

    # Another worker of the same gateway (same database, keys and address), started now:
    # every connection it opens while the file is read-only is read-only.
    with ExitStack() as stack:
        second = stack.enter_context(
            start_live_server(
                database_url,
                tmp_path / "second",
                key_dir=settings.key_dir,
                issuer=settings.issuer,
                provider_timeout=settings.provider_timeout,
                cookie_secure=False,
            )
        )
        worker = City(second, city.offices, _tokens={JC: city.token(JC)})
        browser = stack.enter_context(httpx.Client(base_url=second.url, cookies=person.cookies))
        with read_only(*database_files(database_url)):
            assert_unavailable(worker.ask(JC, ABH, AMIRA[JC]))
            assert_unavailable_page(browser.post(withdrawal, data=form))

        # Writable again: the exchange path's writer and the routes' connections write.
        assert worker.ask(JC, ABH, AMIRA[JC]).status_code == 200
        withdrawn = browser.post(withdrawal, data=form)
        assert withdrawn.status_code == 303, withdrawn.text
        refused = worker.ask(JC, ABH, AMIRA[JC])
        assert refused.status_code == 403, refused.text
        for person_ref in ("JC-1", "JC-2", "JC-3", "JC-4", "JC-5"):
            recorded = worker.record(JC, {JC: person_ref, ABH: "ABH-" + person_ref}, RESIDENCE)
            assert recorded.status_code == 201, recorded.text


def test_readiness_takes_the_node_out_while_the_database_takes_no_writes(city: City, fault: Fault):
    """A load balancer asking /readyz stops sending requests while writes fail (reads alone
    still work on a read-only SQLite file), and sends them again once writes work."""
    assert httpx.get(f"{city.url}/readyz").status_code == 200

    fault.begin()
    out = httpx.get(f"{city.url}/readyz")
    fault.end()

    assert out.status_code == 503, out.text
    assert out.json()["type"] == "/problems/not-ready"
    assert "database" in out.json()["detail"]
    back = retried(lambda: httpx.get(f"{city.url}/readyz"))
    assert back.status_code == 200, back.text


def test_a_request_id_made_of_a_file_reference_reaches_neither_the_audit_log_nor_the_log(
    city: City, logs: Logs
):
    """An agency system that builds its request ids from its file references (``JC-4711-0001``
    for the person ``JC-4711``) would put them into the audit entry and the server's log; an
    id is taken only when it is a UUID, which carries nothing of a person."""
    city.recorded(JC, {JC: AMIRA[JC], ABH: AMIRA[ABH]}, RESIDENCE)
    chosen = "0b6f5a0e-6a54-4f1c-9a53-1c2e4f3d2a10"

    traced = city.ask(JC, ABH, AMIRA[JC], **{"X-Request-Id": AMIRA[JC] + "-0001"})
    kept = city.ask(JC, ABH, AMIRA[JC], **{"X-Request-Id": chosen})

    assert traced.status_code == kept.status_code == 200
    replaced = traced.headers["x-request-id"]
    assert str(uuid.UUID(replaced)) == replaced
    assert kept.headers["x-request-id"] == chosen
    releases = [entry for entry in city.audit("exchange.decided") if entry]
    assert [entry["request_id"] for entry in releases] == [replaced, chosen]
    assert logs.request_logged(replaced)
    assert logs.request_logged(chosen)
    server_log = logs.text()
    assert AMIRA[JC] not in json.dumps(city.audit()) + server_log


def test_a_full_disk_under_a_running_gateway_is_503_until_there_is_room_again(
    database_url: str, tmp_path: Path
):
    """``gateway serve`` with its SQLite database on a disk of its own, which fills up while
    it serves: writes answer 503 and /readyz takes the node out; reads go on; once there is
    room again it writes again, and its log has said so once each way."""
    if make_url(database_url).get_backend_name() != "sqlite":
        pytest.skip("a SQLite database on a disk that fills up")
    disk = tmp_path / "disk"
    disk.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = [sys.executable, "-m", "gateway", "serve", "--demo", "--port", str(port)]
    env = command_env(f"sqlite:///{disk / 'gateway.db'}") | {
        "GATEWAY_KEY_DIR": str(tmp_path / "keys"),
        "GATEWAY_DEMO_DIR": str(tmp_path / "demo"),
    }
    log = tmp_path / "gateway.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            on_a_small_disk(disk, serve, full=False),
            cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_ready(process, url, log)
        token = subprocess.run(
            [sys.executable, "-m", "gateway", "demo", "token", JC, "--gateway", url],
            cwd=tmp_path, env=env, capture_output=True, text=True, check=True, timeout=60,
        ).stdout.strip()  # fmt: skip
        office = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
        references = {JC: DEMO[JC], ABH: DEMO[ABH]}

        def record(number: int) -> httpx.Response:
            other = {JC: f"JC-{number}", ABH: f"ABH-{number}"}
            return office.post("/v1/consents", json=consent_body(other, RESIDENCE))

        def ask() -> httpx.Response:
            query = {
                "provider": ABH,
                "subject_ref": DEMO[JC],
                "categories": ["residence_status"],
                "purpose": "labour_market_integration",
            }
            return office.post("/v1/exchanges", json=query)

        with office:
            assert office.post("/v1/consents", json=consent_body(references)).status_code == 201
            fill_the_disk_of(process.pid, disk)
            assert_unavailable(record(1))
            assert_unavailable(ask())
            assert httpx.get(f"{url}/readyz").status_code == 503
            assert office.get("/v1/consents", params={"subject_ref": DEMO[JC]}).status_code == 200
            free_the_disk_of(process.pid, disk)

            assert retried(lambda: record(2)).status_code == 201
            assert retried(ask).status_code == 200
            assert retried(lambda: httpx.get(f"{url}/readyz")).status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    events = [json.loads(line).get("event") for line in log.read_text().splitlines()
              if line.startswith("{")]  # fmt: skip
    assert events.count("database_unavailable") == 1, log.read_text()
    assert events.count("database_available") == 1, log.read_text()
