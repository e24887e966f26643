"""Benchmarks of the gateway's request path, reported as ratios against a baseline of the same run.

Starts ``gateway serve`` (a real server, in its own process) on a free loopback port with a fresh
database, and measures over HTTP:

- ``baseline``: ``GET /healthz`` (the framework and envelope, nothing else),
- ``bearer``:   ``GET /v1/me`` with an access token (signature, claims, client lookup),
- ``token``:    ``POST /oauth/token`` with a fresh private_key_jwt assertion each time.

Usage: ``python -m benchmarks.run [--requests N] [--concurrency C] [--workers W]
[--database-url URL]``. Nothing here is a pass/fail threshold; the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from pathlib import Path

import httpx

from benchmarks import cpu
from tests.support import (
    client_assertion,
    free_port,
    fresh_database,
    new_ed25519,
    public_jwks,
    token_form,
)


def main() -> None:
    options = _arguments()
    with (
        tempfile.TemporaryDirectory(prefix="gateway-bench-") as folder,
        fresh_database(options.database_url, "bench") as database_url,
    ):
        work = Path(folder)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = os.environ | {
            "GATEWAY_DATABASE_URL": database_url,
            "GATEWAY_KEY_DIR": str(work / "keys"),
            "GATEWAY_ISSUER": url,
            "GATEWAY_LOG_LEVEL": "WARNING",
        }
        key = new_ed25519()
        (work / "jwks.json").write_text(public_jwks(key))
        gateway = [sys.executable, "-m", "gateway"]
        added = subprocess.run(
            [*gateway, "agency", "add", "--id", "bench-jobcenter", "--kind", "job_centre",
             "--municipality", "bench", "--name", "Bench", "--jwks", str(work / "jwks.json")],
            env=env, cwd=work, check=False, capture_output=True, text=True,
        )  # fmt: skip
        if added.returncode != 0:
            raise SystemExit(f"could not register the benchmark agency: {added.stderr}")
        server = subprocess.Popen(
            [*gateway, "serve", "--port", str(port), "--workers", str(options.workers)],
            env=env,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_ready(url)
            results = _measure(url, key, options, server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    _report(results, options)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to make a fresh database on (default SQLite)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser.parse_args()


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the gateway did not become ready")


def _measure(url: str, key, options: argparse.Namespace, pid: int) -> dict[str, dict[str, float]]:
    token_endpoint = f"{url}/oauth/token"
    first = httpx.post(
        token_endpoint, data=token_form(client_assertion("bench-jobcenter", key, token_endpoint))
    )
    first.raise_for_status()
    bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}

    def baseline(client: httpx.Client) -> int:
        return client.get(f"{url}/healthz").status_code

    def authenticated(client: httpx.Client) -> int:
        return client.get(f"{url}/v1/me", headers=bearer).status_code

    def token(client: httpx.Client) -> int:
        assertion = client_assertion("bench-jobcenter", key, token_endpoint)
        return client.post(token_endpoint, data=token_form(assertion)).status_code

    results = {}
    for name, call in (("baseline", baseline), ("bearer", authenticated), ("token", token)):
        _run(call, max(50, options.requests // 10), options.concurrency)  # warm-up
        results[name] = _run(call, options.requests, options.concurrency, {"gateway": pid})
    return results


def _run(
    call: Callable[[httpx.Client], int],
    requests: int,
    concurrency: int,
    servers: dict[str, int] | None = None,
) -> dict[str, float]:
    """Run ``requests`` calls from ``concurrency`` threads; report throughput, p50/p99 and,
    for each named server process (name -> pid), the CPU milliseconds it spent per request."""
    per_worker = max(1, requests // concurrency)
    servers = servers if servers and cpu.available() else {}

    def worker(_: int) -> list[float]:
        latencies = []
        with httpx.Client(timeout=30) as client:
            for _ in range(per_worker):
                started = time.perf_counter()
                status = call(client)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"unexpected status {status}")
        return latencies

    spent = {name: cpu.tree_seconds(pid) for name, pid in servers.items()}
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = sorted(chain.from_iterable(pool.map(worker, range(concurrency))))
    elapsed = time.perf_counter() - started
    result = {
        "requests": len(latencies),
        "throughput_rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }
    for name, pid in servers.items():
        result[f"{name}_cpu_ms"] = (cpu.tree_seconds(pid) - spent[name]) * 1000 / len(latencies)
    return result


def _report(results: dict[str, dict[str, float]], options: argparse.Namespace) -> None:
    base = results["baseline"]
    for result in results.values():
        result["p50_vs_baseline"] = result["p50_ms"] / base["p50_ms"]
        result["throughput_vs_baseline"] = result["throughput_rps"] / base["throughput_rps"]
    if options.json:
        print(json.dumps(results, indent=2))
        return
    database = "PostgreSQL" if options.database_url else "SQLite"
    print(f"{database}, {options.workers} worker(s), concurrency {options.concurrency}")
    columns = ("req/s", "p50 ms", "p99 ms", "p50 vs base", "rps vs base", "CPU ms/req")
    print(f"{'case':<10}" + "".join(f"{c:>12}" for c in columns))
    for name, r in results.items():
        print(
            f"{name:<10}{r['throughput_rps']:>12.0f}{r['p50_ms']:>12.2f}{r['p99_ms']:>12.2f}"
            f"{r['p50_vs_baseline']:>12.2f}{r['throughput_vs_baseline']:>12.2f}"
            f"{r.get('gateway_cpu_ms', float('nan')):>12.2f}"
        )


if __name__ == "__main__":
    main()
