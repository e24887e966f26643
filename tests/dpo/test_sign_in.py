"""Signing in to the DPO pages: right and wrong credentials, the TOTP code, the same answer for
every failure, lock-out per user name and per address, the session cookie, CSRF on every form,
idle sessions, signing out, and the audit of it all."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from gateway.audit.events import EventType
from gateway.dpo import totp, users
from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.web.tables import LoginFailures, WebSession
from tests.dpo.conftest import sign_in
from tests.dpo.seeded import (
    PASSWORD,
    TOTP_NAME,
    TOTP_USER,
    USER,
    add_user,
    csrf_of,
    current_code,
    recorded,
    totp_secret,
)

FAILED = "Sign-in failed."


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Two failures lock a user name (and eight an address), to keep the tests short."""
    return settings.model_copy(update={"login_max_failures": 2})


def sessions_of(runtime: Runtime) -> list[WebSession]:
    with runtime.database.transaction(read_only=True) as session:
        return list(session.scalars(select(WebSession)))


def failure_rows(runtime: Runtime) -> list[LoginFailures]:
    with runtime.database.transaction(read_only=True) as session:
        return list(session.scalars(select(LoginFailures)))


def forget_failures(runtime: Runtime) -> None:
    with runtime.database.transaction() as session:
        session.execute(delete(LoginFailures))


def refused_page(response) -> str:
    """The refusal, without the user name it keeps for the next try (the visitor's own input:
    the same for a known and an unknown name)."""
    assert response.status_code == 200
    assert FAILED in response.text
    assert not any(value.startswith("gw_dpo=") for value in response.headers.get_list("set-cookie"))
    return re.sub(r'(id="user" [^>]*value=")[^"]*"', r'\1"', response.text, flags=re.S)


def test_the_right_password_starts_a_session_with_a_strict_cookie(pages, user, runtime):
    response = sign_in(pages)
    assert (response.status_code, response.headers["location"]) == (303, "/dpo/overview")
    cookie = next(
        value for value in response.headers.get_list("set-cookie") if value.startswith("gw_dpo=")
    )
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "path", "samesite", "max-age"} <= flags
    assert "samesite=strict" in cookie.lower()
    assert "path=/dpo/" in cookie.lower()
    (stored,) = sessions_of(runtime)
    assert (stored.realm, stored.principal) == ("dpo", USER)
    assert cookie.split(";")[0].split("=", 1)[1] != stored.token_hash  # only a hash is kept
    assert pages.get("/dpo/overview").status_code == 200
    # Signed in, the sign-in page leads on.
    assert pages.get("/dpo/").headers["location"] == "/dpo/overview"


def test_the_user_name_is_matched_without_regard_to_case(pages, user):
    assert sign_in(pages, "  Anna.SCHMIDT ").status_code == 303


def test_every_failure_gets_the_same_answer_and_no_session(pages, user, runtime, settings):
    add_user(runtime, "disabled.user", "Dis Abled")
    with runtime.database.transaction() as session:
        users.disable_user(session, runtime.audit, "disabled.user", datetime.now(UTC))
    answers = [
        refused_page(sign_in(pages, USER, "falsches Passwort!")),
        refused_page(sign_in(pages, "nobody.here", PASSWORD)),
        refused_page(sign_in(pages, "disabled.user", PASSWORD)),
        refused_page(sign_in(pages, "", "")),
    ]
    assert len(set(answers)) == 1
    assert sessions_of(runtime) == []
    assert pages.get("/dpo/overview").headers["location"] == "/dpo/"


def test_unknown_users_cost_a_password_check_too(pages, user, monkeypatch):
    checked = []
    real = users.verify_secret
    monkeypatch.setattr(
        users, "verify_secret", lambda *args: checked.append(args[1]) or real(*args)
    )
    sign_in(pages, "nobody.here", PASSWORD)
    sign_in(pages, USER, "falsches Passwort!")
    assert len(checked) == 2
    assert all(stored.startswith("scrypt$16384$8$1$") for stored in checked)


def test_a_user_with_totp_needs_the_current_code(pages, runtime):
    added = add_user(runtime, TOTP_USER, TOTP_NAME, with_totp=True)
    assert added.totp_uri is not None
    refused_page(sign_in(pages, TOTP_USER, PASSWORD))
    refused_page(sign_in(pages, TOTP_USER, PASSWORD, "000000"))
    forget_failures(runtime)  # two failures lock the name in these tests
    refused_page(sign_in(pages, TOTP_USER, "falsches Passwort!", current_code(added.totp_uri)))
    assert sessions_of(runtime) == []
    assert sign_in(pages, TOTP_USER, PASSWORD, current_code(added.totp_uri)).status_code == 303


def test_a_one_time_code_works_only_once(pages, runtime):
    added = add_user(runtime, TOTP_USER, TOTP_NAME, with_totp=True)
    assert added.totp_uri is not None
    code = current_code(added.totp_uri)
    assert sign_in(pages, TOTP_USER, PASSWORD, code).status_code == 303
    pages.cookies.clear()
    refused_page(sign_in(pages, TOTP_USER, PASSWORD, code))
    forget_failures(runtime)
    # The next code (one step ahead is within the allowed drift) is taken.
    secret = totp_secret(added.totp_uri)
    following = totp.code_at(secret, datetime.now(UTC) + timedelta(seconds=totp.STEP))
    assert sign_in(pages, TOTP_USER, PASSWORD, following).status_code == 303


