"""Consented queries (or message cycles) through the gateway against a bare pass-through.

    python -m benchmarks.exchange [--database-url postgresql://...] [--workers N]
                                  [--case query|messages] [--requests N] [--concurrency C]
                                  [--persons N] [--rounds R]

Starts, each in its own process on free loopback ports, a reference provider, the gateway
(``gateway serve``, fresh database, one consent recorded per person) and a pass-through that
forwards the same fetch to the provider with no checks. The queries go round the persons in
turn. Pass-through and gateway are measured in turn, ``--rounds`` times. Reports, per round,
throughput and p50/p99 of both, the ratio, and the CPU each process (and the PostgreSQL
server, when it runs on this machine) spent per request; then the median ratio.

``--case messages`` measures message cycles instead, one cycle a unit (throughput in cycles
per second, latency and CPU per cycle): the foreigners' office sends a ``case_conference`` for
``case_management`` (``POST /v1/messages``, token scope ``exchange:send``), the job centre
fetches it (``GET /v1/messages/{id}``) and acknowledges it (``POST /v1/messages/{id}/ack``,
both ``exchange:receive``). Its baseline is the same three HTTP calls answered by a bare relay
in the pass-through process (the message held in memory until acknowledged, no token, no
checks, no database): what the three round trips and the framework cost with nothing of the
gateway's around them. No provider is called in either.
Nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from joserfc.jwk import OKPKey
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks import cpu
from benchmarks.providers import person_references
from benchmarks.run import _run, _wait_ready
from gateway.auth.tokens import issue_access_token
from gateway.client import AgencyKey, GatewayClient, TokenSource
from gateway.runtime import open_key_store
from gateway.settings import Settings
from tests.support import free_port, fresh_database, new_ed25519, public_jwks

ABH, JC = "koeln-auslaenderbehoerde", "koeln-jobcenter"
UNITS = {"query": "request", "messages": "cycle"}
CONFERENCE = {
    "starts_at": "2026-12-07T10:00:00+01:00",
    "location": "Jobcenter Köln-Mitte, Raum 3.12",
    "topic": "Sprachkurs und Arbeitsaufnahme",
    "participants": [ABH, JC],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server; a fresh database is made")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--case",
        choices=("query", "messages"),
        default="query",
        help="a consented query, or a message cycle (send, fetch, acknowledge)",
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="pass-through and gateway measured in turn this often (--requests each time)",
    )
    parser.add_argument(
        "--persons",
        type=int,
        default=100,
        help="persons asked about in turn (1: every query locks the same consents)",
    )
    options = parser.parse_args()
    processes: list[subprocess.Popen[bytes]] = []
    with (
        tempfile.TemporaryDirectory(prefix="gateway-bench-exchange-") as folder,
        fresh_database(options.database_url, "bench") as database_url,
    ):
        work = Path(folder)
        gateway_port, provider_port, passthrough_port = free_port(), free_port(), free_port()
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        provider_url = f"http://127.0.0.1:{provider_port}"
        env = os.environ | {
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_KEY_DIR": str(work / "keys"),
            "GATEWAY_ISSUER": gateway_url,
            "GATEWAY_LOG_LEVEL": "WARNING",
            # The helper processes import this package from the repository.
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        }
        keys = {agency: new_ed25519() for agency in (ABH, JC)}
        for agency, kind in ((ABH, "foreigners_office"), (JC, "job_centre")):
            (work / f"{agency}.json").write_text(public_jwks(keys[agency]))
            extra = ["--provider-url", provider_url] if agency == ABH else []
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "gateway",
                    "agency",
                    "add",
                    "--id",
                    agency,
                    "--kind",
                    kind,
                    "--municipality",
                    "koeln",
                    "--name",
                    agency,
                    "--jwks",
                    str(work / f"{agency}.json"),
                    *extra,
                ],
                env=env,
                cwd=work,
                check=True,
                capture_output=True,
            )
        try:
            processes.append(
                _start(
                    [
                        "-m",
                        "gateway",
                        "serve",
                        "--port",
                        str(gateway_port),
                        "--workers",
                        str(options.workers),
                    ],
                    env,
                    work,
                )
            )
            _wait_ready(gateway_url)
            processes.append(
                _start(
                    [
                        "-m",
                        "benchmarks.providers",
                        "provider",
                        str(provider_port),
                        gateway_url,
                        f"{gateway_url}/.well-known/jwks.json",
                        str(options.persons),
                    ],
                    env,
                    work,
                )
            )
            token = _provider_token(env, gateway_url)
            processes.append(
                _start(
                    [
                        "-m",
                        "benchmarks.providers",
                        "passthrough",
                        str(passthrough_port),
                        provider_url,
                        token,
                    ],
                    env,
                    work,
                )
            )
            _wait_port(provider_port)
            _wait_port(passthrough_port)
            gateway, provider, passthrough = (process.pid for process in processes)
            servers = {"gateway": gateway, "pass-through": passthrough}
            if options.case == "query":  # a message cycle calls no provider
                servers["provider"] = provider
            database_server = _database_server(database_url)
            if database_server is not None:
                servers["database"] = database_server
            rounds = _measure(gateway_url, passthrough_port, keys, options, servers)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)
    name = "PostgreSQL" if options.database_url else "SQLite"
    unit = UNITS[options.case]
    print(
        f"{name}, {options.case}, {options.workers} gateway worker(s), concurrency"
        f" {options.concurrency}, {options.persons} person(s), {options.rounds} round(s) of"
        f" {options.requests} {unit}s"
    )
    for number, results in enumerate(rounds, 1):
        print(f"  round {number}")
        _report(results, unit)
    ratios = sorted(_ratio(results) for results in rounds)
    print(
        f"throughput vs pass-through: median {statistics.median(ratios):.2f}"
        f" (rounds {', '.join(f'{ratio:.2f}' for ratio in ratios)})"
    )
    cpu_ratios = [
        results["gateway"]["gateway_cpu_ms"] / results["pass-through"]["pass-through_cpu_ms"]
        for results in rounds
        if "gateway_cpu_ms" in results["gateway"]
    ]
    if cpu_ratios:
        median = statistics.median(cpu_ratios)
        print(f"CPU per {unit}, gateway vs pass-through: median {median:.2f}")


def _ratio(results: dict[str, dict[str, float]]) -> float:
    return results["gateway"]["throughput_rps"] / results["pass-through"]["throughput_rps"]


def _report(results: dict[str, dict[str, float]], unit: str) -> None:
    base = results["pass-through"]
    for case, result in results.items():
        print(
            f"    {case:<14} {result['throughput_rps']:8.0f} {unit}s/s"
            f"  p50 {result['p50_ms']:7.2f} ms"
            f"  p99 {result['p99_ms']:7.2f} ms  throughput vs pass-through "
            f"{result['throughput_rps'] / base['throughput_rps']:5.2f}"
        )
    if "gateway_cpu_ms" in results["gateway"]:
        own = results["gateway"]["gateway_cpu_ms"]
        bare = base["pass-through_cpu_ms"]
        behind = (
            f"; the provider's {results['gateway']['provider_cpu_ms']:.2f} ms behind the gateway,"
            f" {base['provider_cpu_ms']:.2f} ms behind the pass-through"
            if "provider_cpu_ms" in base
            else ""
        )
        print(
            f"    CPU per {unit}: gateway {own:.2f} ms, pass-through {bare:.2f} ms "
            f"(ratio {own / bare:.2f}){behind}"
        )
    if "database_cpu_ms" in results["gateway"]:
        print(
            f"    the database server's CPU per gateway {unit}: "
            f"{results['gateway']['database_cpu_ms']:.2f} ms (not counted above)"
        )


def _start(arguments: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *arguments],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"nothing answers on port {port}")


def _database_server(database_url: str) -> int | None:
    """The PostgreSQL server's main process, if it runs on this machine (its backends are
    its children); None for SQLite, which runs inside the gateway's own process."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" or not cpu.available():
        return None
    engine = create_engine(url.set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            backend = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
            return cpu.parent(backend)  # while the backend lives: it ends with the connection
    finally:
        engine.dispose()


def _provider_token(env: dict[str, str], issuer: str) -> str:
    """A token like the ones the gateway sends the provider, long-lived for the pass-through."""
    settings = Settings(key_dir=Path(env["GATEWAY_KEY_DIR"]), issuer=issuer)
    return issue_access_token(
        open_key_store(settings),
        issuer=issuer,
        audience=ABH,
        client_id="gateway",
        scope="gateway:fetch",
        lifetime=3600,
    )


def _measure(
    gateway_url: str,
    passthrough_port: int,
    keys: dict[str, OKPKey],
    options: argparse.Namespace,
    servers: dict[str, int],
) -> list[dict[str, dict[str, float]]]:
    """Each round measures the pass-through, then the gateway: taking turns, a burst of
    load from elsewhere on a shared machine spoils one round, not one side."""
    token_endpoint = f"{gateway_url}/oauth/token"
    persons = [person_references(number) for number in range(options.persons)]
    with GatewayClient(gateway_url, TokenSource(token_endpoint, AgencyKey(JC, keys[JC]))) as jc:
        now = datetime.now(UTC)
        for references in persons:
            _record_consent(jc, references, now)
    turns = itertools.count()  # next() on it is atomic: safe from the client threads
    passthrough_url = f"http://127.0.0.1:{passthrough_port}"

    def tokens(agency: str, scope: str | None = None) -> TokenSource:
        return TokenSource(token_endpoint, AgencyKey(agency, keys[agency]), scope=scope)

    with (
        tokens(JC) as querier,
        tokens(ABH, "exchange:send") as sender,
        tokens(JC, "exchange:receive") as recipient,
    ):

        def query_through_gateway(client: httpx.Client) -> int:
            question = {
                "provider": ABH,
                "subject_ref": persons[next(turns) % len(persons)][JC],
                "categories": ["residence_status"],
                "purpose": "labour_market_integration",
            }
            url = f"{gateway_url}/v1/exchanges"
            return client.post(url, json=question, headers=_bearer(querier)).status_code

        def query_pass_through(client: httpx.Client) -> int:
            fetch = {
                "exchange_id": "bench",
                "subject_ref": persons[next(turns) % len(persons)][ABH],
                "categories": ["residence_status"],
                "purpose": "labour_market_integration",
            }
            return client.post(f"{passthrough_url}/query", json=fetch).status_code

        def cycle_through_gateway(client: httpx.Client) -> int:
            return _message_cycle(client, gateway_url, persons, turns, sender, recipient)

        def cycle_through_relay(client: httpx.Client) -> int:
            return _message_cycle(client, passthrough_url, persons, turns)

        cases = {
            "query": (("pass-through", query_pass_through), ("gateway", query_through_gateway)),
            "messages": (("pass-through", cycle_through_relay), ("gateway", cycle_through_gateway)),
        }[options.case]
        for _, call in cases:  # warm both up: connections, statement caches
            _run(call, max(50, options.requests // 10), options.concurrency)
        return [
            {
                name: _run(call, options.requests, options.concurrency, servers)
                for name, call in cases
            }
            for _ in range(options.rounds)
        ]


def _message_cycle(
    client: httpx.Client,
    base_url: str,
    persons: list[dict[str, str]],
    turns: Iterator[int],
    sender: TokenSource | None = None,
    recipient: TokenSource | None = None,
) -> int:
    """One message sent by the foreigners' office, fetched and acknowledged by the job centre;
    the first status that is not the expected one, or 200 (without tokens: the bare relay)."""
    message = {
        "recipient": JC,
        "subject_ref": persons[next(turns) % len(persons)][ABH],
        "category": "case_conference",
        "purpose": "case_management",
        "payload": CONFERENCE,
    }
    sent = client.post(f"{base_url}/v1/messages", json=message, headers=_bearer(sender))
    if sent.status_code != 202:
        return sent.status_code
    url = f"{base_url}/v1/messages/{sent.json()['message_id']}"
    fetched = client.get(url, headers=_bearer(recipient))
    if fetched.status_code != 200:
        return fetched.status_code
    return client.post(f"{url}/ack", headers=_bearer(recipient)).status_code


def _bearer(tokens: TokenSource | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.token()}"} if tokens else {}


def _record_consent(jobcenter: GatewayClient, references: dict[str, str], now: datetime) -> None:
    jobcenter.record_consent(
        {
            "subject": {"references": references, "age_band": "adult"},
            "given_by": [{"role": "data_subject"}],
            "grants": [
                {
                    "from": ABH,
                    "to": JC,
                    "categories": ["residence_status"],
                    "purposes": ["labour_market_integration"],
                },
                {  # the messages case
                    "from": ABH,
                    "to": JC,
                    "categories": ["case_conference"],
                    "purposes": ["case_management"],
                },
            ],
            "valid_from": now.isoformat(),
            "valid_until": (now + timedelta(days=30)).isoformat(),
            "notice": {
                "form_id": "cross-agency-case-management",
                "form_version": "1",
                "language": "de",
            },
            "evidence": {"channel": "paper_signed"},
        }
    )


if __name__ == "__main__":
    main()
