"""Downloads from the DPO pages (issue 20): CSV in the spreadsheet dialect of the page's language
(byte-order mark, separator, times a spreadsheet reads, no formulas) beside the plain CSV for
tools, and the access report as a file, posted like the report itself and recorded like it.
The report keeps its question across a language switch without it ever entering an address."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape

import pytest

from gateway.audit.events import AuditEvent, EventType
from tests.audit.dpo_api.seeded import JOBCENTER, REFERENCES
from tests.dpo.pages import rows_under, urls
from tests.dpo.seeded import USER, Seeded, csrf_of, name_agencies, recorded

BOM = b"\xef\xbb\xbf"
AMINA = REFERENCES["amina"][JOBCENTER]


def export(client, query: str, language: str):
    response = client.get(f"/dpo/audit/export?{query}&lang={language}")
    assert response.status_code == 200, response.text
    return response


@pytest.mark.parametrize(
    ("language", "separator"),
    [("de", b";"), ("tr", b";"), ("uk", b";"), ("en", b","), ("ar", b","), ("fa", b",")],
)
def test_the_spreadsheet_csv_is_the_dialect_of_the_pages_language(
    signed_in, seeded: Seeded, language, separator
):
    response = export(signed_in, "format=spreadsheet&decision=deny", language)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="audit.csv"'
    body = response.content
    assert body.startswith(BOM + b"position" + separator + b"time" + separator + b"event")
    rows = list(csv.DictReader(io.StringIO(body[3:].decode()), delimiter=separator.decode()))
    assert sorted(row["request_id"] for row in rows) == ["a3", "b2", "b3", "c2", "old"]
    # Times as spreadsheet programs read a date and time (UTC, as the header of the page says).
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row["time"]) for row in rows)
    assert body.endswith(b"\r\n")


def test_the_plain_csv_stays_as_tools_read_it(signed_in, seeded: Seeded):
    body = export(signed_in, "format=csv&decision=deny", "de").content
    assert body.startswith(b"position,time,event,")
    (first, *_) = csv.DictReader(io.StringIO(body.decode()))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", first["time"])


def test_a_spreadsheet_runs_no_formula_from_the_log(signed_in, runtime, seeded: Seeded):
    with runtime.database.transaction() as session:
        runtime.audit.record(
            session, AuditEvent(EventType.POLICY_SET_LOADED, request_id="=HYPERLINK(1)")
        )
    runtime.audit.publish(runtime.database)  # exports hold what a checkpoint covers
    body = export(signed_in, "format=spreadsheet&event=policy.loaded", "de").content
    (row,) = list(csv.DictReader(io.StringIO(body[3:].decode()), delimiter=";"))
    assert row["request_id"] == "'=HYPERLINK(1)"
    plain = export(signed_in, "format=csv&event=policy.loaded", "de").text
    assert "=HYPERLINK(1)" in plain
    assert "'=" not in plain


def test_each_kind_of_export_is_recorded(signed_in, runtime, seeded: Seeded):
    for kind in ("spreadsheet", "csv", "jsonl"):
        export(signed_in, f"format={kind}", "de")
    exported = recorded(runtime, EventType.AUDIT_EXPORTED)
    assert [entry["details"]["format"] for entry in exported] == ["spreadsheet", "csv", "jsonl"]
    assert {entry["actor"] for entry in exported} == {USER}


def test_the_audit_page_offers_all_three_with_its_filters(signed_in, seeded: Seeded):
    html = signed_in.get("/dpo/audit?decision=deny&sort=position&column=purpose").text
    exports = [unescape(url) for url in urls(html) if url.startswith("/dpo/audit/export")]
    assert exports == [
        "/dpo/audit/export?decision=deny&format=spreadsheet",
        "/dpo/audit/export?decision=deny&format=csv",
        "/dpo/audit/export?decision=deny&format=jsonl",
    ]


def report(client, agency: str, reference: str, language: str = "en"):
    token = csrf_of(client.get("/dpo/report").text)
    return client.post(
        f"/dpo/report?lang={language}",
        data={"csrf_token": token, "agency": agency, "reference": reference},
    )


def download(client, html: str, kind: str, reference: str = AMINA):
    return client.post(
        "/dpo/report/download",
        data={"csrf_token": csrf_of(html), "agency": JOBCENTER, "reference": reference,
              "format": kind},
    )  # fmt: skip


def test_the_report_downloads_as_spreadsheet_csv_and_json(signed_in, runtime, seeded: Seeded):
    page = report(signed_in, JOBCENTER, AMINA, "de").text
    assert 'action="/dpo/report/download"' in page
    sheet = download(signed_in, page, "spreadsheet")
    assert sheet.status_code == 200
    assert sheet.headers["content-disposition"] == 'attachment; filename="access.csv"'
    assert sheet.content.startswith(BOM + b"time;event;requester;provider;")
    rows = list(csv.DictReader(io.StringIO(sheet.content[3:].decode()), delimiter=";"))
    assert [row["event"] for row in rows[:2]] == ["consent.recorded", "exchange.decided"]
    assert rows[-1]["event"] == "dpo.access_report"  # the page's own look, recorded before

    as_json = download(signed_in, page, "json")
    assert as_json.headers["content-disposition"] == 'attachment; filename="access.json"'
    content = json.loads(as_json.content)
    assert content["agency"] == JOBCENTER
    assert len(content["records"]) == len(rows) + 1  # the spreadsheet download was a look too
    for reference in REFERENCES["amina"].values():
        assert reference not in as_json.text
        assert reference not in sheet.text

    looks = recorded(runtime, EventType.DPO_ACCESS_REPORT)
    assert [look["details"].get("format") for look in looks] == [None, "spreadsheet", "json"]
    assert {look["actor"] for look in looks} == {USER}
    # The report itself tells a download from a look (its own look is recorded after it).
    events = [row[8] for row in rows_under(report(signed_in, JOBCENTER, AMINA).text, "Time")]
    assert events[-3:] == ["access report looked up", "access report downloaded",
                           "access report downloaded"]  # fmt: skip


def test_a_report_download_needs_the_forms_token(signed_in, runtime, seeded: Seeded):
    response = signed_in.post(
        "/dpo/report/download",
        data={"csrf_token": "forged", "agency": JOBCENTER, "reference": AMINA, "format": "csv"},
    )
    assert response.status_code == 403
    assert recorded(runtime, EventType.DPO_ACCESS_REPORT) == []


def test_a_download_for_nobody_known_says_so(signed_in, runtime, seeded: Seeded):
    page = report(signed_in, JOBCENTER, AMINA).text
    response = download(signed_in, page, "csv", reference="JC-0000-000000")
    assert response.headers["content-type"].startswith("text/html")
    assert "The gateway knows nobody under this reference at this agency." in response.text


def test_the_report_switches_language_by_posting_its_question_again(signed_in, seeded: Seeded):
    english = report(signed_in, JOBCENTER, AMINA).text
    # No address in the page carries the reference: each language is a small form.
    assert all(AMINA not in unescape(url) for url in urls(english))
    switches = re.findall(r'<form method="post" action="/dpo/report\?lang=(\w+)"', english)
    assert switches == ["de", "en", "ar", "uk", "tr", "fa"]
    assert f'<input type="hidden" name="reference" value="{AMINA}">' in english
    # Posting the German one gives the same report in German, its question still in the form.
    german = report(signed_in, JOBCENTER, AMINA, "de")
    assert german.cookies.get("gw_lang") == "de"
    assert '<html lang="de"' in german.text
    assert len(rows_under(german.text, "Zeit")) == len(rows_under(english, "Time")) + 1
    assert f'value="{AMINA}"' in german.text


def test_the_report_shows_names_in_words(signed_in, runtime, seeded: Seeded):
    name_agencies(runtime)
    html = report(signed_in, JOBCENTER, AMINA).text
    rows = rows_under(html, "Time")
    permitted = [row for row in rows if row[1] == "permitted"]
    assert {(row[2], row[3], row[6]) for row in permitted} == {
        ("Jobcenter Köln", "Ausländerbehörde Köln", "consent")
    }
    assert '<option value="koeln-abh">Ausländerbehörde Köln</option>' in html


def test_the_report_shows_every_column_or_those_chosen_and_keeps_them(signed_in, seeded):
    everything = report(signed_in, JOBCENTER, AMINA).text
    header = ["Time", "Decision", "Receiving agency", "Providing agency", "Categories",
              "Purpose", "Legal basis", "Caseworker (pseudonymous)", "Event"]  # fmt: skip
    assert [len(row) for row in rows_under(everything, "Time")] == [9] * 6
    assert all(f"> {heading}</label>" in everything for heading in header[1:])
    token = csrf_of(everything)
    chosen = signed_in.post(
        "/dpo/report",
        data={"csrf_token": token, "agency": JOBCENTER, "reference": AMINA,
              "column": ["event", "purpose"]},
    ).text  # fmt: skip
    rows = rows_under(chosen, "Time")
    assert [row[2] for row in rows][:2] == ["consent recorded", "data request decided"]
    assert {len(row) for row in rows} == {3}
    # The language forms carry the choice along (and the reference, never in an address).
    (german,) = re.findall(r'action="/dpo/report\?lang=de".*?</form>', chosen, re.S)
    assert '<input type="hidden" name="column" value="purpose">' in german
    assert '<input type="hidden" name="column" value="event">' in german
    refused = signed_in.post(
        "/dpo/report",
        data={"csrf_token": token, "agency": JOBCENTER, "reference": AMINA, "column": "subject"},
    )
    assert refused.status_code == 422
