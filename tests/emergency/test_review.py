"""What DPOs do about an emergency access afterwards (``gateway.emergency.review``): review it
once, with a comment; defer showing it to the person, within bounds; the end of a deferral on
record; what monitoring and /readyz are told."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from gateway.audit.access import access_report
from gateway.audit.tables import AuditEntry
from gateway.audit.verify import verify_stored
from gateway.emergency import review
from gateway.emergency.access import Justification, associated_data
from gateway.emergency.tables import EmergencyUse, EmergencyWindow, Verdict
from tests.emergency.world import JA, JUSTIFICATION, Emergency

DPO = "dpo-anna"


def opened(emergency: Emergency) -> str:
    emergency.grant()
    emergency.known_from_a_consent()
    response = emergency.ask()
    assert response.status_code == 200, response.text
    return str(response.json()["emergency_window"]["id"])


def entries(emergency: Emergency, event: str) -> list[dict]:
    with emergency.world.gateway.runtime.database.transaction(read_only=True) as session:
        bodies = session.scalars(
            select(AuditEntry.body).where(AuditEntry.event == event).order_by(AuditEntry.id)
        )
        return [json.loads(body) for body in bodies if body]


def test_a_review_is_recorded_once_with_the_comment_only_as_a_digest(emergency: Emergency):
    window_id = opened(emergency)
    runtime = emergency.world.gateway.runtime
    now = datetime.now(UTC)
    comment = "Kinderschutzfall, Gefährdungseinschätzung vom selben Tag liegt vor."

    reviewed = review.review(
        runtime.database,
        runtime.audit,
        window_id,
        verdict=Verdict.JUSTIFIED,
        comment=comment,
        actor=DPO,
        now=now,
    )

    assert (reviewed.verdict, reviewed.reviewed_by) == ("justified", DPO)
    (entry,) = entries(emergency, "emergency.reviewed")
    assert entry["actor"] == DPO
    assert entry["details"] == {"emergency_window": window_id, "verdict": "justified"}
    assert "payload_hmac" in entry
    assert "Kinderschutz" not in json.dumps(entry, ensure_ascii=False)
    with pytest.raises(review.ReviewError, match="reviewed already"):
        review.review(
            runtime.database,
            runtime.audit,
            window_id,
            verdict=Verdict.NOT_JUSTIFIED,
            comment=comment,
            actor=DPO,
            now=now,
        )
    assert len(entries(emergency, "emergency.reviewed")) == 1


@pytest.mark.parametrize("comment", ["", "  ", "ok", "x" * (review.COMMENT_MAX + 1)])
def test_a_review_without_a_fitting_comment_is_refused_and_changes_nothing(
    emergency: Emergency, comment: str
):
    window_id = opened(emergency)
    runtime = emergency.world.gateway.runtime
    with pytest.raises(review.ReviewError):
        review.review(
            runtime.database,
            runtime.audit,
            window_id,
            verdict=Verdict.JUSTIFIED,
            comment=comment,
            actor=DPO,
            now=datetime.now(UTC),
        )
    with runtime.database.transaction(read_only=True) as session:
        window = session.get(EmergencyWindow, window_id)
        assert window is not None
        assert window.reviewed_at is None
    assert entries(emergency, "emergency.reviewed") == []


def test_a_deferral_is_bounded_and_its_end_is_recorded_once(emergency: Emergency):
    window_id = opened(emergency)
    runtime = emergency.world.gateway.runtime
    now = datetime.now(UTC)

    def defer(until: datetime) -> None:
        review.defer(
            runtime.database,
            runtime.audit,
            window_id,
            until=until,
            reason="Vater droht dem Kind",
            actor=DPO,
            now=now,
            max_days=30,
        )

    with pytest.raises(review.ReviewError, match="at most 30 days"):
        defer(now + timedelta(days=31))
    with pytest.raises(review.ReviewError, match="future"):
        defer(now - timedelta(minutes=1))
    assert entries(emergency, "emergency.disclosure_deferred") == []

    defer(now + timedelta(days=10))
    (entry,) = entries(emergency, "emergency.disclosure_deferred")
    assert entry["details"]["emergency_window"] == window_id
    assert "Vater" not in json.dumps(entry, ensure_ascii=False)

    assert review.record_ended_deferrals(runtime.database, runtime.audit, now) == 0
    later = now + timedelta(days=10, seconds=1)
    assert review.record_ended_deferrals(runtime.database, runtime.audit, later) == 1
    assert review.record_ended_deferrals(runtime.database, runtime.audit, later) == 0
    (ended,) = entries(emergency, "emergency.disclosure_resumed")
    assert ended["actor"] == "operator"


def test_a_dpo_may_end_a_deferral_early_on_record(emergency: Emergency):
    window_id = opened(emergency)
    runtime = emergency.world.gateway.runtime
    now = datetime.now(UTC)
    with pytest.raises(review.ReviewError, match="not deferred"):
        review.end_deferral(runtime.database, runtime.audit, window_id, actor=DPO, now=now)
    review.defer(
        runtime.database,
        runtime.audit,
        window_id,
        until=now + timedelta(days=3),
        reason="Gefahr bei sofortiger Mitteilung",
        actor=DPO,
        now=now,
        max_days=90,
    )
    ended = review.end_deferral(runtime.database, runtime.audit, window_id, actor=DPO, now=now)
    assert not review.deferred(ended, now)
    assert [e["actor"] for e in entries(emergency, "emergency.disclosure_resumed")] == [DPO]


def test_monitoring_and_readiness_count_open_and_overdue_reviews(emergency: Emergency):
    window_id = opened(emergency)
    url = emergency.world.gateway.url
    assert httpx.get(f"{url}/readyz").json()["emergency_reviews"] == {"open": 1, "overdue": 0}
    runtime = emergency.world.gateway.runtime
    with runtime.database.transaction() as session:
        session.execute(
            update(EmergencyWindow)
            .where(EmergencyWindow.id == window_id)
            .values(review_due_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 200  # overdue reviews do not stop exchanges
    assert ready.json()["emergency_reviews"] == {"open": 1, "overdue": 1}
    metrics = httpx.get(f"{url}/metrics").text
    assert "gateway_emergency_releases_total 1.0" in metrics
    assert "gateway_emergency_reviews_overdue 1.0" in metrics
    assert JUSTIFICATION["case_number"] not in metrics


def test_the_audit_log_verifies_after_a_whole_emergency_story(emergency: Emergency):
    window_id = opened(emergency)
    runtime = emergency.world.gateway.runtime
    now = datetime.now(UTC)
    assert emergency.ask({**JUSTIFICATION, "reason": "not_listed_here"}).status_code == 403
    with runtime.database.transaction(read_only=True) as session:
        (use_id,) = session.scalars(select(EmergencyUse.id))
    review.read_justification(
        runtime.database, runtime.audit, runtime.sealing, use_id, actor=DPO, now=now
    )
    review.defer(runtime.database, runtime.audit, window_id, until=now + timedelta(days=1),
                 reason="Gefahr", actor=DPO, now=now, max_days=90)  # fmt: skip
    comment = "Keine gewichtigen Anhaltspunkte erkennbar."
    review.review(runtime.database, runtime.audit, window_id, verdict=Verdict.NOT_JUSTIFIED,
                  comment=comment, actor=DPO, now=now)  # fmt: skip
    review.record_ended_deferrals(runtime.database, runtime.audit, now + timedelta(days=2))

    runtime.audit.publish(runtime.database)
    with runtime.database.transaction(read_only=True) as session:
        report = verify_stored(session, runtime.audit.verifier)
    assert report.intact, report.problems
    events = {e["event"] for e in map(json.loads, _bodies(runtime))}
    assert {"emergency.justification_read", "emergency.disclosure_deferred",
            "emergency.reviewed", "emergency.disclosure_resumed"} <= events  # fmt: skip


def _bodies(runtime) -> list[str]:
    with runtime.database.transaction(read_only=True) as session:
        return [body for body in session.scalars(select(AuditEntry.body)) if body]


def test_the_access_report_marks_what_the_person_may_not_be_told_yet(emergency: Emergency):
    window_id = opened(emergency)
    runtime = emergency.world.gateway.runtime
    now = datetime.now(UTC)

    def marks() -> dict[tuple[str, str | None, bool], int]:
        report = access_report(runtime.database, runtime.audit, actor=DPO, agency=JA,
                               reference="JA-77", request_id=None)  # fmt: skip
        found: dict[tuple[str, str | None, bool], int] = {}
        for record in report.records:
            key = (record.event, record.decision, record.deferred)
            found[key] = found.get(key, 0) + 1
        return found

    assert ("exchange.decided", "permit", False) in marks()
    review.defer(runtime.database, runtime.audit, window_id, until=now + timedelta(days=3),
                 reason="Gefahr", actor=DPO, now=now, max_days=90)  # fmt: skip
    assert emergency.ask({**JUSTIFICATION, "reason": "not_listed_here"}).status_code == 403
    with runtime.database.transaction(read_only=True) as session:
        (use_id,) = session.scalars(select(EmergencyUse.id))
    review.read_justification(
        runtime.database, runtime.audit, runtime.sealing, use_id, actor=DPO, now=now
    )
    deferred = marks()
    assert deferred[("exchange.decided", "permit", True)] == 1
    assert deferred[("exchange.decided", "deny", True)] == 1  # the same office's attempt
    assert ("exchange.decided", "permit", False) not in deferred
    # What DPOs did about the window would give it away just as well.
    assert deferred[("emergency.disclosure_deferred", None, True)] == 1
    assert deferred[("emergency.justification_read", None, True)] == 1
    review.end_deferral(runtime.database, runtime.audit, window_id, actor=DPO, now=now)
    assert not any(deferred for (_, _, deferred) in marks())


def test_a_justification_sealed_again_by_someone_with_the_keys_does_not_match_the_log(
    emergency: Emergency,
):
    """An operator with the key folder and the database can put other words in the sealed
    row; the DPO reading it is told they are not the ones the audit log recorded."""
    opened(emergency)
    runtime = emergency.world.gateway.runtime

    def read() -> review.Justification:
        return review.read_justification(
            runtime.database, runtime.audit, runtime.sealing, use_id, actor=DPO,
            now=datetime.now(UTC),
        )  # fmt: skip

    with runtime.database.transaction(read_only=True) as session:
        use_id = session.scalars(select(EmergencyUse.id)).one()
    assert read().matches_audit is True
    other = Justification.plain_form("JA-1", "A harmless reason written afterwards.")
    sealed = runtime.sealing.seal(other, associated_data(use_id))
    with runtime.database.transaction() as session:
        use = session.get(EmergencyUse, use_id)
        assert use is not None
        use.key_id, use.wrapped_key = sealed.key_id, sealed.wrapped_key
        use.nonce, use.ciphertext = sealed.nonce, sealed.ciphertext

    shown = read()

    assert shown.text == "A harmless reason written afterwards."
    assert shown.matches_audit is False
