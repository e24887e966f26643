"""The DPO's page for one person's restriction, legal hold and erasure: the person found by a
posted agency and reference, every action a CSRF-checked form, erasure only after a
confirmation step, refusals with their reasons, each change on record under the DPO's name."""

from __future__ import annotations

from sqlalchemy import select

from gateway.audit.events import EventType
from gateway.audit.service import decode
from gateway.audit.tables import AuditEntry
from tests.audit.dpo_api.seeded import JOBCENTER, REFERENCES
from tests.dpo.seeded import USER, Seeded, csrf_of

AMINA = REFERENCES["amina"][JOBCENTER]
NOTE = "Ms A. disputes the benefit data, letter of 3 March"


def _post(client, path: str, **fields: str):
    token = csrf_of(client.get("/dpo/person").text)
    return client.post(path, data={"csrf_token": token, "agency": JOBCENTER, **fields})


def _entries(runtime, event: EventType) -> list[dict]:
    with runtime.database.transaction(read_only=True) as session:
        bodies = session.scalars(select(AuditEntry.body).where(AuditEntry.event == event.value))
        return [decode(body) for body in bodies if body]


def test_a_dpo_restricts_a_person_and_lifts_it_again(signed_in, runtime, seeded: Seeded):
    page = _post(signed_in, "/dpo/person", reference=AMINA)
    assert page.status_code == 200
    assert "Restrict processing" in page.text
    assert AMINA not in page.url.path

    restricted = _post(signed_in, "/dpo/person/control", reference=AMINA, action="restrict",
                       note=NOTE)  # fmt: skip
    assert "The processing is restricted now." in restricted.text
    assert NOTE in restricted.text  # the note is shown here ...
    assert "Lift the restriction" in restricted.text
    (entry,) = _entries(runtime, EventType.SUBJECT_RESTRICTED)
    assert entry["actor"] == USER
    assert NOTE not in str(entry)  # ... and not in the log

    lifted = _post(signed_in, "/dpo/person/control", reference=AMINA, action="unrestrict")
    assert "The restriction is lifted." in lifted.text
    assert len(_entries(runtime, EventType.SUBJECT_RESTRICTION_LIFTED)) == 1


def test_a_look_at_a_person_is_on_record_before_it_is_shown(signed_in, runtime, seeded: Seeded):
    """It tells whether the agency has the person on file and whether they are restricted:
    recorded as a DPO's access report is, by pseudonym and agency, never the reference."""
    page = _post(signed_in, "/dpo/person", reference=AMINA)
    assert page.status_code == 200
    (entry,) = _entries(runtime, EventType.SUBJECT_VIEWED)
    assert entry["actor"] == USER
    assert entry["details"] == {"agency": JOBCENTER}
    assert entry["subject"]
    assert AMINA not in str(entry)
    _post(signed_in, "/dpo/person", reference="JC-nobody")
    assert len(_entries(runtime, EventType.SUBJECT_VIEWED)) == 1  # nobody: nothing to record


def test_an_erasure_asks_first_and_is_refused_with_its_reasons(signed_in, runtime, seeded: Seeded):
    _post(signed_in, "/dpo/person/control", reference=AMINA, action="hold", note=NOTE)
    asked = _post(signed_in, "/dpo/person/erase", reference=AMINA)
    assert "This cannot be undone." in asked.text
    assert 'name="confirmed" value="true"' in asked.text
    assert _entries(runtime, EventType.SUBJECT_ERASURE_REFUSED) == []  # nothing done yet

    refused = _post(signed_in, "/dpo/person/erase", reference=AMINA, confirmed="true")
    assert "The erasure was refused:" in refused.text
    assert "A legal hold is set. Lift it first." in refused.text
    (entry,) = _entries(runtime, EventType.SUBJECT_ERASURE_REFUSED)
    assert "legal_hold" in entry["details"]["reasons"].split()


def test_an_unknown_reference_is_said_plainly_and_changes_nothing(signed_in, runtime, seeded):
    for path, fields in (
        ("/dpo/person", {}),
        ("/dpo/person/control", {"action": "restrict"}),
        ("/dpo/person/erase", {"confirmed": "true"}),
    ):
        page = _post(signed_in, path, reference="JC-nobody", **fields)
        assert "The gateway knows nobody under this reference at this agency." in page.text
    assert _entries(runtime, EventType.SUBJECT_RESTRICTED) == []


def test_an_action_without_the_sessions_csrf_token_is_refused(signed_in, runtime, seeded):
    response = signed_in.post(
        "/dpo/person/control",
        data={
            "csrf_token": "forged",
            "agency": JOBCENTER,
            "reference": AMINA,
            "action": "restrict",
        },
    )
    assert response.status_code in (400, 403)
    assert _entries(runtime, EventType.SUBJECT_RESTRICTED) == []


def test_someone_not_signed_in_reaches_nothing(stranger, runtime, seeded):
    response = stranger.post(
        "/dpo/person/erase",
        data={"agency": JOBCENTER, "reference": AMINA, "confirmed": "true"},
    )
    assert response.status_code in (303, 401, 403)
    assert _entries(runtime, EventType.SUBJECT_ERASURE_REFUSED) == []
