"""The DPO's emergency-access pages over a real emergency query (the youth welfare office asks
the foreigners' office's system through a live gateway; the DPO pages run on the same
runtime): every window listed at once with its state, no file reference, case number or
justification anywhere until a DPO reads it (on record first), the review and the deferral as
CSRF-checked forms, each on record without the DPO's words, refusals said in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from gateway.audit.events import EventType
from gateway.audit.service import decode
from gateway.audit.tables import AuditEntry
from gateway.emergency.tables import EmergencyUse, EmergencyWindow
from gateway.runtime import Runtime
from tests.dpo.pages import facts, table
from tests.dpo.seeded import USER, csrf_of
from tests.emergency.world import JA, JUSTIFICATION, Emergency
from tests.exchange.conftest import gateway_settings, provider_timeout, world
from tests.exchange.world import ABH, World

__all__ = ["gateway_settings", "provider_timeout", "world"]

COMMENT = "The reports of the neighbours were specific; the parents were not reachable for days."
REASON = "The father is the suspected danger; telling him now would put the child at risk."
# What must never stand on a page until a DPO reads the justification: the offices' file
# references, the case number and the justification's text.
SECRETS = ("JA-77", "ABH-0815", JUSTIFICATION["case_number"], JUSTIFICATION["text"][:30])


@pytest.fixture
def runtime(world: World) -> Runtime:
    """The DPO pages run on the live gateway's runtime (one database, one audit log)."""
    return world.gateway.runtime


@pytest.fixture
def emergency(world: World) -> Emergency:
    return Emergency(world)


@pytest.fixture
def asked(emergency: Emergency) -> dict[str, Any]:
    """One real emergency query: its exchange id and window."""
    emergency.grant()
    emergency.known_from_a_consent()
    response = emergency.ask()
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _window(asked: dict[str, Any]) -> str:
    return str(asked["emergency_window"]["id"])


def _entries(runtime: Runtime, event: EventType) -> list[dict[str, Any]]:
    with runtime.database.transaction(read_only=True) as session:
        bodies = session.scalars(select(AuditEntry.body).where(AuditEntry.event == event.value))
        return [decode(body) for body in bodies if body]


def _post(client: TestClient, window: str, action: str, **fields: str):
    token = csrf_of(client.get(f"/dpo/emergency/{window}").text)
    return client.post(f"/dpo/emergency/{window}/{action}", data={"csrf_token": token, **fields})


def _stored(runtime: Runtime, window: str) -> EmergencyWindow:
    with runtime.database.transaction(read_only=True) as session:
        found = session.get(EmergencyWindow, window)
        assert found is not None
        session.expunge(found)
        return found


def test_the_list_and_the_window_show_the_emergency_query_without_reference_or_justification(
    signed_in: TestClient, runtime: Runtime, asked: dict[str, Any]
):
    listed = signed_in.get("/dpo/emergency")
    assert listed.status_code == 200
    assert listed.headers["cache-control"] == "no-store"
    (row,) = table(listed.text, "Emergency access, newest first")
    opened, asking, providing, reason, uses, person, state, due = row
    assert asked["emergency_window"]["opened_at"][:10] in opened.replace("\u2011", "-")
    assert asked["emergency_window"]["review_due_at"][:10] in due.replace("\u2011", "-")
    assert (asking, providing) == (f"Agency {JA}", f"Agency {ABH}")
    assert (reason, uses, state) == ("acute danger to a child", "1", "open: emergency queries "
                                     "still possible")  # fmt: skip
    with runtime.database.transaction(read_only=True) as session:
        subject = session.get(EmergencyWindow, _window(asked)).subject_id  # type: ignore[union-attr]
    pseudonym = runtime.audit.pseudonymizer.pseudonym(subject)
    assert person == pseudonym.rpartition(":")[2][:6] + "…"
    assert f'href="/dpo/emergency/{_window(asked)}"' in listed.text

    shown = signed_in.get(f"/dpo/emergency/{_window(asked)}")
    assert shown.status_code == 200
    assert pseudonym in shown.text
    (use,) = table(shown.text, "Emergency queries")
    assert use[1:5] == [f"Agency {ABH}", "residence status", "child and youth welfare",
                        "acute danger to a child"]  # fmt: skip
    assert "Record the review" in shown.text
    assert "Defer showing it" in shown.text
    for page in (listed, shown):
        assert subject not in page.text
        for secret in SECRETS:
            assert secret not in page.text


