"""Timing: a release decides again at the moment it commits, and that moment is the one that
counts, however long it waited for locks or for its turn in the group commit. A consent that
ran out meanwhile, or an agency disabled meanwhile, stops it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.consents import service as consents
from gateway.consents.tables import ConsentRecord, ConsentVersion
from gateway.exchange import service as exchange
from gateway.persons import service as persons
from gateway.persons.service import Action
from gateway.release import ledger
from gateway.release.tables import Kind, Release
from tests.adversarial.conftest import ABH, AMIRA, CONFERENCE, CONTACTS, JA, JC, RESIDENCE, City
from tests.support import start_live_server

REFS = {JC: AMIRA[JC], ABH: AMIRA[ABH]}


@contextmanager
def holding_the_release(city: City, consent_id: str) -> Iterator[None]:
    """Hold what a release must wait for: SQLite's write lock, or the consent's row lock."""
    with city.runtime.database.transaction() as session:  # SQLite: BEGIN IMMEDIATE
        session.execute(
            select(ConsentRecord.id).where(ConsentRecord.id == consent_id).with_for_update()
        )
        yield


def _wait_for(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the query never got that far"
        time.sleep(0.02)


def test_a_consent_that_expires_while_its_release_waits_is_not_released(city: City):
    expires = datetime.now(UTC) + timedelta(seconds=6)
    answer = city.record(JC, REFS, RESIDENCE, valid_until=expires.isoformat())
    assert answer.status_code == 201, answer.text
    city.token(JC)  # taken now: a token's issue writes too
    with ThreadPoolExecutor(1) as pool:
        with holding_the_release(city, answer.json()["consent_id"]):
            asked = pool.submit(city.ask, JC, ABH, AMIRA[JC])
            _wait_for(lambda: city.fetches.get(ABH, 0) == 1)  # decided: permitted, then asked
            time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.3)
        response = asked.result(timeout=30)
    assert response.status_code == 403, response.text
    assert response.json()["reason"] == "consent_expired"
    assert [e["reason"] for e in city.audit("exchange.decided")] == ["consent_expired"]


def test_a_restriction_that_commits_during_a_release_waits_for_it(
    city: City, monkeypatch: pytest.MonkeyPatch
):
    """Art. 18: a DPO's restriction and a release in flight. The release holds the person's
    row from its decision to its commit, so the restriction waits for it (the data left
    before the restriction) and every release after it is refused: never does data leave
    after the restriction committed."""
    city.recorded(JC, REFS, RESIDENCE)
    city.token(JC)
    in_window, go, restricted = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []
    record = ledger.add

    def add(session: Any, rows: Any) -> None:  # decided again; not yet committed
        in_window.set()
        go.wait(10)
        seen.append(restricted.is_set())
        record(session, rows)

    def restrict() -> None:
        runtime = city.gateway.runtime
        persons.control(runtime.database, runtime.audit, Action.RESTRICT, agency=JC,
                        reference=AMIRA[JC], actor="anna.schmidt", note=None,
                        now=datetime.now(UTC))  # fmt: skip
        restricted.set()

    monkeypatch.setattr(ledger, "add", add)
    with ThreadPoolExecutor(2) as pool:
        asked = pool.submit(city.ask, JC, ABH, AMIRA[JC])
        assert in_window.wait(20)
        restricting = pool.submit(restrict)
        time.sleep(1.0)  # long enough for the restriction to commit, if nothing holds it
        go.set()
        response = asked.result(timeout=30)
        restricting.result(timeout=30)
    assert seen == [False]
    assert response.status_code == 200
    after = city.ask(JC, ABH, AMIRA[JC])
    assert after.status_code == 403
    assert after.json()["reason"] == "processing_restricted"


def test_a_disabling_that_commits_during_a_release_waits_for_it(
    city: City, monkeypatch: pytest.MonkeyPatch
):
    """A release decided on an enabled agency commits before that agency's disabling, or
    sees it: never does data leave after the disabling committed."""
    city.recorded(JC, REFS, RESIDENCE)
    city.token(JC)
    in_window, go, disabled = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []
    record = ledger.add

    def add(session: Any, rows: Any) -> None:  # decided again; not yet committed
        in_window.set()
        go.wait(10)
        seen.append(disabled.is_set())
        record(session, rows)

    def disable() -> None:
        city.gateway.clients.disable(JC)
        disabled.set()

    monkeypatch.setattr(ledger, "add", add)
    with ThreadPoolExecutor(2) as pool:
        asked = pool.submit(city.ask, JC, ABH, AMIRA[JC])
        assert in_window.wait(20)
        disabling = pool.submit(disable)
        time.sleep(1.0)  # long enough for the disabling to commit, if nothing holds it
        go.set()
        response = asked.result(timeout=30)
        disabling.result(timeout=30)
    assert seen == [False]
    assert response.status_code == 200
    assert city.ask(JC, ABH, AMIRA[JC]).status_code in (401, 403)  # and after it: nothing


# -- queries and fetches racing a withdrawal -----------------------------------------------------

INVITATION = {"recipient": JA, "subject_ref": AMIRA[JC], "category": "case_conference",
              "purpose": "case_management", "payload": CONFERENCE}  # fmt: skip
MESSAGES = 6
QUERIERS = FETCHERS = 3


@dataclass(frozen=True)
class Answered:
    """One request of the race, as its caller saw it."""

    kind: str  # "query" or "fetch"
    started: float  # time.monotonic() when it was sent
    status: int
    id: str  # the exchange's id (a 200 query) or the message's id (any fetch)
    reason: str | None


@pytest.mark.parametrize("instances", [1, 2])
def test_queries_and_fetches_racing_a_withdrawal_release_nothing_after_it(
    city: City, database_url: str, tmp_path: Path, instances: int
):
    """Queries and message fetches about one person, from several threads (and on two gateway
    instances), while the consent is withdrawn: once the withdrawal has committed, neither
    answers 200; every 200 is in the ledger with its permit entry, on a consent version that
    had not ended before it; and the notices list exactly the exchanges and the messages that
    got a 200."""
    references = {JC: AMIRA[JC], ABH: AMIRA[ABH], JA: AMIRA[JA]}
    consent = city.recorded(JC, references, RESIDENCE, CONTACTS)
    sent = []
    for _ in range(MESSAGES):
        accepted = city.post(JC, "/v1/messages", INVITATION)
        assert accepted.status_code == 202, accepted.text
        sent.append(accepted.json()["message_id"])
    headers = {agency: city.headers(agency) for agency in (JC, JA)}  # tokens taken now
    first = city.runtime.settings
    with ExitStack() as stack:
        urls = [city.url] + [
            stack.enter_context(
                start_live_server(
                    database_url, tmp_path / f"instance-{n}", key_dir=first.key_dir,
                    issuer=first.issuer,
                )
            ).url
            for n in range(1, instances)
        ]  # fmt: skip
        answered, withdrawn_at, withdrawn_wall = _race(
            city, urls, headers, consent["consent_id"], sent
        )

    # After the withdrawal committed (its answer came back), neither kind answered 200.
    assert not [a for a in answered if a.started > withdrawn_at and a.status == 200]
    assert {(a.kind, a.status, a.reason) for a in answered if a.status != 200} <= {
        ("query", 403, "consent_withdrawn"),
        ("fetch", 410, "consent_withdrawn"),
    }
    exchanges = [a.id for a in answered if a.kind == "query" and a.status == 200]
    fetched = Counter(a.id for a in answered if a.kind == "fetch" and a.status == 200)
    assert exchanges, "the withdrawal came once both kinds had released data"
    assert fetched, "the withdrawal came once both kinds had released data"

    # Every 200 is in the ledger, on a version that had not ended before it ...
    with city.runtime.database.transaction(read_only=True) as session:
        rows = session.execute(
            select(Release.kind, Release.id, Release.message_id, Release.consent_id,
                   Release.released_at, ConsentVersion.ended_at)
            .join(ConsentVersion, (ConsentVersion.consent_id == Release.consent_id)
                  & (ConsentVersion.version == Release.consent_version))
            .where(Release.kind != Kind.MESSAGE_ACCEPTED.value)
        ).all()  # fmt: skip
    assert {row.consent_id for row in rows} == {consent["consent_id"]}
    assert sorted(row.id for row in rows if row.kind == Kind.QUERY.value) == sorted(exchanges)
    assert Counter(row.message_id for row in rows if row.kind == Kind.MESSAGE_FETCHED.value) == (
        fetched
    )
    # None was released after the withdrawal committed (before its answer came back) ...
    assert not [row for row in rows if row.released_at > withdrawn_wall]
    # ... with its permit entry.
    permits = Counter(
        (entry["event"], entry["details"].get("exchange_id") or entry["details"]["message_id"])
        for entry in city.audit()
        if entry and entry["event"] in ("exchange.decided", "message.fetched")
        and entry.get("decision") == "permit"
    )  # fmt: skip
    assert permits == Counter(
        {("exchange.decided", exchange): 1 for exchange in exchanges}
        | {("message.fetched", message): count for message, count in fetched.items()}
    )

    # Each recipient's notice lists exactly what got a 200.
    (to_jc,) = city.get(JC, "/v1/notices").json()["notices"]
    (to_ja,) = city.get(JA, "/v1/notices").json()["notices"]
    assert (sorted(to_jc["exchanges"]), to_jc["messages"]) == (sorted(exchanges), [])
    assert (to_ja["exchanges"], sorted(to_ja["messages"])) == ([], sorted(fetched))
    # The messages are withheld, and nothing is released any more.
    for message_id in sent:
        gone = city.get(JA, f"/v1/messages/{message_id}")
        assert (gone.status_code, gone.json()["reason"]) == (410, "consent_withdrawn")
    assert city.ask(JC, ABH, AMIRA[JC]).status_code == 403
    # ... and the version's recorded end comes after every release that committed ahead of it.
    assert not [row for row in rows if row.ended_at < row.released_at]


def _race(
    city: City, urls: list[str], headers: dict[str, dict[str, str]], consent_id: str,
    sent: list[str],
) -> tuple[list[Answered], float, datetime]:  # fmt: skip
    """Ask and fetch from several threads; withdraw the consent once both kinds have released
    data; stop once every thread has had an answer to a request sent after the withdrawal's
    answer came back. The answers, and that moment (monotonic, and on the wall clock)."""
    answered: list[Answered] = []
    lock = threading.Lock()
    released = {"query": threading.Event(), "fetch": threading.Event()}
    withdrawn_at: list[float] = []  # time.monotonic()
    withdrawn_wall: list[datetime] = []
    stop = threading.Event()

    def note(answer: Answered, caught_up: threading.Event) -> None:
        with lock:
            answered.append(answer)
            if answer.status == 200:
                released[answer.kind].set()
            if withdrawn_at and answer.started > withdrawn_at[0]:
                caught_up.set()

    def keep_asking(url: str, caught_up: threading.Event) -> None:
        body = {"provider": ABH, "subject_ref": AMIRA[JC], "categories": ["residence_status"],
                "purpose": "labour_market_integration"}  # fmt: skip
        with httpx.Client(base_url=url, headers=headers[JC], timeout=60) as client:
            while not stop.is_set():
                started = time.monotonic()
                response = client.post("/v1/exchanges", json=body)
                answer = response.json()
                exchange_id = answer.get("exchange_id", "")
                note(Answered("query", started, response.status_code, exchange_id,
                              answer.get("reason")), caught_up)  # fmt: skip

    def keep_fetching(url: str, caught_up: threading.Event, offset: int) -> None:
        order = sent[offset:] + sent[:offset]  # the same messages, again and again
        with httpx.Client(base_url=url, headers=headers[JA], timeout=60) as client:
            while not stop.is_set():
                for message_id in order:
                    started = time.monotonic()
                    response = client.get(f"/v1/messages/{message_id}")
                    note(Answered("fetch", started, response.status_code, message_id,
                                  response.json().get("reason")), caught_up)  # fmt: skip

    caught_up = [threading.Event() for _ in range(QUERIERS + FETCHERS)]
    threads = [
        threading.Thread(target=keep_asking, args=(urls[n % len(urls)], caught_up[n]))
        for n in range(QUERIERS)
    ] + [
        threading.Thread(
            target=keep_fetching,
            args=(urls[n % len(urls)], caught_up[QUERIERS + n], n * len(sent) // FETCHERS),
        )
        for n in range(FETCHERS)
    ]
    for thread in threads:
        thread.start()
    try:
        assert all(event.wait(timeout=60) for event in released.values()), "nothing released"
        withdrawn = httpx.post(
            f"{city.url}/v1/consents/{consent_id}/withdraw",
            json={"channel": "in_person"},
            headers=headers[JC],
            timeout=60,
        )
        assert withdrawn.status_code == 200, withdrawn.text
        with lock:
            withdrawn_at.append(time.monotonic())
            withdrawn_wall.append(datetime.now(UTC))
        assert all(event.wait(timeout=60) for event in caught_up), "a thread never asked again"
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    return answered, withdrawn_at[0], withdrawn_wall[0]


def test_a_withdrawal_that_waits_for_a_release_ends_the_version_after_it(
    city: City, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A query's release holds the consent's lock when a withdrawal (on a second instance)
    arrives: the release commits first, so the version it rests on must end after it."""
    consent = city.recorded(JC, REFS, RESIDENCE)
    headers = city.headers(JC)
    holding, withdrawing, go = threading.Event(), threading.Event(), threading.Event()
    lock, visible = exchange.lock, consents._visible

    def lock_and_wait(session: Any, handover: Any) -> Any:
        held = lock(session, handover)  # the consent's lock (SQLite: the write lock)
        if not holding.is_set():
            holding.set()
            go.wait(20)  # the release decides (and takes its time) only after this
        return held

    def reach_for_the_lock(*args: Any, **kwargs: Any) -> Any:
        withdrawing.set()  # the withdrawal has taken its time; now it waits for the lock
        return visible(*args, **kwargs)

    monkeypatch.setattr(exchange, "lock", lock_and_wait)
    monkeypatch.setattr(consents, "_visible", reach_for_the_lock)
    first = city.runtime.settings
    with (
        start_live_server(
            database_url, tmp_path / "second", key_dir=first.key_dir, issuer=first.issuer
        ) as second,
        ThreadPoolExecutor(2) as pool,
    ):
        asked = pool.submit(city.ask, JC, ABH, AMIRA[JC])
        assert holding.wait(20)
        withdrawal = pool.submit(
            httpx.post,
            f"{second.url}/v1/consents/{consent['consent_id']}/withdraw",
            json={"channel": "in_person"},
            headers=headers,
            timeout=60,
        )
        assert withdrawing.wait(20)
        go.set()
        assert asked.result(timeout=60).status_code == 200  # released before the withdrawal
        assert withdrawal.result(timeout=60).status_code == 200
    with city.runtime.database.transaction(read_only=True) as session:
        released_at, ended_at = session.execute(
            select(Release.released_at, ConsentVersion.ended_at).join(
                ConsentVersion,
                (ConsentVersion.consent_id == Release.consent_id)
                & (ConsentVersion.version == Release.consent_version),
            )
        ).one()
    assert ended_at >= released_at
