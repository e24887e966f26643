"""Searching the audit log on the DPO pages: filters narrow the list, pages follow a cursor,
an entry shows all it records, exports download and are themselves audited."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.audit.events import EventType
from gateway.audit.retention import prune
from gateway.audit.tables import AuditEntry, AuditLeaf
from gateway.dpo import search
from tests.audit.tampering import EMPTY, tamper
from tests.dpo.pages import facts, rows_under, urls
from tests.dpo.seeded import USER, Seeded, day, name_agencies, recorded


def listed(client, query: str = "") -> list[list[str]]:
    response = client.get(f"/dpo/audit{'?' + query if query else ''}")
    assert response.status_code == 200, response.text
    if "No entries match these filters." in response.text:
        return []
    return rows_under(response.text, "Position")


def request_ids(client, query: str) -> set[str]:
    """The request ids of the listed entries, read from each entry's page."""
    response = client.get(f"/dpo/audit?{query}")
    found = set()
    for url in urls(response.text):
        if url.startswith("/dpo/audit/entries/"):
            found.add(facts(client.get(url).text)["Request id"])
    return found


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("decision=deny", {"a3", "b2", "b3", "c2", "old"}),
        ("decision=deny&reason=no_consent", {"a3", "b3"}),
        ("decision=permit", {"a1", "a2", "b1", "c1"}),
        ("agency=koeln-abh", {"a1", "a2", "b2", "c1", "c2", "old"}),
        ("agency=koeln-sozialamt&decision=deny", {"a3", "b3"}),
        ("category=benefit_status", {"a3", "b1"}),
        ("purpose=case_management&decision=permit", {"a1", "c1"}),
        ("event=consent.recorded", {"–"}),
        ("reason=consent_withdrawn", set()),
    ],
)
def test_filters_narrow_the_list(signed_in, seeded: Seeded, query, expected):
    assert request_ids(signed_in, query) == expected


def test_a_time_range_narrows_the_list(signed_in, seeded: Seeded):
    since = day(2).replace(hour=0).strftime("%Y-%m-%dT%H:%M")
    until = day(1).replace(hour=0).strftime("%Y-%m-%dT%H:%M")
    assert request_ids(signed_in, f"since={since}&until={until}") == {"b1", "b2", "b3"}
    assert request_ids(signed_in, f"since={since}&until={until}&decision=deny") == {"b2", "b3"}


def test_the_form_shows_the_filters_in_force(signed_in, seeded: Seeded):
    html = signed_in.get("/dpo/audit?decision=deny&agency=koeln-abh").text
    assert '<option value="deny" selected>' in html
    assert '<option value="koeln-abh" selected>' in html
    assert "Clear the filters" in html


def test_every_entry_is_listed_without_filters(signed_in, seeded: Seeded):
    rows = listed(signed_in)
    # 3 agencies, 1 DPO user, 1 sign-in, 9 decisions, 1 consent; the newest wait for a place.
    assert len(rows) == 15
    assert [row[3] for row in rows].count("data request decided") == 9


def test_pages_follow_a_cursor_and_keep_the_filters(signed_in, seeded: Seeded, monkeypatch):
    monkeypatch.setattr(search, "PAGE_SIZE", 3)
    first = signed_in.get("/dpo/audit?decision=deny").text
    assert len(rows_under(first, "Position")) == 3
    (following,) = re.findall(r'href="(/dpo/audit\?[^"]*)" rel="next"', first)
    following = following.replace("&amp;", "&")
    assert "decision=deny" in following
    assert "cursor=" in following
    second = signed_in.get(following).text
    assert len(rows_under(second, "Position")) == 2
    assert 'rel="next"' not in second
    assert 'href="/dpo/audit?decision=deny">First page' in second
    assert signed_in.get("/dpo/audit?cursor=not-a-cursor").status_code == 422


@pytest.mark.parametrize(
    "query",
    ["decision=maybe", "agency=Not%20An%20Id", "since=yesterday", "event=made.up",
     "category=Residence-Status", "until=2024-13-01"],
)  # fmt: skip
def test_invalid_filters_get_the_error_page(signed_in, query):
    response = signed_in.get(f"/dpo/audit?{query}")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "Something in the form was not right." in response.text


