"""What a busy DPO stumbled over on the sign-in, notices and person pages: a failed sign-in
keeps the user name (never the password), a lock says until when, notices read as labelled
cards on a phone, and the step that erases a person is a button marked as dangerous while a
done change is confirmed as done."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.dpo.conftest import sign_in
from tests.dpo.pages import rows_under
from tests.dpo.seeded import USER, Seeded
from tests.dpo.test_person_requests import AMINA, _post


def test_a_failed_sign_in_keeps_the_user_name_but_never_the_password(pages, user):
    refused = sign_in(pages, USER, "falsches Passwort!")
    assert refused.status_code == 200
    assert re.search(rf'id="user" [^>]*value="{re.escape(USER)}"', refused.text)
    assert "falsches Passwort!" not in refused.text
    password = re.search(r'<input type="password"[^>]*>', refused.text)
    assert password
    assert "value=" not in password.group(0)


def test_a_lock_says_until_when(pages, user, settings):
    for _ in range(settings.login_max_failures):
        sign_in(pages, USER, "falsches Passwort!")
    locked = sign_in(pages, USER, "falsches Passwort!")
    assert locked.status_code == 429
    wait = int(locked.headers["retry-after"])
    shown = re.search(r"You can try again from <time datetime=\"([^\"]+)\"", locked.text)
    assert shown, locked.text
    until = datetime.fromisoformat(shown.group(1))
    expected = datetime.now(UTC) + timedelta(seconds=wait)
    assert abs((until - expected).total_seconds()) < 5
    assert re.search(rf'id="user" [^>]*value="{re.escape(USER)}"', locked.text)


def test_notices_are_labelled_cards_on_a_phone(signed_in, seeded: Seeded):
    html = signed_in.get("/dpo/notices").text
    assert '<table class="stack">' in html
    cells = re.findall(r'<td data-label="([^"]+)">', html)
    headers = ["Agency", "Age in days", "Exchanges affected", "Messages affected",
               "Notice sent", "Consent"]  # fmt: skip
    assert cells == headers * 2  # two notices unanswered, each cell named by its column
    assert [row[0] for row in rows_under(html, "Agency")] == [
        "Agency koeln-jobcenter",
        "Agency koeln-sozialamt",
    ]  # by name


def test_the_erasing_step_is_a_danger_button_and_a_done_change_reads_as_done(
    signed_in, runtime, seeded: Seeded
):
    asked = _post(signed_in, "/dpo/person/erase", reference=AMINA)
    assert re.search(r'<button type="submit" class="danger">Yes, erase now</button>', asked.text)
    restricted = _post(signed_in, "/dpo/person/control", reference=AMINA, action="restrict")
    assert '<div class="notice ok" role="status"><p>The processing is restricted now.' in (
        restricted.text
    )
