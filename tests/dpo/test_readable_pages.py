"""The DPO pages read in words (issue 20, after a screenshot review): agencies by their names on
the overview, the notices and the person page, a municipality's code said to be one, an entry's
details in words, lists joined with the language's comma; the audit log's filters folded with
the ones in force said in a line, the order by time said as such, wide tables that say they
scroll; the recorded entry wrapped and the verify command kept whole."""

from __future__ import annotations

import re
from html import unescape

from gateway.dpo import details
from gateway.dpo.pages import comma
from gateway.web.i18n import LANGUAGES
from tests.dpo.pages import facts, tables, urls
from tests.dpo.seeded import Seeded, name_agencies
from tests.dpo.test_indicators_page import MEDIAN, PERIOD, computed  # noqa: F401 (a fixture)


def test_the_overview_names_the_agencies_of_each_flow(signed_in, runtime, seeded: Seeded):
    name_agencies(runtime)
    html = unescape(signed_in.get("/dpo/overview").text)
    assert "Ausländerbehörde Köln → Jobcenter Köln" in html
    assert "koeln-abh → koeln-jobcenter" not in html
    assert '<span title="koeln-abh">Ausländerbehörde Köln</span>' in html  # the id on hover


def test_the_notices_name_the_agency_with_its_id_on_hover(signed_in, runtime, seeded: Seeded):
    name_agencies(runtime)
    html = signed_in.get("/dpo/notices").text
    assert '<span title="koeln-jobcenter">Jobcenter Köln</span>' in html


def test_the_person_page_offers_the_agencies_by_name(signed_in, runtime, seeded: Seeded):
    name_agencies(runtime)
    html = signed_in.get("/dpo/person").text
    assert '<option value="koeln-jobcenter">Jobcenter Köln</option>' in html


def test_a_municipality_is_said_to_be_known_by_its_code(signed_in, computed):  # noqa: F811
    html = unescape(signed_in.get(f"/dpo/indicators?{PERIOD}").text)
    (median,) = [each for each in tables(html) if each["caption"] == MEDIAN]
    header = median["rows"][0]  # type: ignore[index]
    assert "Municipality koeln" in header
    assert "koeln" not in header  # never the bare code as a heading
    assert "koeln is the municipality's code, as its agencies are registered." in html


def test_an_entrys_details_are_in_words_with_yes_or_no(signed_in, seeded: Seeded):
    listed = signed_in.get("/dpo/audit?event=dpo.signed_in").text
    (link,) = [unescape(url) for url in urls(listed) if url.startswith("/dpo/audit/entries/")][:1]
    html = signed_in.get(link).text
    assert facts(html)["Details"].startswith("with one-time codes")
    # The recorded key on hover, the truth value as a word.
    assert '<dt title="totp">with one-time codes</dt><dd><bdi>no</bdi></dd>' in html
    assert "totp=False" not in html
    # The recorded entry wraps in its box rather than running off the page.
    assert '<pre class="wrap" dir="ltr"><code>{' in html


def test_details_name_known_keys_and_leave_unknown_ones_as_they_are():
    shown = details.shown(
        {"agency": "koeln-abh", "locked": True, "odd_key": 3}, {"koeln-abh": "ABH"}
    )
    assert [(item.label, item.value, item.named) for item in shown] == [
        ("agency", "ABH", True),
        ("sign-in locked", "yes", True),
        ("odd_key", "3", False),
    ]


def test_arabic_and_farsi_join_lists_with_their_own_comma(signed_in, seeded: Seeded):
    assert comma(LANGUAGES["ar"]) == comma(LANGUAGES["fa"]) == "\u060c "
    assert comma(LANGUAGES["de"]) == ", "
    html = signed_in.get("/dpo/records?lang=ar").text
    assert "\u060c " in html
    purposes = re.findall(r"<dt>[^<]*</dt><dd>(.*?)</dd>", html)
    assert not [found for found in purposes if "</code>, <code" in found]


def test_the_audit_filters_stay_folded_and_those_in_force_are_said(signed_in, runtime, seeded):
    name_agencies(runtime)
    html = unescape(signed_in.get("/dpo/audit?decision=deny&agency=koeln-abh").text)
    assert '<details class="filters">' in html  # folded, even with filters in force
    in_force = re.search(r'<p class="in-force" id="in-force">(.*?)</p>', html, re.S)
    assert in_force is not None
    said = " ".join(re.sub(r"<[^>]+>", "", in_force.group(1)).split())
    assert "Decision: denied" in said
    assert "Agency: Ausländerbehörde Köln" in said
    assert "Clear the filters" in said
    assert 'id="in-force"' not in signed_in.get("/dpo/audit").text


def test_the_order_by_time_says_so_and_wide_tables_say_they_scroll(signed_in, seeded: Seeded):
    html = signed_in.get("/dpo/audit").text
    assert ">Newest first (by time recorded)</a>" in html
    assert ">Oldest first (by time recorded)</a>" in html
    assert "The table scrolls sideways: swipe or scroll it to see every column." in html
    assert '<div class="table-scroll wide-table" role="region"' in html


def test_the_integrity_page_says_the_count_plainly_and_keeps_the_command_whole(signed_in, seeded):
    html = signed_in.get("/dpo/integrity").text
    assert "Shown here: the latest" not in html
    assert re.search(r"Checkpoints in all: \d+\.</p>", html)
    assert '<pre class="command" dir="ltr"><code>gateway audit verify' in html