def test_an_entry_shows_what_it_records_and_where_it_stands(signed_in, runtime, seeded: Seeded):
    name_agencies(runtime)
    html = signed_in.get("/dpo/audit?decision=deny&reason=purpose_not_covered").text
    (link,) = [url for url in urls(html) if url.startswith("/dpo/audit/entries/")]
    entry = signed_in.get(link).text
    shown = facts(entry)
    # Names in words, each with its raw code or id beside it.
    assert shown["Event"] == "data request decided exchange.decided"
    assert shown["Decision"] == "denied: purpose not covered"
    assert shown["Receiving agency"] == "Jobcenter Köln koeln-jobcenter"
    assert shown["Providing agency"] == "Ausländerbehörde Köln koeln-abh"
    assert shown["Categories"] == "residence status"
    assert shown["Purpose"] == "residence procedure"
    pseudonym = runtime.audit.digests.caseworker("koeln-jobcenter", "cw-7f3a")
    assert shown["Caseworker (pseudonymous)"] == pseudonym
    assert shown["Request id"] == "c2"
    assert re.fullmatch(r"[0-9a-f]{64}", shown["Leaf hash"])
    assert shown["Position in the log"].isdigit()
    # The person only as a keyed pseudonym, never a reference or the internal id.
    assert shown["Person (keyed pseudonym)"] not in ("–", seeded.subjects["amina"])
    assert seeded.subjects["amina"] not in entry
    assert '"request_id":"c2"' in entry.replace("&#34;", '"')


def test_a_permitted_entry_shows_its_keyed_payload_digest(signed_in, runtime, seeded: Seeded):
    html = signed_in.get("/dpo/audit?decision=permit").text
    link = next(url for url in urls(html) if url.startswith("/dpo/audit/entries/"))
    shown = facts(signed_in.get(link).text)
    kid, digest = shown["Payload digest (keyed, HMAC-SHA256)"].split(":")
    assert kid == runtime.audit.digests.active().kid
    assert re.fullmatch(r"[0-9a-f]{64}", digest)


def test_an_unknown_entry_is_a_page_not_found(signed_in):
    missing = signed_in.get("/dpo/audit/entries/999999")
    assert missing.status_code == 404
    assert "There is no such page." in missing.text
    assert signed_in.get("/dpo/audit/entries/0").status_code == 422


def test_a_csv_export_downloads_what_the_filters_match_and_is_audited(signed_in, runtime, seeded):
    response = signed_in.get("/dpo/audit/export?format=csv&decision=deny&agency=koeln-abh")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="audit.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {row["request_id"] for row in rows} == {"b2", "c2", "old"}
    (exported,) = recorded(runtime, EventType.AUDIT_EXPORTED)
    assert exported["actor"] == USER
    assert exported["details"] == {"format": "csv"}


def test_a_jsonl_export_keeps_every_position_and_ends_with_the_checkpoint(signed_in, seeded):
    response = signed_in.get("/dpo/audit/export?format=jsonl&decision=permit")
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert set(lines[-1]) == {"checkpoint"}
    entries = lines[:-1]
    assert [line["seq"] for line in entries] == list(range(len(entries)))
    shown = [line["entry"]["request_id"] for line in entries if not line.get("omitted")]
    assert sorted(shown) == ["a1", "a2", "b1", "c1"]


def test_exports_need_a_signed_in_dpo(pages, runtime, seeded):
    response = pages.get("/dpo/audit/export?format=csv")
    assert (response.status_code, response.headers["location"]) == (303, "/dpo/")
    assert recorded(runtime, EventType.AUDIT_EXPORTED) == []


def _emptied_entry(signed_in, runtime, *, licensed: bool) -> str:
    """An entry page of a placed decision whose content is gone: pruned by retention under a
    record of pruning, or emptied behind the triggers' back."""
    runtime.audit.publish(runtime.database)
    with runtime.database.transaction(read_only=True) as session:
        (entry_id,) = session.execute(
            select(AuditEntry.id)
            .join(AuditLeaf, AuditLeaf.entry_id == AuditEntry.id)
            .where(AuditEntry.event == EventType.EXCHANGE_DECIDED.value)
            .order_by(AuditEntry.id)
            .limit(1)
        ).one()
    if licensed:
        assert prune(runtime.audit, runtime.database, datetime.now(UTC) + timedelta(days=1))
    else:
        tamper(runtime.settings.database_url, EMPTY, id=entry_id)
    return signed_in.get(f"/dpo/audit/entries/{entry_id}").text


def test_an_entry_pruned_by_retention_says_so(signed_in, runtime, seeded: Seeded):
    page = _emptied_entry(signed_in, runtime, licensed=True)
    assert "removed after its retention period" in page
    assert "removed from outside the gateway" not in page


def test_an_entry_emptied_from_outside_is_not_passed_off_as_retention(
    signed_in, runtime, seeded: Seeded
):
    page = _emptied_entry(signed_in, runtime, licensed=False)
    assert "removed from outside the gateway" in page
    assert "removed after its retention period" not in page
