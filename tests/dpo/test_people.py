"""A person's access report (asked by a posted form, never in an address), the withdrawal
notices agencies have not answered, and the records of processing from the policies."""

from __future__ import annotations

from html import unescape

import pytest

from gateway.agencies.tables import ClientRole
from gateway.audit.events import EventType
from gateway.dpo import labels
from gateway.policy.service import records_of_processing
from tests.audit.dpo_api.seeded import ABH, JOBCENTER, REFERENCES, SOZIALAMT, bearer, token_for
from tests.dpo.pages import rows_under, urls
from tests.dpo.seeded import USER, Seeded, csrf_of, recorded


def report(client, agency: str, reference: str, token: str | None = None):
    token = token if token is not None else csrf_of(client.get("/dpo/report").text)
    return client.post(
        "/dpo/report", data={"csrf_token": token, "agency": agency, "reference": reference}
    )


def test_the_report_form_offers_the_agencies_and_posts_the_reference(signed_in, seeded):
    html = signed_in.get("/dpo/report").text
    for agency in (ABH, JOBCENTER, SOZIALAMT):
        assert f'<option value="{agency}">' in html
    assert '<form method="post" action="/dpo/report">' in html


def test_a_report_lists_every_decision_about_the_person(signed_in, runtime, seeded: Seeded):
    response = report(signed_in, JOBCENTER, REFERENCES["amina"][JOBCENTER])
    assert response.status_code == 200
    rows = rows_under(response.text, "Time")
    # Amina: the recorded consent, then a1, a2, b3, c1, c2, oldest first.
    # Events in words (the raw code on hover and in the entry).
    assert [row[8] for row in rows] == ["consent recorded"] + ["data request decided"] * 5
    assert [row[1] for row in rows[1:]] == [
        "permitted", "permitted", "denied: no consent", "permitted", "denied: purpose not covered",
    ]  # fmt: skip
    assert "Records: 6, the oldest first." in response.text
    # The same person, named by another agency's reference.
    other = report(signed_in, ABH, REFERENCES["amina"][ABH])
    assert len(rows_under(other.text, "Time")) == 7  # now also the DPO's first look


def test_a_report_names_no_other_agencys_reference(signed_in, seeded: Seeded):
    response = report(signed_in, JOBCENTER, REFERENCES["amina"][JOBCENTER])
    for agency, reference in REFERENCES["amina"].items():
        if agency != JOBCENTER:
            assert reference not in response.text


def test_looking_is_recorded_under_the_persons_pseudonym(signed_in, runtime, seeded: Seeded):
    report(signed_in, JOBCENTER, REFERENCES["oleksandr"][JOBCENTER])
    (looked,) = recorded(runtime, EventType.DPO_ACCESS_REPORT)
    assert looked["actor"] == USER
    assert looked["subject"] == runtime.audit.pseudonymizer.pseudonym(seeded.subjects["oleksandr"])
    assert looked["details"] == {"agency": JOBCENTER, "records": 3}  # a3, b1 and the old one
    assert REFERENCES["oleksandr"][JOBCENTER] not in str(looked)


def test_the_page_and_the_api_give_one_report_and_each_shows_the_others_look(
    signed_in, http, clients, seeded: Seeded
):
    api_client = clients.other("city-dpo", ClientRole.DPO)
    headers = bearer(token_for(http, api_client))
    params = {"agency": JOBCENTER, "subject_ref": REFERENCES["oleksandr"][JOBCENTER]}

    def through_the_api() -> list[str]:
        response = http.get("/v1/audit/access-report", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [record["event"] for record in response.json()["records"]]

    first = through_the_api()
    page = rows_under(report(signed_in, JOBCENTER, params["subject_ref"]).text, "Time")
    in_words = [labels.term("event", event) for event in [*first, "dpo.access_report"]]
    assert [row[8] for row in page] == in_words  # with the API's look
    assert through_the_api() == [*first, "dpo.access_report", "dpo.access_report"]


def test_an_unknown_reference_is_said_plainly_and_not_recorded(signed_in, runtime, seeded):
    response = report(signed_in, JOBCENTER, "JC-0000-000000")
    assert response.status_code == 200
    assert "The gateway knows nobody under this reference at this agency." in response.text
    assert recorded(runtime, EventType.DPO_ACCESS_REPORT) == []


@pytest.mark.parametrize(
    ("agency", "reference"), [("Not An Id", "JC-1"), (JOBCENTER, ""), (JOBCENTER, "x" * 129)]
)
def test_a_malformed_report_form_gets_the_error_page(signed_in, seeded, agency, reference):
    response = report(signed_in, agency, reference)
    assert response.status_code == 422
    assert "Something in the form was not right." in response.text


def test_a_forged_report_form_is_refused_and_records_nothing(signed_in, runtime, seeded):
    response = report(signed_in, JOBCENTER, REFERENCES["amina"][JOBCENTER], token="forged" * 7)
    assert response.status_code == 403
    assert REFERENCES["amina"][JOBCENTER] not in response.text
    assert recorded(runtime, EventType.DPO_ACCESS_REPORT) == []


def test_the_reference_never_reaches_an_address(signed_in, seeded: Seeded):
    reference = REFERENCES["amina"][JOBCENTER]
    response = report(signed_in, JOBCENTER, reference)
    assert reference not in str(response.url)
    assert all(reference not in url for url in urls(response.text))
    assert "location" not in response.headers


def test_the_unanswered_notices_are_listed_oldest_first_with_their_age(signed_in, seeded):
    html = signed_in.get("/dpo/notices").text
    rows = rows_under(html, "Agency")
    assert [tuple(row[:4]) for row in rows] == [
        (f"Agency {JOBCENTER}", "5", "2", "1"),
        (f"Agency {SOZIALAMT}", "1", "1", "0"),
    ]
    assert f"Agency {ABH}" not in [row[0] for row in rows]  # answered


def test_without_open_notices_the_page_says_so(signed_in):
    assert "Every withdrawal notice has been answered." in signed_in.get("/dpo/notices").text


def test_the_records_of_processing_are_the_policies_flows(signed_in, runtime):
    html = signed_in.get("/dpo/records").text
    records = records_of_processing(runtime.policies)
    assert records.policy_set_digest in html
    assert len(records.activities) > 5
    for activity in records.activities:
        assert f'<code dir="ltr">{activity.activity}</code>' in html
    assert html.count("<section ") == len(records.activities)
    assert "foreigners' office → job centre" in unescape(html)
    assert "the person's consent" in html
