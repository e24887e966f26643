"""``gateway serve`` end to end: the real command in a subprocess, as an operator starts it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from gateway.cli.main import cli
from tests.support import client_assertion, free_port, new_ed25519, public_jwks, token_form

START_TIMEOUT = 30.0  # seconds a server may take to answer /readyz before the test gives up
STOP_TIMEOUT = 15.0


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path


def command_env(database_url: str) -> dict[str, str]:
    """The environment of the test process without its GATEWAY_* settings, plus the database."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GATEWAY_")}
    return env | {"GATEWAY_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}


def gateway_command(*args: str, cwd: Path, database_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=cwd,
        env=command_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextmanager
def serving(
    *args: str,
    cwd: Path,
    database_url: str,
    name: str,
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[Server]:
    """``gateway serve ARGS`` on a free port, until the block ends; killed whatever happens.
    ``env``: settings added to the command's environment. ``port``: 0 to let the command
    choose (without ``--port``): the test reads the port from what it prints."""
    port = free_port() if port is None else port
    log = cwd / f"{name}.log"
    with log.open("w") as output:
        # A session of its own, so that uvicorn's worker processes go down with it.
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", *_port_option(port), *args],
            cwd=cwd,
            env=command_env(database_url) | (env or {}),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port or _chosen_port(process, log)}"
        wait_until_ready(process, url, log)
        yield Server(url, process, log)
        process.terminate()
        process.wait(timeout=STOP_TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        else:
            # Workers outlive a parent that died abruptly: end whatever is left of the session.
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def _port_option(port: int) -> tuple[str, ...]:
    return ("--port", str(port)) if port else ()


def _chosen_port(process: subprocess.Popen, log: Path) -> int:
    """The port the demo gateway announced it took (``http://127.0.0.1:PORT/v1/me``)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if found := re.search(r"http://127\.0\.0\.1:(\d+)/v1/me", log.read_text()):
            return int(found.group(1))
        if process.poll() is not None:
            pytest.fail(f"gateway serve exited with {process.returncode}:\n{log.read_text()}")
        time.sleep(0.1)
    pytest.fail(f"gateway serve announced no address in {START_TIMEOUT} s:\n{log.read_text()}")


def wait_until_ready(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gateway serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"gateway serve did not become ready in {START_TIMEOUT} s:\n{log.read_text()}")


def wait_for_workers(server: Server, workers: int) -> None:
    """Wait until every worker has started, so that either may take the next connection."""
    deadline = time.monotonic() + START_TIMEOUT
    while server.log.read_text().count("Application startup complete") < workers:
        if time.monotonic() > deadline:
            pytest.fail(f"not all {workers} workers started:\n{server.log.read_text()}")
        time.sleep(0.1)


def demo_token(server: Server) -> tuple[str, ...]:
    return ("demo", "token", "koeln-jobcenter", "--gateway", server.url)


def test_demo_mode_serves_demo_agencies_and_a_normal_start_refuses_them(
    database_url: str, tmp_path: Path
):
    with serving("--demo", cwd=tmp_path, database_url=database_url, name="demo") as server:
        fetched = gateway_command(*demo_token(server), cwd=tmp_path, database_url=database_url)
        assert fetched.returncode == 0, fetched.stderr
        token = fetched.stdout.strip()

        me = httpx.get(f"{server.url}/v1/me", headers={"Authorization": f"Bearer {token}"})

        assert me.status_code == 200, me.text
        assert me.json()["client_id"] == "koeln-jobcenter"
        assert me.json()["agency_kind"] == "job_centre"
        assert me.json()["municipality"] == "koeln"
        announcement = server.log.read_text()
        assert "Demo mode" in announcement
        assert str((tmp_path / "gateway-demo").resolve()) in announcement
    assert (tmp_path / "gateway-demo" / "koeln-jobcenter.private.jwk.json").exists()

    with serving(cwd=tmp_path, database_url=database_url, name="normal") as server:
        refused = gateway_command(*demo_token(server), cwd=tmp_path, database_url=database_url)

        assert refused.returncode != 0, refused.stdout
        assert "could not get a token" in refused.stderr
        assert "invalid_client" in refused.stderr
        assert refused.stdout.strip() == ""
        assert "Demo mode" not in server.log.read_text()


def test_a_client_assertion_is_accepted_once_across_workers(database_url: str, tmp_path: Path):
    key = new_ed25519()
    jwks_file = tmp_path / "koeln-jobcenter.jwks.json"
    jwks_file.write_text(public_jwks(key))
    added = CliRunner(env={"GATEWAY_DATABASE_URL": database_url}).invoke(
        cli,
        [
            *("agency", "add", "--id", "koeln-jobcenter", "--kind", "job_centre"),
            *("--municipality", "koeln", "--name", "Jobcenter Köln", "--jwks", str(jwks_file)),
        ],
    )
    assert added.exit_code == 0, added.output

    workers = serving("--workers", "2", cwd=tmp_path, database_url=database_url, name="workers")
    with workers as server:
        wait_for_workers(server, 2)
        form = token_form(client_assertion("koeln-jobcenter", key, f"{server.url}/oauth/token"))
        attempts = 8
        start = threading.Barrier(attempts, timeout=START_TIMEOUT)
        answers: list[httpx.Response] = []
        lock = threading.Lock()

        def post() -> None:
            # A client of its own: a fresh connection, which either worker may accept.
            with httpx.Client(timeout=30) as http:
                start.wait()
                response = http.post(f"{server.url}/oauth/token", data=form)
            with lock:
                answers.append(response)

        threads = [threading.Thread(target=post) for _ in range(attempts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert len(answers) == attempts
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200] + [400] * (attempts - 1), [a.text for a in answers]
        refusals = [answer.json() for answer in answers if answer.status_code == 400]
        assert {refusal["error"] for refusal in refusals} == {"invalid_client"}
        assert all("used before" in refusal["error_description"] for refusal in refusals)
        (granted,) = [answer.json() for answer in answers if answer.status_code == 200]
        assert granted["token_type"] == "Bearer"

        # Metrics add up every worker's requests, whichever worker answers the scrape.
        for _ in range(20):
            with httpx.Client(timeout=30) as http:
                http.get(f"{server.url}/healthz")
        scraped = httpx.get(f"{server.url}/metrics").text
        healthz = [
            line
            for line in scraped.splitlines()
            if line.startswith("gateway_http_requests_total{")
            and 'route="/healthz"' in line
            and 'status="200"' in line
        ]
        assert len(healthz) == 1, scraped
        assert float(healthz[0].rsplit(" ", 1)[1]) == 20
        token_requests = sum(
            float(line.rsplit(" ", 1)[1])
            for line in scraped.splitlines()
            if line.startswith("gateway_http_requests_total{") and 'route="/oauth/token"' in line
        )
        assert token_requests == attempts


def test_serve_refuses_to_start_on_an_invalid_policy_file(database_url: str, tmp_path: Path):
    policies = tmp_path / "policies"
    policies.mkdir()
    reference = Path(__file__).parents[2] / "policies"
    (policies / "policy.schema.json").write_text((reference / "policy.schema.json").read_text())
    (policies / "broken.yaml").write_text("policy_id: p\nversion: 1\nflows: []\n")
    env = command_env(database_url) | {"GATEWAY_POLICY_DIR": str(policies)}
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--port", str(free_port())],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "broken.yaml:3" in result.stderr


def test_serve_on_a_taken_port_ends_in_one_line_before_doing_anything(
    database_url: str, tmp_path: Path
):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = gateway_command(
            "serve", "--demo", "--port", str(port), cwd=tmp_path, database_url=database_url
        )
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--port" in result.stderr
    assert "Try it" not in result.stdout  # no instructions for a gateway that never ran
    assert not (tmp_path / "gateway-demo").exists()  # nothing registered, no demo keys


@contextmanager
def port_taken(port: int) -> Iterator[None]:
    """``port`` on 127.0.0.1 taken for the block: by this test, or by whatever holds it now."""
    with socket.socket() as holder:
        with suppress(OSError):  # taken already: all the better
            holder.bind(("127.0.0.1", port))
            holder.listen()
        yield


def test_the_quick_start_works_as_written_with_port_8000_taken(database_url: str, tmp_path: Path):
    """The README's commands, none naming a port: the demo takes a free one and says so, and
    ``gateway demo url``, ``gateway demo token`` and the story find it in the demo folder."""
    with (
        port_taken(8000),
        serving("--demo", cwd=tmp_path, database_url=database_url, name="demo", port=0) as server,
    ):
        assert not server.url.endswith(":8000")
        announced = server.log.read_text()
        assert "Port 8000 is taken; the demo gateway takes port" in announced
        assert "--gateway" not in announced  # the printed commands work as they are

        url = gateway_command("demo", "url", cwd=tmp_path, database_url=database_url)
        assert url.stdout.strip() == server.url
        fetched = gateway_command(
            "demo", "token", "koeln-jobcenter", cwd=tmp_path, database_url=database_url
        )
        assert fetched.returncode == 0, fetched.stderr
        token = fetched.stdout.strip()
        me = httpx.get(f"{server.url}/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text

        story = subprocess.run(
            [sys.executable, "-m", "gateway.demo.story"],
            cwd=tmp_path,
            env=command_env(database_url),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert story.returncode == 0, story.stdout + story.stderr
        assert "10. check the audit log" in story.stdout
