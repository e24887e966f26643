"""Who asked about me: exactly this person's exchanges and messages from the audit log, with
offices by name, information and purpose in plain words, and the outcome (with the reason when
refused); never pseudonyms, references, caseworkers or ids."""

from __future__ import annotations

import re
import uuid

from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.subjects.repository import subject_of
from tests.portal.conftest import (
    ABH,
    AMIRA,
    BENEFITS,
    JA,
    JC,
    OLEKSII,
    RESIDENCE,
    SA,
    badge,
    csrf_token,
)

CONFERENCES = {"from": JC, "to": JA, "categories": ["case_conference"],
               "purposes": ["case_management"]}  # fmt: skip
CONFERENCE = {
    "starts_at": "2026-12-03T10:00:00+01:00",
    "location": "Jobcenter Köln, Raum 2.14",
    "topic": "Hilfeplan und Sprachkurs",
    "participants": [JC, JA],
}
CASEWORKER = "cw-7391"


def _released(runtime, reference: str, exchange_id: str) -> None:
    """A permitted exchange's entries as the exchange records them: one per category."""
    with runtime.database.transaction() as session:
        subject = subject_of(session, JC, reference)
        for category in ("residence_status", "case_contact"):
            runtime.audit.record(
                session,
                AuditEvent(
                    EventType.EXCHANGE_DECIDED,
                    actor=JC,
                    requester=JC,
                    provider=ABH,
                    caseworker=CASEWORKER,
                    subject_id=subject,
                    categories=(category,),
                    purpose="labour_market_integration",
                    decision=Decision.PERMIT,
                    legal_basis="consent",
                    request_id="req-0000-1111",
                    payload=b"{}",
                    details={"exchange_id": exchange_id},
                ),
            )


def _history_world(offices, runtime) -> dict[str, str]:
    """Amira: one exchange released, one refused, one message sent and fetched. Oleksii: one
    refused exchange of his own."""
    amira = offices.record(AMIRA, RESIDENCE, CONFERENCES)
    offices.record(OLEKSII, RESIDENCE)
    exchange_id = str(uuid.uuid4())
    _released(runtime, AMIRA[JC], exchange_id)
    refused = offices.api.post(
        "/v1/exchanges",
        json={"provider": ABH, "subject_ref": AMIRA[JC], "categories": ["residence_status"],
              "purpose": "benefit_entitlement"},
        headers=offices.headers(JC) | {"X-Caseworker": CASEWORKER},
    )  # fmt: skip
    assert refused.status_code == 403, refused.text
    sent = offices.api.post(
        "/v1/messages",
        json={"recipient": JA, "subject_ref": AMIRA[JC], "category": "case_conference",
              "purpose": "case_management", "payload": CONFERENCE},
        headers=offices.headers(JC) | {"X-Caseworker": CASEWORKER},
    )  # fmt: skip
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["message_id"]
    assert offices.api.get(f"/v1/messages/{message_id}", headers=offices.headers(JA)).is_success
    theirs = offices.api.post(
        "/v1/exchanges",
        json={"provider": ABH, "subject_ref": OLEKSII[SA], "categories": ["residence_status"],
              "purpose": "benefit_entitlement"},
        headers=offices.headers(SA),
    )  # fmt: skip
    assert theirs.status_code == 403, theirs.text
    return {"consent": amira.consent_id, "code": amira.portal_code, "exchange": exchange_id,
            "message": message_id}  # fmt: skip


def test_the_history_shows_exactly_this_persons_entries_in_plain_words(signed_in, offices, runtime):
    world = _history_world(offices, runtime)
    client = signed_in(offices.record(AMIRA, RESIDENCE))
    page = client.get("/portal/history")
    assert page.status_code == 200
    main = page.text.split("<main", 1)[1]
    cards = main.split('<section class="card event"')[1:]
    assert len(cards) == 4  # newest first: fetched, sent, refused, released
    assert "<bdi>Jugendamt Köln</bdi> (youth welfare office) received a message" in cards[0]
    assert (
        "<bdi>Jobcenter Köln</bdi> (job centre) sent <bdi>Jugendamt Köln</bdi> "
        "(youth welfare office) a message about you</h2>" in cards[1]
    )
    assert "invitations to meetings about your case" in cards[1]
    assert badge("Sent", "sent") in cards[1]
    asked = (
        "<bdi>Jobcenter Köln</bdi> (job centre) asked <bdi>Ausländerbehörde Köln</bdi> "
        "(foreigners' office) about you</h2>"
    )
    assert asked in cards[2]
    assert badge("Refused", "refused") + " No rule allows this." in cards[2]
    assert "to check which benefits you can get" in cards[2]
    assert asked in cards[3]
    assert badge("Passed on", "shared") in cards[3]
    # The released exchange's two entries are one line with both kinds of information.
    assert "your residence status" in cards[3]
    assert "who your contact person at the office is" in cards[3]
    assert "to help you find work" in cards[3]
    # Oleksii's refused request (by the social welfare office) is not Amira's business.
    assert "Sozialamt" not in main

    with runtime.database.transaction(read_only=True) as session:
        pseudonym = runtime.audit.pseudonymizer.pseudonym(subject_of(session, JC, AMIRA[JC]))
    hidden = [pseudonym, CASEWORKER, "req-0000-1111", world["exchange"], world["message"],
              world["consent"], *AMIRA.values(), *OLEKSII.values()]  # fmt: skip
    for value in hidden:
        assert value not in page.text, value