def test_reading_a_justification_is_on_record_before_it_is_shown_and_only_in_that_answer(
    signed_in: TestClient, runtime: Runtime, asked: dict[str, Any]
):
    window, use = _window(asked), asked["exchange_id"]
    read = _post(signed_in, window, "justification", use=use)

    assert read.status_code == 200
    assert read.headers["cache-control"] == "no-store"
    assert JUSTIFICATION["case_number"] in read.text
    assert JUSTIFICATION["text"] in read.text
    assert "yes: it is the justification the log recorded" in read.text
    (entry,) = _entries(runtime, EventType.EMERGENCY_JUSTIFICATION_READ)
    assert entry["actor"] == USER
    assert entry["details"] == {"emergency_window": window, "exchange_id": use}
    for secret in SECRETS:
        assert secret not in str(entry)
    # Not kept anywhere the browser finds it again: the window's page has none of it.
    again = signed_in.get(f"/dpo/emergency/{window}")
    assert JUSTIFICATION["case_number"] not in again.text
    assert JUSTIFICATION["text"] not in again.text


def test_a_justification_whose_reading_cannot_be_recorded_is_not_shown(
    signed_in: TestClient, runtime: Runtime, asked: dict[str, Any], monkeypatch
):
    token = csrf_of(signed_in.get(f"/dpo/emergency/{_window(asked)}").text)

    def failing(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit log cannot be written")

    monkeypatch.setattr(runtime.audit, "record", failing)
    read = signed_in.post(
        f"/dpo/emergency/{_window(asked)}/justification",
        data={"csrf_token": token, "use": asked["exchange_id"]},
    )
    assert read.status_code == 500
    assert JUSTIFICATION["case_number"] not in read.text
    assert JUSTIFICATION["text"] not in read.text


def test_a_use_of_another_window_or_an_unknown_window_is_no_such_page_and_nothing_is_read(
    signed_in: TestClient, runtime: Runtime, asked: dict[str, Any]
):
    unknown = "00000000-0000-4000-8000-000000000000"
    for window in (unknown, "not-a-window"):
        missing = signed_in.get(f"/dpo/emergency/{window}")
        assert missing.status_code == 404
        assert "There is no such page." in missing.text
    token = csrf_of(signed_in.get(f"/dpo/emergency/{_window(asked)}").text)
    for window, use in ((unknown, asked["exchange_id"]), (_window(asked), unknown)):
        read = signed_in.post(
            f"/dpo/emergency/{window}/justification", data={"csrf_token": token, "use": use}
        )
        assert read.status_code == 404
        assert JUSTIFICATION["text"] not in read.text
    assert _entries(runtime, EventType.EMERGENCY_JUSTIFICATION_READ) == []


def test_the_forms_need_the_sessions_csrf_token(
    signed_in: TestClient, runtime: Runtime, asked: dict[str, Any]
):
    window = _window(asked)
    read = signed_in.post(
        f"/dpo/emergency/{window}/justification", data={"use": asked["exchange_id"]}
    )
    reviewed = signed_in.post(
        f"/dpo/emergency/{window}/review",
        data={"csrf_token": "forged", "verdict": "justified", "comment": COMMENT},
    )
    assert (read.status_code, reviewed.status_code) == (403, 403)
    assert _entries(runtime, EventType.EMERGENCY_JUSTIFICATION_READ) == []
    assert _stored(runtime, window).reviewed_at is None


def test_a_review_is_recorded_with_its_verdict_and_the_comment_only_as_a_digest(
    signed_in: TestClient, runtime: Runtime, asked: dict[str, Any]
):
    window = _window(asked)
    reviewed = _post(signed_in, window, "review", verdict="justified", comment=COMMENT)

    assert reviewed.status_code == 303
    shown = signed_in.get(reviewed.headers["location"])
    assert "Your review is recorded." in shown.text
    assert COMMENT in shown.text  # the DPO's words stay on the page ...
    assert "Record the review" not in shown.text
    (entry,) = _entries(runtime, EventType.EMERGENCY_REVIEWED)
    assert entry["actor"] == USER
    assert entry["details"] == {"emergency_window": window, "verdict": "justified"}
    assert entry["payload_hmac"]
    assert COMMENT not in str(entry)  # ... not in the log
    assert "neighbours" not in str(entry)
    (row,) = table(signed_in.get("/dpo/emergency").text, "Emergency access, newest first")
    assert row[6] == "reviewed: justified"


def test_a_review_without_a_comment_is_refused_and_changes_nothing(
    signed_in: TestClient, runtime: Runtime, asked: dict[str, Any]
):
    window = _window(asked)
    for fields in ({"verdict": "not_justified", "comment": " "}, {"comment": COMMENT}):
        refused = _post(signed_in, window, "review", **fields)
        assert refused.status_code == 422
        assert "Nothing was changed:" in refused.text
    assert "Please write a comment" in _post(signed_in, window, "review", verdict="justified").text
    assert "Please choose whether it was justified." in refused.text
    assert COMMENT in refused.text  # what was typed stays in the form
    assert _stored(runtime, window).reviewed_at is None
    assert _entries(runtime, EventType.EMERGENCY_REVIEWED) == []


def test_a_second_review_is_refused(signed_in: TestClient, runtime: Runtime, asked):
    window = _window(asked)
    first = _post(signed_in, window, "review", verdict="justified", comment=COMMENT)
    assert first.status_code == 303
    again = _post(signed_in, window, "review", verdict="not_justified", comment="Second thoughts.")
    assert again.status_code == 422
    assert "This emergency access has been reviewed already." in again.text
    assert _stored(runtime, window).verdict == "justified"
    assert len(_entries(runtime, EventType.EMERGENCY_REVIEWED)) == 1


def test_a_deferral_beyond_the_longest_allowed_is_refused_and_changes_nothing(
    signed_in: TestClient, runtime: Runtime, asked: dict[str, Any]
):
    window = _window(asked)
    longest = runtime.settings.emergency_max_deferral_days
    latest = (datetime.fromisoformat(asked["emergency_window"]["opened_at"])
              + timedelta(days=longest)).date()  # fmt: skip
    page = signed_in.get(f"/dpo/emergency/{window}").text
    assert f'max="{latest.isoformat()}"' in page  # the page says the latest allowed date
    too_late = (latest + timedelta(days=1)).isoformat()

    refused = _post(signed_in, window, "defer", until=too_late, reason=REASON)
    assert refused.status_code == 422
    assert f"at most {longest} days" in refused.text
    assert latest.isoformat() in refused.text
    past = _post(signed_in, window, "defer", until="2020-01-01", reason=REASON)
    assert "The date must lie in the future." in past.text
    no_reason = _post(signed_in, window, "defer", until=latest.isoformat(), reason="")
    assert "Please give a reason for deferring." in no_reason.text
    assert _stored(runtime, window).deferred_until is None
    assert _entries(runtime, EventType.EMERGENCY_DISCLOSURE_DEFERRED) == []


def test_a_dpo_defers_showing_it_and_shows_it_again_each_on_record(
    signed_in: TestClient, runtime: Runtime, asked: dict[str, Any]
):
    window = _window(asked)
    until = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    deferred = _post(signed_in, window, "defer", until=until, reason=REASON)

    assert deferred.status_code == 303
    shown = signed_in.get(deferred.headers["location"]).text
    assert "Showing it to the person is deferred." in shown
    assert REASON in shown
    (entry,) = _entries(runtime, EventType.EMERGENCY_DISCLOSURE_DEFERRED)
    assert (entry["actor"], entry["details"]["until"][:10]) == (USER, until)
    assert REASON not in str(entry)
    (row,) = table(signed_in.get("/dpo/emergency").text, "Emergency access, newest first")
    assert f"deferred until {until}" in row[6]

    resumed = _post(signed_in, window, "end-deferral")
    assert resumed.status_code == 303
    shown = signed_in.get(resumed.headers["location"]).text
    assert "The person is shown this emergency access from now on." in shown
    (entry,) = _entries(runtime, EventType.EMERGENCY_DISCLOSURE_RESUMED)
    assert entry["actor"] == USER
    assert entry["details"] == {"emergency_window": window}
    assert "Show it to the person now" not in shown
    again = _post(signed_in, window, "end-deferral")
    assert "Showing this emergency access is not deferred." in again.text


def test_an_overdue_review_stands_out_on_the_list_and_the_overview(
    signed_in: TestClient, runtime: Runtime, asked: dict[str, Any]
):
    before = facts(signed_in.get("/dpo/overview").text)
    assert before["Emergency queries that released data"] == "1"
    assert (before["Reviews open"], before["Reviews overdue"]) == ("1", "0")
    with runtime.database.transaction() as session:
        session.execute(
            update(EmergencyWindow)
            .where(EmergencyWindow.id == _window(asked))
            .values(review_due_at=datetime.now(UTC) - timedelta(hours=1))
        )

    listed = signed_in.get("/dpo/emergency").text
    (row,) = table(listed, "Emergency access, newest first")
    assert row[6] == "⚠ review overdue"
    assert '<tr class="overdue">' in listed
    assert "Reviews overdue: 1" in listed
    overview = signed_in.get("/dpo/overview").text
    assert facts(overview)["Reviews overdue"] == "⚠ 1"
    assert "Reviews overdue: 1" in overview
    assert 'href="/dpo/emergency"' in overview


def test_the_page_is_in_the_navigation_and_speaks_every_dpo_language(
    signed_in: TestClient, asked: dict[str, Any]
):
    english = signed_in.get("/dpo/overview").text
    assert '<a href="/dpo/emergency"' in english
    for code, heading in (("de", "Notfallzugriff"), ("ar", 'dir="rtl"')):
        page = signed_in.get(f"/dpo/emergency/{_window(asked)}?lang={code}")
        assert page.status_code == 200
        assert heading in page.text
        assert "Record the review" not in page.text


def test_a_justification_no_longer_kept_is_said_in_words_and_the_look_is_still_on_record(
    signed_in: TestClient, runtime: Runtime, asked: dict[str, Any]
):
    with runtime.database.transaction() as session:
        session.execute(
            update(EmergencyUse)
            .where(EmergencyUse.id == asked["exchange_id"])
            .values(key_id=None, wrapped_key=None, nonce=None, ciphertext=None)
        )
    read = _post(signed_in, _window(asked), "justification", use=asked["exchange_id"])
    assert read.status_code == 422
    assert "The justification is no longer kept." in read.text
    assert len(_entries(runtime, EventType.EMERGENCY_JUSTIFICATION_READ)) == 1


def test_the_access_report_page_and_its_download_mark_what_the_person_may_not_see_yet(
    signed_in: TestClient, runtime: Runtime, asked: dict[str, Any]
):
    def report(kind: str | None = None):
        token = csrf_of(signed_in.get("/dpo/report").text)
        fields = {"csrf_token": token, "agency": JA, "reference": "JA-77"}
        if kind is None:
            return signed_in.post("/dpo/report", data=fields).text
        return signed_in.post("/dpo/report/download", data={**fields, "format": kind}).text

    assert "⏸" not in report()
    posted = _post(signed_in, _window(asked), "defer", until=(datetime.now(UTC) +
                   timedelta(days=5)).date().isoformat(), reason=REASON)  # fmt: skip
    assert posted.status_code in (200, 303), posted.text

    page = report()  # the query, and the deferral itself (it would give the query away)
    assert "Not yet for the person: 2 records of emergency access" in page
    assert page.count("⏸ not yet for the person") == 2
    header, *rows = report("csv").splitlines()
    assert header.split(",")[-1] == "deferred"
    assert [row.split(",")[-1] for row in rows].count("true") == 2
