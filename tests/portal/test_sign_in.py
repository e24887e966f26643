"""Signing in with the portal code: a strict session cookie for the right code; one neutral
answer for any wrong code; lock-out per code and per address (429, even for the right code);
the form's CSRF token; signing out and idle sessions end the session on the server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from gateway.web.tables import LoginFailures, WebSession
from tests.portal.conftest import AMIRA, HTTPS, JC, SIGN_IN_AGAIN, csrf_token, sign_in

UNKNOWN_CODE = "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"
PAGES = ["/portal/consents", "/portal/history"]


def _cookie(response, name: str) -> str:
    (header,) = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


def _sessions(runtime) -> int:
    with runtime.database.transaction(read_only=True) as session:
        return int(session.scalar(select(func.count()).select_from(WebSession)) or 0)


def _without_token(html: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', html)


def test_the_right_code_signs_in_with_a_strict_session_cookie(portal, offices, runtime):
    recorded = offices.record(AMIRA)
    response = sign_in(portal, recorded.portal_code)
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/consents"
    cookie = _cookie(response, "gw_portal").lower()
    for flag in ("httponly", "secure", "samesite=strict", "path=/portal/"):
        assert flag in cookie.split("; "), flag
    assert _sessions(runtime) == 1
    assert portal.get("/portal/consents").status_code == 200
    # Signed in, the sign-in page leads to the person's consents.
    assert portal.get("/portal/").headers["location"] == "/portal/consents"


def test_the_sign_in_forms_token_cookie_is_strict_too(portal):
    page = portal.get("/portal/")
    assert page.status_code == 200
    cookie = _cookie(page, "gw_signin").lower()
    for flag in ("httponly", "secure", "samesite=strict", "path=/portal/"):
        assert flag in cookie.split("; "), flag


def test_a_code_typed_in_small_letters_with_spaces_still_works(portal, offices):
    recorded = offices.record(AMIRA)
    typed = " " + recorded.portal_code.lower().replace("-", " ") + " "
    assert sign_in(portal, typed).status_code == 303


def test_any_wrong_code_gets_the_same_neutral_answer_and_stays_in_the_field(portal, offices):
    recorded = offices.record(AMIRA)
    almost = recorded.portal_code[:-1] + ("A" if recorded.portal_code[-1] != "A" else "B")
    first = sign_in(portal, almost)
    second = sign_in(portal, UNKNOWN_CODE)
    assert first.status_code == second.status_code == 400
    assert _without_token(first.text) == _without_token(second.text)
    assert "This code did not work" in first.text
    # What was typed stays in the field to be corrected (23 characters), and only there.
    assert f'name="code" value="{almost}"' in first.text
    assert first.text.count(almost) == 1
    assert "gw_portal" not in first.headers.get("set-cookie", "")


def test_what_was_typed_is_kept_as_text_never_as_markup(portal):
    typed = '"><script>alert(1)</script>'
    response = sign_in(portal, typed)
    assert response.status_code == 400
    assert "<script>" not in response.text
    assert 'value="&#34;&gt;&lt;script&gt;' in response.text


def test_the_try_before_the_lock_is_warned_about(portal, runtime):
    limit = runtime.settings.login_max_failures
    minutes = runtime.settings.login_lockout_minutes
    warning = f"one more wrong try, and signing in pauses for {minutes} minutes."
    answers = [sign_in(portal, UNKNOWN_CODE) for _ in range(limit - 1)]
    assert [warning in answer.text for answer in answers] == [False] * (limit - 2) + [True]
    german = sign_in(portal, UNKNOWN_CODE, **{"Accept-Language": "de"})
    assert german.status_code == 429  # the warned try was the last


def test_a_lock_says_until_when_in_the_citys_time_zone(portal, runtime):
    for _ in range(runtime.settings.login_max_failures):
        locked = sign_in(portal, UNKNOWN_CODE)
    assert locked.status_code == 429
    with runtime.database.transaction(read_only=True) as session:
        rows = session.scalars(select(LoginFailures)).all()
        until = max(row.locked_until for row in rows if row.locked_until is not None)
    local = until.astimezone(ZoneInfo(runtime.settings.time_zone))
    # Rounded up to the minute: "try again from" never comes too early (12:00:00.5 is 12:01).
    shown = local.replace(second=0, microsecond=0)
    if shown < local:
        shown += timedelta(minutes=1)
    text = f"You can try again from {shown:%-I:%M}\u202f{shown:%p} (Central European Time)."
    assert text in locked.text
    german = sign_in(portal, UNKNOWN_CODE, **{"Accept-Language": "de"})
    assert f"ab {shown:%H:%M} (Mitteleuropäische Zeit) wieder" in german.text


def test_an_empty_code_is_asked_for_and_not_counted(portal, runtime):
    response = sign_in(portal, "   ")
    assert response.status_code == 400
    assert "Please type in your portal code." in response.text
    with runtime.database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(LoginFailures)) == 0


def test_too_many_wrong_tries_of_one_code_lock_that_code(portal, offices, runtime):
    limit = runtime.settings.login_max_failures
    answers = [sign_in(portal, UNKNOWN_CODE).status_code for _ in range(limit + 1)]
    assert answers == [400] * (limit - 1) + [429, 429]
    locked = sign_in(portal, UNKNOWN_CODE)
    assert "Too many attempts. For your safety, signing in is paused." in locked.text
    # Another code from the same address is not locked by that code's count.
    assert sign_in(portal, offices.record(AMIRA).portal_code).status_code == 303


def test_too_many_failures_from_one_address_lock_it_even_for_the_right_code(
    app, portal, offices, runtime
):
    recorded = offices.record(AMIRA)
    token = csrf_token(portal.get("/portal/").text)
    limit = runtime.settings.login_max_failures * 4  # an address may fail four times as often
    for attempt in range(limit):
        wrong = f"WRONG-CODE-{attempt:05d}"
        response = portal.post("/portal/", data={"code": wrong, "csrf_token": token})
        assert response.status_code == (429 if attempt == limit - 1 else 400)
    refused = portal.post("/portal/", data={"code": recorded.portal_code, "csrf_token": token})
    assert refused.status_code == 429
    assert _sessions(runtime) == 0
    # The lock holds for that address only: the same person elsewhere gets in.
    with TestClient(
        app, base_url=HTTPS, follow_redirects=False, client=("192.0.2.7", 50000)
    ) as other:
        assert sign_in(other, recorded.portal_code).status_code == 303


def test_a_lock_reads_the_same_whether_the_code_exists_or_not(app, portal, offices, runtime):
    recorded = offices.record(AMIRA)
    token = csrf_token(portal.get("/portal/").text)
    for attempt in range(runtime.settings.login_max_failures * 4):
        portal.post("/portal/", data={"code": f"WRONG-{attempt}", "csrf_token": token})
    right = portal.post("/portal/", data={"code": recorded.portal_code, "csrf_token": token})
    unknown = portal.post("/portal/", data={"code": UNKNOWN_CODE, "csrf_token": token})
    assert right.status_code == unknown.status_code == 429
    assert _without_token(right.text) == _without_token(unknown.text)


def test_a_sign_in_without_the_forms_token_is_refused_and_counts_nothing(portal, offices, runtime):
    recorded = offices.record(AMIRA)
    no_token = portal.post("/portal/", data={"code": recorded.portal_code})
    assert no_token.status_code == 403
    portal.get("/portal/")  # the browser now holds a token cookie, but the form brings another
    wrong_token = portal.post(
        "/portal/", data={"code": recorded.portal_code, "csrf_token": "x" * 43}
    )
    assert wrong_token.status_code == 403
    assert "This form has expired" in wrong_token.text
    assert _sessions(runtime) == 0
    with runtime.database.transaction(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(LoginFailures)) == 0


def test_pages_need_a_session(portal, offices):
    recorded = offices.record(AMIRA)
    for path in [
        *PAGES,
        f"/portal/consents/{recorded.consent_id}/receipt",
        f"/portal/consents/{recorded.consent_id}/withdraw",
    ]:
        response = portal.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == SIGN_IN_AGAIN


def test_signing_out_ends_the_session_on_the_server(signed_in, offices, runtime):
    client = signed_in(offices.record(AMIRA))
    cookie = client.cookies.get("gw_portal", path="/portal/")
    token = csrf_token(client.get("/portal/consents").text)
    response = client.post("/portal/sign-out", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/portal/?notice=signed-out"
    assert 'gw_portal=""' in _cookie(response, "gw_portal")
    assert _sessions(runtime) == 0
    assert "You are signed out." in client.get("/portal/?notice=signed-out").text
    # The old cookie, replayed, is no session any more.
    client.cookies.set("gw_portal", cookie, domain="localhost", path="/portal/")
    assert client.get("/portal/consents").headers["location"] == SIGN_IN_AGAIN


def test_signing_out_needs_the_forms_token(signed_in, offices, runtime):
    client = signed_in(offices.record(AMIRA))
    assert client.post("/portal/sign-out", data={}).status_code == 403
    assert client.post("/portal/sign-out", data={"csrf_token": "y" * 43}).status_code == 403
    assert _sessions(runtime) == 1
    assert client.get("/portal/consents").status_code == 200


def test_an_idle_session_sends_the_person_back_to_sign_in(signed_in, offices, runtime):
    client = signed_in(offices.record(AMIRA))
    assert client.get("/portal/consents").status_code == 200
    idle = datetime.now(UTC) - timedelta(minutes=runtime.settings.session_idle_minutes + 1)
    with runtime.database.transaction() as session:
        session.execute(update(WebSession).values(last_seen_at=idle))
    for _ in range(2):  # refused, and not revived by the refused visit
        response = client.get("/portal/consents")
        assert response.status_code == 303
        assert response.headers["location"] == SIGN_IN_AGAIN


def test_signing_in_again_in_the_same_browser_ends_the_earlier_session(signed_in, offices, runtime):
    recorded = offices.record(AMIRA)
    client = signed_in(recorded)
    token = client.cookies.get("gw_signin", path="/portal/")
    again = client.post("/portal/", data={"code": recorded.portal_code, "csrf_token": token})
    assert again.status_code == 303
    assert _sessions(runtime) == 1


def test_a_reissued_code_replaces_the_old_one_and_ends_its_sessions(signed_in, offices, runtime):
    recorded = offices.record(AMIRA)
    client = signed_in(recorded)
    reissued = offices.api.post(
        f"/v1/consents/{recorded.consent_id}/portal-code", headers=offices.headers(JC)
    )
    assert reissued.status_code == 200, reissued.text
    assert client.get("/portal/consents").headers["location"] == SIGN_IN_AGAIN
    assert sign_in(client, recorded.portal_code).status_code == 400
    assert sign_in(client, reissued.json()["portal_code"]).status_code == 303
