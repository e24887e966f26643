"""Withdrawal racing with queries: whatever the interleaving, every query that returned data
committed its release before the withdrawal did, so the recipient's notice lists it; none
returns data after."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from tests.exchange.world import World
from tests.support import start_live_server

QUERY = {
    "provider": "koeln-auslaenderbehoerde",
    "subject_ref": "JC-4711",
    "categories": ["residence_status"],
    "purpose": "labour_market_integration",
}
QUERIERS = 4
QUERIES_EACH = 6
PATIENT = 30.0  # seconds: a provider answer is never late here, however loaded the machine


@pytest.fixture
def provider_timeout() -> float:
    return PATIENT


@pytest.mark.parametrize("round_", range(3))
def test_no_data_after_a_withdrawal_commits(world: World, round_: int):
    _race(world, [world.gateway.url])


@pytest.mark.parametrize("round_", range(3))
def test_no_data_after_a_withdrawal_commits_on_another_instance(
    world: World,
    tmp_path: Path,
    database_url: str,
    round_: int,
):
    """Two gateway instances on one database (as two processes or machines would be): the
    withdrawal goes to the first, queries to both."""
    first = world.gateway.runtime.settings
    with start_live_server(
        database_url,
        tmp_path / "second",
        key_dir=first.key_dir,
        issuer=first.issuer,
        provider_timeout=PATIENT,
    ) as second:
        _race(world, [world.gateway.url, second.url])


def _race(world: World, gateways: list[str]) -> None:
    consent_id = world.record_consent()
    headers = world.token(world.jc)
    withdraw_headers = world.token(world.abh)
    start = threading.Barrier(QUERIERS + 1)
    first_release = threading.Event()
    released: list[str] = []
    lock = threading.Lock()

    def keep_asking(gateway: str) -> None:
        with httpx.Client(timeout=30) as client:
            start.wait()
            for _ in range(QUERIES_EACH):
                answer = client.post(f"{gateway}/v1/exchanges", json=QUERY, headers=headers)
                assert answer.status_code in (200, 403), answer.text
                if answer.status_code == 200:
                    with lock:
                        released.append(answer.json()["exchange_id"])
                    first_release.set()
                else:
                    assert answer.json()["reason"] == "consent_withdrawn"

    threads = [
        threading.Thread(target=keep_asking, args=(gateways[number % len(gateways)],))
        for number in range(QUERIERS)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    # Withdraw once data has flowed, while the other queries are still under way.
    assert first_release.wait(timeout=60)
    withdrawn = httpx.post(
        f"{world.gateway.url}/v1/consents/{consent_id}/withdraw",
        json={"channel": "in_person"},
        headers=withdraw_headers,
        timeout=30,
    )
    assert withdrawn.status_code == 200
    for thread in threads:
        thread.join()

    # After the withdrawal, nothing more is released, by any instance ...
    for gateway in gateways:
        after = httpx.post(f"{gateway}/v1/exchanges", json=QUERY, headers=headers)
        assert after.status_code == 403
    # ... and everything released before it is in the recipient's notice.
    notices = httpx.get(f"{world.gateway.url}/v1/notices", headers=headers).json()["notices"]
    listed = {exchange for notice in notices for exchange in notice["exchanges"]}
    assert released
    assert set(released) == listed
