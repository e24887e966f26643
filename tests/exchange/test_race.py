"""Withdrawal racing with queries: whatever the interleaving, every query that returned data
committed its release before the withdrawal did, so the recipient's notice lists it; none
returns data after."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.exchange.test_query import World, world  # noqa: F401  (the fixture)

QUERY = {
    "provider": "koeln-auslaenderbehoerde",
    "subject_ref": "JC-4711",
    "categories": ["residence_status"],
    "purpose": "labour_market_integration",
}
QUERIERS = 4
QUERIES_EACH = 6


@pytest.mark.parametrize("round_", range(3))
def test_no_data_after_a_withdrawal_commits(world: World, round_: int):  # noqa: F811
    consent_id = world.record_consent()
    headers = world.token(world.jc)
    withdraw_headers = world.token(world.abh)
    start = threading.Barrier(QUERIERS + 1)
    first_release = threading.Event()
    released: list[str] = []
    lock = threading.Lock()

    def keep_asking() -> None:
        body = QUERY
        with httpx.Client(timeout=30) as client:
            start.wait()
            for _ in range(QUERIES_EACH):
                answer = client.post(
                    f"{world.gateway.url}/v1/exchanges", json=body, headers=headers
                )
                assert answer.status_code in (200, 403), answer.text
                if answer.status_code == 200:
                    with lock:
                        released.append(answer.json()["exchange_id"])
                    first_release.set()
                else:
                    assert answer.json()["reason"] == "consent_withdrawn"

    threads = [threading.Thread(target=keep_asking) for _ in range(QUERIERS)]
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

    # After the withdrawal, nothing more is released ...
    after = httpx.post(f"{world.gateway.url}/v1/exchanges", json=QUERY, headers=headers)
    assert after.status_code == 403
    # ... and everything released before it is in the recipient's notice.
    notices = httpx.get(f"{world.gateway.url}/v1/notices", headers=headers).json()["notices"]
    listed = {exchange for notice in notices for exchange in notice["exchanges"]}
    assert released
    assert set(released) == listed
