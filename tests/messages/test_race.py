"""Withdrawal racing with fetches of pending messages, over real HTTP: every message delivered
was fetched before the withdrawal committed (so the recipient's notice lists it), and no fetch
that starts after the withdrawal returned delivers anything."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from consent.vocabulary import AgencyKind
from tests.messages.conftest import JA, JC, consent_body, invitation
from tests.support import LiveServer, client_assertion, start_live_server, token_form

MESSAGES = 12
FETCHERS = 4


@pytest.fixture
def gateway(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    with start_live_server(database_url, tmp_path) as server:
        clients = server.clients
        server.agencies = {  # type: ignore[attr-defined]
            JC: clients.agency(JC, AgencyKind.JOB_CENTRE),
            JA: clients.agency(JA, AgencyKind.YOUTH_WELFARE_OFFICE),
            "koeln-auslaenderbehoerde": clients.agency(
                "koeln-auslaenderbehoerde", AgencyKind.FOREIGNERS_OFFICE
            ),
            "koeln-sozialamt": clients.agency("koeln-sozialamt", AgencyKind.SOCIAL_OFFICE),
        }
        yield server


def _headers(gateway: LiveServer, agency_id: str) -> dict[str, str]:
    agency = gateway.agencies[agency_id]  # type: ignore[attr-defined]
    form = token_form(client_assertion(agency.id, agency.key, gateway.token_endpoint))
    token = httpx.post(gateway.token_endpoint, data=form).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("round_", range(3))
def test_nothing_withdrawn_is_delivered_after_the_withdrawal_commits(
    gateway: LiveServer, round_: int
):
    url, jc, ja = gateway.url, _headers(gateway, JC), _headers(gateway, JA)
    recorded = httpx.post(f"{url}/v1/consents", json=consent_body(), headers=jc)
    consent_id = recorded.json()["consent_id"]
    sent = [
        httpx.post(f"{url}/v1/messages", json=invitation(), headers=jc).json()["message_id"]
        for _ in range(MESSAGES)
    ]
    delivered: set[str] = set()
    late: list[str] = []  # delivered by fetches that started after the withdrawal returned
    withdrawn_at: list[float] = []
    first = threading.Event()
    lock = threading.Lock()

    def keep_fetching(offset: int) -> None:
        order = sent[offset:] + sent[:offset]
        with httpx.Client(timeout=30) as client:
            for _ in range(3):
                for message_id in order:
                    started = time.monotonic()
                    answer = client.get(f"{url}/v1/messages/{message_id}", headers=ja)
                    assert answer.status_code in (200, 410), answer.text
                    if answer.status_code == 410:
                        assert answer.json()["reason"] == "consent_withdrawn"
                        continue
                    with lock:
                        delivered.add(message_id)
                        if withdrawn_at and started > withdrawn_at[0]:
                            late.append(message_id)
                    first.set()

    fetchers = [
        threading.Thread(target=keep_fetching, args=(n * MESSAGES // FETCHERS,))
        for n in range(FETCHERS)
    ]
    for fetcher in fetchers:
        fetcher.start()
    assert first.wait(timeout=60)
    withdrawal = httpx.post(
        f"{url}/v1/consents/{consent_id}/withdraw",
        json={"channel": "in_person"},
        headers=jc,
        timeout=30,
    )
    assert withdrawal.status_code == 200
    with lock:
        withdrawn_at.append(time.monotonic())
    for fetcher in fetchers:
        fetcher.join()

    assert late == []
    for message_id in sent:
        after = httpx.get(f"{url}/v1/messages/{message_id}", headers=ja)
        assert after.status_code == 410
    (notice,) = httpx.get(f"{url}/v1/notices", headers=ja).json()["notices"]
    assert delivered
    assert set(notice["messages"]) == delivered
