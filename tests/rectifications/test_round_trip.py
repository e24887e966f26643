"""A person says in the portal that information an office passed on about them is wrong; the
office it came from (and only it) gets the notice with its own reference for the person and
the person's text, answers, and the person sees the answer. The text is sealed at rest, never
in the audit log or the logs, and deleted with the answer."""

from __future__ import annotations

import html
import json

from sqlalchemy import LargeBinary, func, select

from gateway.audit.tables import AuditEntry
from gateway.db.metadata import metadata
from gateway.rectifications.tables import Rectification
from gateway.runtime import Runtime
from tests.portal.conftest import ABH, AMIRA, BENEFITS, JA, JC, OLEKSII, RESIDENCE, SA
from tests.rectifications.conftest import flag, released, wrong_path

TEXT = "Meine Aufenthaltserlaubnis gilt bis 2027, nicht bis 2025. Zeichen: Ωµ-4711-ZZ"
REASON = "Die Verlängerung liegt uns nicht vor. Bitte <Bescheid> mitbringen."


def _in_rows(runtime: Runtime, needle: str) -> list[str]:
    """Where the needle occurs in any column of any row of any table (bytes as latin-1 and
    UTF-8)."""
    found = []
    with runtime.database.transaction(read_only=True) as session:
        for table in metadata.sorted_tables:
            for row in session.execute(select(table)):
                for column, value in zip(table.columns, row, strict=True):
                    if value is None:
                        continue
                    if isinstance(column.type, LargeBinary):
                        raw = bytes(value)
                        texts = [raw.decode("latin-1"), raw.decode("utf-8", "replace")]
                    elif isinstance(value, dict | list):
                        texts = [json.dumps(value, ensure_ascii=False)]
                    else:
                        texts = [str(value)]
                    if any(needle in text for text in texts):
                        found.append(f"{table.name}.{column.name}")
    return found


def _count(runtime: Runtime, *where) -> int:
    with runtime.database.transaction(read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(Rectification).where(*where)))


def _audit_bodies(runtime: Runtime) -> list[str]:
    with runtime.database.transaction(read_only=True) as session:
        return [body for body in session.scalars(select(AuditEntry.body)) if body]


def test_the_person_flags_what_was_passed_on_and_the_providing_office_answers(
    signed_in, offices, runtime
):
    amira = offices.record(AMIRA, RESIDENCE, BENEFITS)
    release = released(runtime, AMIRA, amira.consent_id, ABH, JC)
    client = signed_in(amira)

    history = client.get("/portal/history")
    assert wrong_path(release) in history.text
    sent = flag(client, release, TEXT)
    assert sent.status_code == 303
    assert sent.headers["location"] == "/portal/history?notice=wrong-sent"
    page = client.get(sent.headers["location"]).text
    assert "The office will check it and answer you here." in page
    assert "Sent to the office. It has not answered yet." in page
    assert wrong_path(release) not in page  # one open notice: no second action

    listed = offices.api.get("/v1/rectifications", headers=offices.headers(ABH))
    assert listed.status_code == 200
    (notice,) = listed.json()["rectifications"]
    assert notice["subject_ref"] == AMIRA[ABH]
    assert notice["text"] == TEXT
    assert (notice["category"], notice["recipient"]) == ("residence_status", JC)
    assert notice["outcome"] is None
    assert notice["answered_at"] is None

    path = f"/v1/rectifications/{notice['rectification_id']}/ack"
    answer = {"outcome": "not_corrected", "reason": REASON}
    answered = offices.api.post(path, json=answer, headers=offices.headers(ABH))
    assert answered.status_code == 200, answered.text
    assert answered.json()["outcome"] == "not_corrected"
    assert answered.json()["text"] is None  # deleted with the answer
    again = offices.api.post(path, json=answer, headers=offices.headers(ABH))
    assert again.status_code == 200  # the same answer again: idempotent
    changed = offices.api.post(path, json={"outcome": "corrected"}, headers=offices.headers(ABH))
    assert changed.status_code == 409
    assert changed.headers["content-type"] == "application/problem+json"

    assert offices.api.get("/v1/rectifications", headers=offices.headers(ABH)).json() == {
        "rectifications": []
    }
    everything = offices.api.get(
        "/v1/rectifications", params={"state": "all"}, headers=offices.headers(ABH)
    ).json()["rectifications"]
    assert [(item["outcome"], item["reason"], item["text"]) for item in everything] == [
        ("not_corrected", REASON, None)
    ]
    page = client.get("/portal/history").text
    assert "Not corrected" in page
    assert html.escape(REASON, quote=False) in page  # shown escaped
    assert "<Bescheid>" not in page
    assert wrong_path(release) in page  # answered: the person may say so again


