"""What holds on every DPO page: it needs a signed-in DPO, carries the security headers,
renders in all six languages (right to left in Arabic and Farsi), uses no inline style or
script, and puts no personal data into any address."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from gateway.web.i18n import LANGUAGES
from gateway.web.security import CONTENT_SECURITY_POLICY
from tests.audit.dpo_api.seeded import JOBCENTER, REFERENCES
from tests.dpo.pages import urls
from tests.dpo.seeded import NAME, Seeded, csrf_of

PAGES = ["/dpo/overview", "/dpo/audit", "/dpo/audit?decision=deny", "/dpo/integrity",
         "/dpo/report", "/dpo/notices", "/dpo/records", "/dpo/indicators", "/dpo/person",
         "/dpo/overview?days=90"]  # fmt: skip
FORMS = ["/dpo/sign-out", "/dpo/integrity/verify", "/dpo/report"]
DOWNLOADS = ["/dpo/integrity/checkpoint", "/dpo/integrity/key"]


def every_page(client) -> dict[str, object]:
    """Each page (the first entry's too, and a report's result), as the DPO gets it."""
    got = {path: client.get(path) for path in PAGES}
    entry = next(url for url in urls(got["/dpo/audit"].text) if "/entries/" in url)
    got[entry] = client.get(entry)
    token = csrf_of(got["/dpo/report"].text)
    got["POST /dpo/report"] = client.post(
        "/dpo/report",
        data={"csrf_token": token, "agency": JOBCENTER,
              "reference": REFERENCES["amina"][JOBCENTER]},
    )  # fmt: skip
    return got


def test_every_page_needs_a_signed_in_dpo(pages, user, seeded):
    for path in [*PAGES, "/dpo/audit/entries/1", "/dpo/audit/export", *DOWNLOADS]:
        response = pages.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/dpo/"), path
    for path in FORMS:
        response = pages.post(path, data={"csrf_token": "x" * 43})
        assert (response.status_code, response.headers["location"]) == (303, "/dpo/"), path


def test_every_page_carries_the_security_headers(signed_in, stranger, seeded):
    answers = every_page(signed_in)
    answers["sign-in"] = stranger.get("/dpo/")
    answers["not found"] = signed_in.get("/dpo/no-such-page")
    answers["export"] = signed_in.get("/dpo/audit/export?format=csv")
    answers |= {path: signed_in.get(path) for path in DOWNLOADS}
    answers["forged"] = signed_in.post("/dpo/integrity/verify", data={})
    for name, response in answers.items():
        headers = response.headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY, name
        assert "script-src" not in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY", name
        assert headers["x-content-type-options"] == "nosniff", name
        assert headers["referrer-policy"] == "no-referrer", name
        assert headers["cache-control"] == "no-store", name


def test_no_page_has_inline_style_or_script(signed_in, stranger, seeded):
    answers = every_page(signed_in)
    answers["sign-in"] = stranger.get("/dpo/")
    for name, response in answers.items():
        assert response.status_code == 200, name
        html = response.text.lower()
        assert "<script" not in html, name
        assert "style=" not in html, name
        assert "<style" not in html, name
        assert not re.search(r"\son[a-z]+=", html), name


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_every_page_renders_in_every_language(signed_in, seeded: Seeded, code):
    signed_in.get(f"/dpo/overview?lang={code}")  # remembered from here on
    language = LANGUAGES[code]
    answers = every_page(signed_in)
    answers["sign-in"] = signed_in.get("/dpo/?lang=" + code)  # signed in: leads on
    for name, response in answers.items():
        if name == "sign-in":
            assert response.headers["location"] == "/dpo/overview"
            continue
        assert response.status_code == 200, name
        html = response.text
        assert f'<html lang="{code}" dir="{language.direction}">' in html, name
        navigation = {"de": "Übersicht", "en": "Overview", "ar": "نظرة عامة", "uk": "Огляд",
                      "tr": "Genel bakış", "fa": "نمای کلی"}[code]  # fmt: skip
        assert f">{navigation}</a>" in html, name
        # Times and ids read left to right inside right-to-left text.
        times = re.findall(r"<time [^>]*>", html)
        assert all('dir="ltr"' in time for time in times), name


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_the_sign_in_page_renders_in_every_language(pages, code):
    html = pages.get(f"/dpo/?lang={code}").text
    assert f'<html lang="{code}" dir="{LANGUAGES[code].direction}">' in html
    assert ("Password" in html) == (code == "en")


def test_no_address_carries_personal_data(signed_in, stranger, seeded: Seeded):
    personal = [reference for person in REFERENCES.values() for reference in person.values()]
    personal += [*seeded.subjects.values(), NAME]
    answers = every_page(signed_in)
    answers["sign-in"] = stranger.get("/dpo/")
    seen = set()
    for response in answers.values():
        seen.add(str(response.url))
        seen.update(urls(response.text))
        if "location" in response.headers:
            seen.add(response.headers["location"])
    assert any("/dpo/audit/entries/" in url for url in seen)  # the crawl reached the entries
    for url in seen:
        for value in personal:
            assert value not in unquote(url), (url, value)