def test_a_code_is_ignored_for_a_user_without_totp(pages, user):
    assert sign_in(pages, USER, PASSWORD, "123456").status_code == 303


def test_a_user_name_is_locked_after_too_many_failures_even_for_the_right_password(
    pages, user, runtime
):
    for _ in range(2):
        refused_page(sign_in(pages, USER, "falsches Passwort!"))
    locked = sign_in(pages, USER, PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "Too many attempts" in locked.text
    assert sessions_of(runtime) == []
    # Another user from the same address is not locked by it.
    add_user(runtime, "other.dpo", "Other")
    assert sign_in(pages, "other.dpo", PASSWORD).status_code == 303


def test_an_address_is_locked_after_too_many_failures_across_names(pages, user, runtime):
    for number in range(8):  # four times a user name's limit
        refused_page(sign_in(pages, f"guess{number}", PASSWORD))
    assert sign_in(pages, USER, PASSWORD).status_code == 429
    assert sessions_of(runtime) == []


def test_a_successful_sign_in_clears_the_names_count(pages, user, runtime):
    refused_page(sign_in(pages, USER, "falsches Passwort!"))
    assert sign_in(pages, USER, PASSWORD).status_code == 303
    pages.cookies.clear()
    refused_page(sign_in(pages, USER, "falsches Passwort!"))
    assert sign_in(pages, USER, PASSWORD).status_code == 303  # not locked: the count restarted


def test_failures_are_counted_without_the_name_or_the_address(pages, user, runtime):
    refused_page(sign_in(pages, USER, "falsches Passwort!"))
    rows = failure_rows(runtime)
    assert len(rows) == 2  # the user name's count and the address's
    for row in rows:
        assert USER not in row.key
        assert "testclient" not in row.key


def test_sign_ins_are_audited_and_a_failure_does_not_name_who_was_tried(pages, user, runtime):
    refused_page(sign_in(pages, USER, "falsches Passwort!"))
    sign_in(pages, USER, PASSWORD)
    (failure,) = recorded(runtime, EventType.DPO_SIGN_IN_FAILED)
    assert "actor" not in failure
    assert failure["details"] == {"locked": False}
    assert USER not in str(failure)
    assert "falsches" not in str(failure)
    (success,) = recorded(runtime, EventType.DPO_SIGNED_IN)
    assert success["actor"] == USER
    assert PASSWORD not in str(success)


def test_a_sign_in_form_without_its_cookie_token_is_refused_and_counts_nothing(
    stranger, user, runtime
):
    token = csrf_of(stranger.get("/dpo/").text)
    stranger.cookies.clear()
    form = {"user": USER, "password": PASSWORD, "csrf_token": token}
    refused = stranger.post("/dpo/sign-in", data=form)
    assert refused.status_code == 403
    assert "form has expired" in refused.text
    stranger.get("/dpo/")
    wrong = stranger.post("/dpo/sign-in", data=form | {"csrf_token": "x" * 43})
    assert wrong.status_code == 403
    missing = stranger.post("/dpo/sign-in", data={"user": USER, "password": PASSWORD})
    assert missing.status_code == 403
    assert sessions_of(runtime) == []
    assert failure_rows(runtime) == []
    assert recorded(runtime, EventType.DPO_SIGNED_IN) == []


def test_signing_out_ends_the_session_and_clears_the_cookie(signed_in, runtime):
    token = csrf_of(signed_in.get("/dpo/overview").text)
    response = signed_in.post("/dpo/sign-out", data={"csrf_token": token})
    assert (response.status_code, response.headers["location"]) == (303, "/dpo/")
    assert 'gw_dpo=""' in response.headers["set-cookie"]
    assert sessions_of(runtime) == []
    (body,) = recorded(runtime, EventType.DPO_SIGNED_OUT)
    assert body["actor"] == USER


@pytest.mark.parametrize("token", [None, "", "forged-token-of-the-right-length-abcdefghij"])
def test_a_forged_sign_out_is_refused_and_the_session_lives_on(signed_in, runtime, token):
    form = {} if token is None else {"csrf_token": token}
    refused = signed_in.post("/dpo/sign-out", data=form)
    assert refused.status_code == 403
    assert "form has expired" in refused.text
    assert len(sessions_of(runtime)) == 1
    assert signed_in.get("/dpo/overview").status_code == 200
    assert recorded(runtime, EventType.DPO_SIGNED_OUT) == []


def test_an_idle_session_sends_the_dpo_back_to_sign_in(signed_in, runtime, settings):
    idle = datetime.now(UTC) - timedelta(minutes=settings.session_idle_minutes, seconds=5)
    with runtime.database.transaction() as session:
        session.execute(update(WebSession).values(last_seen_at=idle))
    for path in ("/dpo/overview", "/dpo/audit", "/dpo/integrity"):
        response = signed_in.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/dpo/")
    # The sign-in page shows the form again rather than leading on.
    assert signed_in.get("/dpo/").status_code == 200


def test_a_session_of_a_user_disabled_behind_the_gateways_back_ends(signed_in, runtime):
    with runtime.database.transaction() as session:
        session.execute(update(users.DpoUser).values(enabled=False))
    response = signed_in.get("/dpo/overview")
    assert (response.status_code, response.headers["location"]) == (303, "/dpo/")