def test_only_the_providing_office_sees_the_notice_and_the_text(signed_in, offices, runtime):
    amira = offices.record(AMIRA, RESIDENCE, BENEFITS)
    release = released(runtime, AMIRA, amira.consent_id, ABH, JC)
    assert flag(signed_in(amira), release, TEXT).status_code == 303

    for other in (JC, SA, JA):  # the recipient, a party, an office with nothing to do with it
        listed = offices.api.get(
            "/v1/rectifications", params={"state": "all"}, headers=offices.headers(other)
        )
        assert listed.json() == {"rectifications": []}, other
    (notice,) = offices.api.get("/v1/rectifications", headers=offices.headers(ABH)).json()[
        "rectifications"
    ]
    path = f"/v1/rectifications/{notice['rectification_id']}/ack"
    for other in (JC, SA):
        answer = {"outcome": "corrected"}
        refused = offices.api.post(path, json=answer, headers=offices.headers(other))
        assert refused.status_code == 404
        assert refused.json()["type"] == "/problems/rectification-not-found"
    listing = offices.api.get("/v1/rectifications", headers=offices.headers(ABH)).text
    for agency, reference in AMIRA.items():  # only the provider's own reference
        assert (reference in listing) == (agency == ABH)


def test_the_text_is_sealed_at_rest_and_in_no_audit_entry_or_log_line(
    signed_in, offices, runtime, log_lines
):
    amira = offices.record(AMIRA, RESIDENCE, BENEFITS)
    release = released(runtime, AMIRA, amira.consent_id, ABH, JC)
    assert flag(signed_in(amira), release, TEXT).status_code == 303

    needles = [TEXT, "Aufenthaltserlaubnis gilt bis 2027", "Ωµ-4711-ZZ"]
    for needle in needles:
        assert _in_rows(runtime, needle) == [], needle
    with runtime.database.transaction(read_only=True) as session:
        (stored,) = session.scalars(select(Rectification))
        assert stored.ciphertext is not None
        assert stored.key_id is not None
    bodies = _audit_bodies(runtime)
    requested = [json.loads(body) for body in bodies if "rectification.requested" in body]
    assert len(requested) == 1
    assert requested[0]["payload_hmac"]  # a keyed digest of the text, at most
    assert requested[0]["provider"] == ABH
    assert requested[0]["details"]["portal_code"]  # whose code acted
    assert not [body for body in bodies if any(needle in body for needle in needles)]

    (notice,) = offices.api.get("/v1/rectifications", headers=offices.headers(ABH)).json()[
        "rectifications"
    ]
    assert notice["text"] == TEXT
    path = f"/v1/rectifications/{notice['rectification_id']}/ack"
    assert offices.api.post(
        path, json={"outcome": "corrected"}, headers=offices.headers(ABH)
    ).is_success
    with runtime.database.transaction(read_only=True) as session:
        (stored,) = session.scalars(select(Rectification))
        assert (stored.key_id, stored.wrapped_key, stored.nonce, stored.ciphertext) == (None,) * 4
    bodies = _audit_bodies(runtime)
    assert len([body for body in bodies if "rectification.answered" in body]) == 1
    assert not [body for body in bodies if any(needle in body for needle in needles)]
    assert not [needle for needle in needles if needle in log_lines.getvalue()]
    assert log_lines.getvalue()  # the requests were logged


