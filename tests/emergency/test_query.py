"""Emergency queries end to end over real HTTP (§ 8a SGB VIII): a youth welfare office with
emergency access asks the foreigners' office about a child without consent; only the emergency
flow's fields pass, the window and the use are recorded, the justification only sealed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from gateway.emergency import review
from gateway.emergency.access import associated_data
from gateway.emergency.tables import EmergencyUse, EmergencyWindow
from gateway.keys import repository
from gateway.keys.rewrap import rewrap_sealed
from gateway.messages.sealing import Sealed
from gateway.release.tables import Release
from tests.emergency.world import EMERGENCY_FIELDS, JA, JUSTIFICATION, Emergency
from tests.exchange.world import ABH


def test_an_emergency_query_releases_the_emergency_flows_fields_after_consent_was_withdrawn(
    emergency: Emergency,
):
    emergency.grant()
    emergency.withdraw(emergency.known_from_a_consent())

    response = emergency.ask()

    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer["data"]["residence_status"]) == EMERGENCY_FIELDS
    assert answer["legal_basis"].startswith("statute: § 8a")
    assert answer["consent_id"] is None
    window = answer["emergency_window"]
    opened = datetime.fromisoformat(window["opened_at"])
    assert datetime.fromisoformat(window["closes_at"]) - opened == timedelta(hours=72)
    assert datetime.fromisoformat(window["review_due_at"]) - opened == timedelta(days=7)
    runtime = emergency.world.gateway.runtime
    with runtime.database.transaction(read_only=True) as session:
        (release,) = session.scalars(select(Release).where(Release.id == answer["exchange_id"]))
        assert (release.recipient, release.consent_id) == (JA, None)
        assert "emergency" in str(release.policy_flow)
        (use,) = session.scalars(select(EmergencyUse))
        assert (use.id, use.window_id, use.reason) == (
            answer["exchange_id"], window["id"], "acute_child_endangerment"
        )  # fmt: skip


def test_the_audit_entry_says_emergency_and_why_and_holds_the_justification_only_as_a_digest(
    emergency: Emergency,
):
    emergency.grant()
    emergency.known_from_a_consent()
    answer = emergency.ask().json()

    (entry,) = [e for e in emergency.entries() if e.get("requester") == JA]
    assert entry["decision"] == "permit"
    assert entry["details"] == {
        "exchange_id": answer["exchange_id"],
        "emergency": True,
        "emergency_reason": "acute_child_endangerment",
        "emergency_window": answer["emergency_window"]["id"],
    }
    plain = json.dumps(
        {"case_number": JUSTIFICATION["case_number"], "text": JUSTIFICATION["text"]},
        ensure_ascii=False,
        sort_keys=True,
    ).encode()
    digests = emergency.world.gateway.runtime.audit.digests
    assert digests.justification_matches(
        entry["justification_hmac"], entry["subject"], entry["time"], plain
    )
    assert not digests.justification_matches(
        entry["justification_hmac"], entry["subject"], entry["time"], plain + b" "
    )
    text = json.dumps(entry, ensure_ascii=False)
    assert JUSTIFICATION["case_number"] not in text
    assert "Neighbours" not in text


def test_the_justification_is_stored_sealed_and_bound_to_its_use(emergency: Emergency):
    emergency.grant()
    emergency.known_from_a_consent()
    answer = emergency.ask().json()
    runtime = emergency.world.gateway.runtime
    with runtime.database.transaction(read_only=True) as session:
        (use,) = session.scalars(select(EmergencyUse))
        sealed = Sealed(use.key_id or "", use.wrapped_key or b"", use.nonce or b"",
                        use.ciphertext or b"")  # fmt: skip
    opened = json.loads(runtime.sealing.open(sealed, associated_data(answer["exchange_id"])))
    assert opened == {"case_number": "JA-8A-2026-0042", "text": JUSTIFICATION["text"]}


def test_queries_within_the_window_share_it_and_after_it_a_new_window_opens(
    emergency: Emergency,
):
    emergency.grant()
    emergency.known_from_a_consent()
    first = emergency.ask().json()["emergency_window"]
    second = emergency.ask().json()["emergency_window"]
    assert second == first

    runtime = emergency.world.gateway.runtime
    with runtime.database.transaction() as session:  # the window ran out
        session.execute(
            update(EmergencyWindow).values(closes_at=datetime.fromisoformat(first["opened_at"]))
        )
    third = emergency.ask()
    assert third.status_code == 200, third.text
    assert third.json()["emergency_window"]["id"] != first["id"]
    with runtime.database.transaction(read_only=True) as session:
        assert len(session.scalars(select(EmergencyWindow)).all()) == 2
        assert len(session.scalars(select(EmergencyUse)).all()) == 3


def test_an_ordinary_query_never_rests_on_an_emergency_flow(emergency: Emergency):
    emergency.grant()
    emergency.withdraw(emergency.known_from_a_consent())
    body = {
        "provider": ABH,
        "subject_ref": "JA-77",
        "categories": ["residence_status"],
        "purpose": "child_and_youth_welfare",
    }
    response = emergency.world.post("/v1/exchanges", body, emergency.ja)
    assert response.status_code == 403
    assert response.json()["reason"] in {"no_consent", "consent_withdrawn"}


def test_a_key_rotation_rewraps_the_justification_and_it_still_opens(emergency: Emergency):
    emergency.grant()
    emergency.known_from_a_consent()
    answer = emergency.ask().json()
    runtime = emergency.world.gateway.runtime

    new = runtime.sealing.rotate()
    rewrapped = rewrap_sealed(runtime.database, runtime.sealing)

    assert rewrapped.unreadable == 0
    with runtime.database.transaction(read_only=True) as session:
        assert repository.key_ids_in_use(session) == {new}
        # Re-wrapped, so the retired key (erased an hour after nothing uses it) is not needed.
        assert session.scalars(select(EmergencyUse.key_id)).all() == [new]
    read = review.read_justification(
        runtime.database,
        runtime.audit,
        runtime.sealing,
        answer["exchange_id"],
        actor="dpo-anna",
        now=datetime.now(UTC),
    )
    assert (read.case_number, read.text) == (JUSTIFICATION["case_number"], JUSTIFICATION["text"])