def test_the_history_speaks_the_persons_language(signed_in, offices, runtime):
    _history_world(offices, runtime)
    client = signed_in(offices.record(AMIRA, RESIDENCE))
    arabic = client.get("/portal/history?lang=ar").text
    assert 'dir="rtl"' in arabic
    assert "لا توجد قاعدة تسمح بذلك." in arabic  # "No rule allows this."
    # The offices' kinds are in Arabic too, each explained in a sentence.
    assert "طلب <bdi>Jobcenter Köln</bdi> – مركز العمل (جوب سنتر) من <bdi>" in arabic
    assert "يساعدك مركز العمل (Jobcenter) في إيجاد عمل" in arabic


def test_a_person_nobody_asked_about_is_told_so(signed_in, offices):
    client = signed_in(offices.record(OLEKSII, RESIDENCE))
    page = client.get("/portal/history").text
    assert "Nobody has asked about you yet." in page
    assert '<section class="card' not in page


def test_a_message_stopped_by_a_withdrawal_shows_as_not_delivered(signed_in, offices):
    recorded = offices.record(AMIRA, RESIDENCE, CONFERENCES)
    sent = offices.api.post(
        "/v1/messages",
        json={"recipient": JA, "subject_ref": AMIRA[JC], "category": "case_conference",
              "purpose": "case_management", "payload": CONFERENCE},
        headers=offices.headers(JC),
    )  # fmt: skip
    assert sent.status_code == 202, sent.text
    withdrawn = offices.api.post(
        f"/v1/consents/{recorded.consent_id}/withdraw",
        json={"channel": "written"},
        headers=offices.headers(JC),
    )
    assert withdrawn.status_code == 200, withdrawn.text
    page = signed_in(recorded).get("/portal/history").text
    cards = page.split('<section class="card event"')[1:]
    assert len(cards) == 2  # newest first: stopped, then sent
    assert "A message about you from <bdi>Jobcenter Köln</bdi> (job centre) to " in cards[0]
    number = recorded.consent_id.split("-")[0].upper()
    withdrew = f" You had withdrawn your consent no. {number}."
    assert badge("Not delivered", "failed") + withdrew in cards[0]
    assert badge("Sent", "sent") in cards[1]


def test_a_failed_providers_system_is_not_a_refusal(signed_in, offices, runtime):
    recorded = offices.record(AMIRA, RESIDENCE)
    with runtime.database.transaction() as session:
        runtime.audit.record(
            session,
            AuditEvent(
                EventType.EXCHANGE_DECIDED, actor=JC, requester=JC, provider=ABH,
                subject_id=subject_of(session, JC, AMIRA[JC]), categories=("residence_status",),
                purpose="case_management", decision=Decision.DENY, reason="provider_timeout",
                details={"exchange_id": str(uuid.uuid4())},
            ),
        )  # fmt: skip
    page = signed_in(recorded).get("/portal/history").text
    assert badge("Not passed on", "failed") + " The other office's system did not" in page


def test_a_refusal_after_one_permission_was_withdrawn_says_which(signed_in, offices):
    recorded = offices.record(AMIRA, RESIDENCE, BENEFITS)  # 1: residence, 2: benefits
    client = signed_in(recorded)
    path = f"/portal/consents/{recorded.consent_id}/permissions/1/withdraw"
    client.post(path, data={"csrf_token": csrf_token(client.get(path).text)})
    refused = offices.api.post(
        "/v1/exchanges",
        json={"provider": ABH, "subject_ref": AMIRA[JC], "categories": ["residence_status"],
              "purpose": "labour_market_integration"},
        headers=offices.headers(JC),
    )  # fmt: skip
    assert refused.json()["reason"] == "consent_withdrawn"
    page = client.get("/portal/history").text
    number = recorded.consent_id.split("-")[0].upper()
    said = f"You had withdrawn permission 1 of your consent no. {number}."
    assert badge("Refused", "refused") + " " + said in page
    assert "You had withdrawn your consent" not in page
    german = client.get("/portal/history?lang=de").text
    assert f"Sie hatten Freigabe 1 Ihrer Einwilligung Nr. {number} widerrufen." in german


_HEADING = re.compile(
    r'<h2 id="entry-(\d+)">(.*?)</h2>\s*<p class="when" id="entry-\1-when">(.*?)</p>'
)


def test_each_entry_is_headed_by_what_happened_with_its_time_below(signed_in, offices, runtime):
    _history_world(offices, runtime)
    page = signed_in(offices.record(AMIRA, RESIDENCE)).get("/portal/history").text
    found = _HEADING.findall(page)
    assert len(found) == 4
    headings = [heading for _, heading, _ in found]
    assert len(set(headings[:3])) == 3  # fetched, sent, asked: told apart by their headings
    assert all(re.search(r"\d:\d\d", when) for _, _, when in found)
    # Each card is named by its heading and its time together (no two landmarks alike).
    assert 'aria-labelledby="entry-1 entry-1-when"' in page
    # A distinct symbol for each outcome; none pointing sideways, nor an ellipsis.
    symbols = {tone: badge("", tone).split("</span>")[0][-2:] for tone in ("shared", "sent")}
    assert symbols["shared"] != symbols["sent"]
    for sideways in ("➜", "→", "←", "…"):
        assert sideways not in page.split("<main", 1)[1]