def test_one_open_notice_per_office_and_information(signed_in, offices, runtime):
    amira = offices.record(AMIRA, RESIDENCE, BENEFITS)
    first = released(runtime, AMIRA, amira.consent_id, ABH, JC)
    second = released(runtime, AMIRA, amira.consent_id, ABH, JC)  # the same information again
    benefits = released(runtime, AMIRA, amira.consent_id, JC, SA, "benefit_status")
    client = signed_in(amira)

    assert flag(client, first, "erstens").headers["location"].endswith("wrong-sent")
    assert flag(client, first, "noch einmal").headers["location"].endswith("wrong-already")
    assert flag(client, second).headers["location"].endswith("wrong-already")
    assert _count(runtime) == 1
    sent = flag(client, benefits, category="benefit_status")  # other information, other office
    assert sent.headers["location"].endswith("wrong-sent")
    assert _count(runtime) == 2
    assert len(offices.api.get("/v1/rectifications", headers=offices.headers(JC)).json()[
        "rectifications"
    ]) == 1  # fmt: skip

    (notice,) = offices.api.get("/v1/rectifications", headers=offices.headers(ABH)).json()[
        "rectifications"
    ]
    offices.api.post(
        f"/v1/rectifications/{notice['rectification_id']}/ack",
        json={"outcome": "corrected"},
        headers=offices.headers(ABH),
    )
    assert flag(client, second, "immer noch falsch").headers["location"].endswith("wrong-sent")
    assert _count(runtime, Rectification.provider == ABH) == 2


def test_bad_input_is_refused_and_nothing_is_stored(signed_in, offices, runtime):
    amira = offices.record(AMIRA, RESIDENCE, BENEFITS)
    oleksii = offices.record(OLEKSII, RESIDENCE)
    release = released(runtime, AMIRA, amira.consent_id, ABH, JC)
    his = released(runtime, OLEKSII, oleksii.consent_id, ABH, JC)
    client = signed_in(amira)

    too_long = flag(client, release, "x" * 501)
    assert too_long.status_code == 400
    assert "Your text is too long." in too_long.text
    assert 'aria-invalid="true"' in too_long.text
    assert client.get(wrong_path(his)).status_code == 404  # someone else's release
    assert client.get(wrong_path(release, "benefit_status")).status_code == 404
    assert client.get(wrong_path("not-a-release")).status_code == 404
    # A post without the session's CSRF token.
    forged = client.post(wrong_path(release), data={"text": "x", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert _count(runtime) == 0
    assert not [body for body in _audit_bodies(runtime) if "rectification." in body]

    assert flag(client, release, "  ").status_code == 303  # an empty text is no text
    (notice,) = offices.api.get("/v1/rectifications", headers=offices.headers(ABH)).json()[
        "rectifications"
    ]
    assert notice["text"] is None
    path = f"/v1/rectifications/{notice['rectification_id']}/ack"
    for body in (
        {"outcome": "deleted"},
        {"outcome": "not_corrected"},  # needs its reason
        {"outcome": "not_corrected", "reason": "x" * 501},
        {"outcome": "not_corrected", "reason": "ab\u0000cd"},  # PostgreSQL refuses NUL
        {"outcome": "corrected", "extra": 1},
    ):
        refused = offices.api.post(path, json=body, headers=offices.headers(ABH))
        assert refused.status_code == 422, body
        assert refused.headers["content-type"] == "application/problem+json"
    assert _count(runtime, Rectification.answered_at.is_(None)) == 1
    assert not [body for body in _audit_bodies(runtime) if "rectification.answered" in body]
