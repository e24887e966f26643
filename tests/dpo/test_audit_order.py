"""The audit log's list as a DPO reads it (issue 20): newest first, other orders on request,
keyset pages that neither skip nor repeat in either direction, columns of the DPO's choice kept
in every link, one number per entry, and names in words with the raw code on hover."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import select

from gateway.audit.events import AuditEvent, EventType
from gateway.audit.tables import AuditEntry, AuditLeaf
from gateway.dpo import search
from tests.dpo.pages import facts, rows_under, tables, urls
from tests.dpo.seeded import Seeded, name_agencies

ORDERS = ["", "direction=asc", "sort=position", "sort=position&direction=asc"]


def page_of(client, address: str) -> str:
    response = client.get(address)
    assert response.status_code == 200, response.text
    return response.text


def entry_links(html: str) -> list[str]:
    return [unescape(url) for url in urls(html) if url.startswith("/dpo/audit/entries/")]


def entry_ids(html: str) -> list[int]:
    return [int(re.findall(r"/entries/(\d+)", link)[0]) for link in entry_links(html)]


def link(html: str, rel: str) -> str | None:
    found = re.findall(rf'href="(/dpo/audit\?[^"]*)" rel="{rel}"', html)
    return unescape(found[0]) if found else None


def times(html: str) -> list[str]:
    return [row[1] for row in rows_under(html, "Position")]


def test_the_newest_entries_come_first(signed_in, seeded: Seeded):
    html = page_of(signed_in, "/dpo/audit")
    shown = times(html)
    assert shown == sorted(shown, reverse=True)
    assert page_of(signed_in, "/dpo/audit?direction=asc") != html
    assert times(page_of(signed_in, "/dpo/audit?direction=asc")) == sorted(shown)
    # The order in force is marked, and the time column says how it is sorted.
    assert 'aria-current="true">Newest first (by time recorded)</a>' in html
    assert '<th scope="col" aria-sort="descending">Time</th>' in html


def test_by_position_the_waiting_entries_are_the_newest(signed_in, runtime, seeded: Seeded):
    with runtime.database.transaction() as session:
        runtime.audit.record(session, AuditEvent(EventType.POLICY_SET_LOADED))
    rows = rows_under(page_of(signed_in, "/dpo/audit?sort=position"), "Position")
    numbers = [row[0] for row in rows]
    waiting = [number for number in numbers if number == "waiting"]
    assert waiting
    assert numbers[: len(waiting)] == waiting
    placed = [int(number) for number in numbers[len(waiting) :]]
    assert placed == sorted(placed, reverse=True)
    assert placed[-1] == 0
    rising_page = page_of(signed_in, "/dpo/audit?sort=position&direction=asc")
    rising = [row[0] for row in rows_under(rising_page, "Position")]
    assert rising == [str(number) for number in reversed(placed)] + waiting


@pytest.mark.parametrize("order", ORDERS)
def test_pages_neither_skip_nor_repeat_forwards_and_backwards(
    signed_in, runtime, seeded: Seeded, monkeypatch, order
):
    # Three more entries of one moment, still waiting for a place: ties in time, and the
    # waiting ones' turn in the order by position, fall across pages too.
    moment = datetime.now(UTC) - timedelta(days=2, hours=5)
    with runtime.database.transaction() as session:
        for _ in range(3):
            runtime.audit.record(session, AuditEvent(EventType.POLICY_SET_LOADED), now=moment)
    whole = entry_ids(page_of(signed_in, f"/dpo/audit?{order}"))
    assert len(whole) == 18
    assert len(set(whole)) == 18
    monkeypatch.setattr(search, "PAGE_SIZE", 4)
    pages, address = [], f"/dpo/audit?{order}"
    while address:
        html = page_of(signed_in, address)
        pages.append(entry_ids(html))
        address = link(html, "next")
        assert address is None or order in address  # the order goes along
    assert [len(found) for found in pages] == [4, 4, 4, 4, 2]
    assert [entry for found in pages for entry in found] == whole
    # Back from the last page, page by page, to the first.
    back, address = [pages[-1]], link(html, "prev")
    while address:
        html = page_of(signed_in, address)
        back.append(entry_ids(html))
        address = link(html, "prev")
    assert back[::-1] == pages
    assert "First page" not in html


@pytest.mark.parametrize("order", ORDERS)
def test_each_order_is_the_one_it_names(signed_in, runtime, seeded: Seeded, order):
    moment = datetime.now(UTC) - timedelta(days=1)
    with runtime.database.transaction() as session:
        for _ in range(2):
            runtime.audit.record(session, AuditEvent(EventType.POLICY_SET_LOADED), now=moment)
    with runtime.database.transaction(read_only=True) as session:
        rows = session.execute(
            select(AuditEntry.id, AuditEntry.recorded_at, AuditLeaf.seq).outerjoin(
                AuditLeaf, AuditLeaf.entry_id == AuditEntry.id
            )
        ).all()
    if "position" in order:  # waiting entries (no place yet) after every placed one, by id
        key = {i: (seq is None, seq if seq is not None else i) for i, _, seq in rows}
    else:
        key = {i: (at, i) for i, at, _ in rows}
    expected = sorted(key, key=key.__getitem__, reverse="asc" not in order)
    assert entry_ids(page_of(signed_in, f"/dpo/audit?{order}")) == expected


def test_new_entries_do_not_shift_the_next_page(signed_in, runtime, seeded: Seeded, monkeypatch):
    monkeypatch.setattr(search, "PAGE_SIZE", 5)
    first = page_of(signed_in, "/dpo/audit")
    expected = entry_ids(page_of(signed_in, link(first, "next") or ""))
    with runtime.database.transaction() as session:
        for _ in range(3):
            runtime.audit.record(session, AuditEvent(EventType.POLICY_SET_LOADED))
    assert entry_ids(page_of(signed_in, link(first, "next") or "")) == expected


def test_a_page_before_the_first_is_the_first_page(signed_in, seeded: Seeded, monkeypatch):
    monkeypatch.setattr(search, "PAGE_SIZE", 4)
    first = page_of(signed_in, "/dpo/audit")
    second = page_of(signed_in, link(first, "next") or "")
    assert entry_ids(page_of(signed_in, link(second, "prev") or "")) == entry_ids(first)
    newest = entry_ids(first)[0]
    assert entry_ids(page_of(signed_in, f"/dpo/audit?cursor=before-{newest}")) == entry_ids(first)


@pytest.mark.parametrize(
    "query",
    ["sort=size", "direction=up", "column=subject", "cursor=after-x", "cursor=after-999999"],
)
def test_an_unknown_order_column_or_cursor_is_refused(signed_in, seeded: Seeded, query):
    assert signed_in.get(f"/dpo/audit?{query}").status_code == 422


def test_the_usual_columns_and_the_chosen_ones(signed_in, seeded: Seeded):
    usual = tables(page_of(signed_in, "/dpo/audit"))[-1]["rows"][0]
    assert usual == ["Position", "Time", "Decision", "Event", "Receiving agency",
                     "Providing agency", "Categories", "Purpose"]  # fmt: skip
    html = page_of(signed_in, "/dpo/audit?column=legal_basis&column=actor&column=time")
    (header, *rows) = tables(html)[-1]["rows"]
    assert header == ["Position", "Time", "Legal basis", "Acting client or user"]
    assert "consent" in [row[2] for row in rows]
    # The form shows the choice, and the filter form keeps it while it changes the filters.
    assert 'name="column" value="actor" checked' in html
    assert 'name="column" value="decision">' in html
    assert '<input type="hidden" name="column" value="legal_basis">' in html


def test_order_columns_and_filters_stay_in_every_link(signed_in, seeded: Seeded, monkeypatch):
    monkeypatch.setattr(search, "PAGE_SIZE", 2)
    kept = "decision=deny&sort=position&column=time&column=purpose"
    html = page_of(signed_in, f"/dpo/audit?{kept}")
    following = link(html, "next") or ""
    entry = entry_links(html)[0]
    languages = [unescape(url) for url in urls(html) if "lang=" in url]
    for address in [following, entry, *languages]:
        for part in kept.split("&"):
            assert part in address, address
    # The entry's way back leads to the same page of the same search.
    assert f'href="/dpo/audit?{kept.replace("&", "&amp;")}"' in page_of(signed_in, entry)


def test_filters_order_and_columns_survive_a_language_switch(signed_in, seeded: Seeded):
    english = page_of(signed_in, "/dpo/audit?decision=deny&direction=asc&column=legal_basis")
    (to_german,) = [unescape(url) for url in urls(english) if url.endswith("lang=de")]
    german = page_of(signed_in, to_german)
    assert '<html lang="de"' in german
    assert entry_ids(german) == entry_ids(english)
    assert tables(german)[-1]["rows"][0] == ["Position", "Rechtsgrundlage"]
    assert '<option value="deny" selected>' in german
    assert 'aria-current="true">Älteste zuerst (nach Aufzeichnungszeit)</a>' in german


def test_an_entry_has_one_number_everywhere(signed_in, runtime, seeded: Seeded):
    html = page_of(signed_in, "/dpo/audit?decision=deny&reason=purpose_not_covered")
    (row,) = rows_under(html, "Position")
    number = row[0]
    assert number.isdigit()
    (address,) = entry_links(html)
    assert f'aria-label="Entry {number}"' in html
    entry = page_of(signed_in, address)
    assert f"<h1>Entry {number}</h1>" in entry
    shown = facts(entry)
    assert shown["Position in the log"] == number
    # The internal id, which the address carries, only in the detail.
    internal = re.findall(r"/entries/(\d+)", address)[0]
    assert shown["Internal number (in the page's address)"] == internal
    assert internal != number  # the seed's entries are placed after the registrations


def test_an_entry_without_a_place_says_it_waits(signed_in, runtime, seeded: Seeded):
    with runtime.database.transaction() as session:
        runtime.audit.record(session, AuditEvent(EventType.POLICY_SET_LOADED, actor="operator"))
    html = page_of(signed_in, "/dpo/audit?event=policy.loaded")
    (row,) = rows_under(html, "Position")
    assert row[0] == "waiting"
    entry = page_of(signed_in, entry_links(html)[0])
    assert "<h1>Entry waiting for its position</h1>" in entry
    assert facts(entry)["Position in the log"] == "waiting for the next checkpoint"
    assert facts(entry)["Acting client or user"] == (
        "operator (a command on the gateway's server) operator"
    )


def test_names_are_words_with_the_raw_code_on_hover(signed_in, runtime, seeded: Seeded):
    names = name_agencies(runtime)
    html = page_of(signed_in, "/dpo/audit?decision=permit&column=event&column=provider"
                   "&column=legal_basis&column=actor")  # fmt: skip
    rows = rows_under(html, "Position")
    assert {row[1] for row in rows} == {"data request decided"}
    assert {row[2] for row in rows} == {names["koeln-abh"], names["koeln-sozialamt"]}
    assert {row[3] for row in rows} == {"consent"}
    assert '<span title="exchange.decided">data request decided</span>' in html
    assert '<span title="koeln-abh">Ausländerbehörde Köln</span>' in html
    assert '<span title="consent">consent</span>' in html
    # The registrations name who acted: the operator, in words.
    everything = page_of(signed_in, "/dpo/audit?event=client.added&column=actor")
    assert {row[1] for row in rows_under(everything, "Position")} == {
        "operator (a command on the gateway's server)"
    }


def test_a_statute_reads_as_the_law_it_names(signed_in, runtime, seeded: Seeded):
    with runtime.database.transaction() as session:
        runtime.audit.record(
            session,
            AuditEvent(EventType.EXCHANGE_DECIDED, legal_basis="statute: § 71 Abs. 2 SGB X"),
        )
    german = page_of(signed_in, "/dpo/audit?lang=de&column=legal_basis")
    assert '<span title="statute: § 71 Abs. 2 SGB X">per Gesetz: § 71 Abs. 2 SGB X</span>' in german


def test_the_event_filter_groups_every_event_in_words(signed_in, seeded: Seeded):
    german = page_of(signed_in, "/dpo/audit?lang=de")
    start = german.index('<select id="event"')
    select = german[start : german.index("</select>", start)]
    groups = re.findall(r'<optgroup label="([^"]+)">', select)
    assert len(groups) == 7
    assert "Einwilligungen und das Portal der Person" in groups
    options = re.findall(r'<option value="([a-z_.]+)"[^>]*>([^<]+)</option>', select)
    assert {value for value, _ in options} == {event.value for event in EventType}
    assert all(value != shown and "." not in shown for value, shown in options)
    assert ("consent.withdrawn", "Einwilligung widerrufen") in options


def test_a_withdrawal_of_some_permissions_reads_as_one(signed_in, runtime, seeded: Seeded):
    moment = datetime.now(UTC) - timedelta(minutes=1)
    with runtime.database.transaction() as session:
        for whole, count in ((False, 1), (True, 2)):
            details = {"channel": "portal", "grants_withdrawn": count, "whole": whole}
            event = AuditEvent(EventType.CONSENT_WITHDRAWN, actor="person", details=details)
            runtime.audit.record(session, event, now=moment)
    html = page_of(signed_in, "/dpo/audit?event=consent.withdrawn")
    assert sorted(row[3] for row in rows_under(html, "Position")) == [
        "consent withdrawn",
        "consent withdrawn in part (permissions withdrawn: 1)",
    ]
    german = page_of(signed_in, "/dpo/audit?event=consent.withdrawn&lang=de")
    assert "Einwilligung teilweise widerrufen (widerrufene Freigaben: 1)" in german
