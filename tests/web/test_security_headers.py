"""Every response is nosniff without referrer; pages and their files also carry a strict CSP
(no inline anything, no framing; script only on the portal's receipt, and only this
origin's files);
personal pages are never cached."""

from __future__ import annotations

import pytest

from gateway.web.security import CONTENT_SECURITY_POLICY, RECEIPT_CONTENT_SECURITY_POLICY


def _directives(policy: str) -> dict[str, list[str]]:
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {name: sources for name, *sources in parts}


@pytest.mark.parametrize(
    "path",
    [
        "/dpo/nothing-here",
        "/portal/",
        "/portal/consents",
        "/portal/help",
        "/portal/consents/x/receipt/more",
        "/static/style.css",
        "/static/print.js",
    ],
)
def test_pages_carry_a_strict_content_security_policy(http, path):
    response = http.get(path)
    policy = response.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "script-src" not in policy  # default-src 'none': no script at all
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_receipt_may_run_only_this_origins_script_files(http):
    path = "/portal/consents/3f2a9c1b-0000-4000-8000-000000000000/receipt"
    response = http.get(path, follow_redirects=False)  # signed out: a redirect, still the receipt's
    policy = response.headers["content-security-policy"]
    assert policy == RECEIPT_CONTENT_SECURITY_POLICY
    directives = _directives(policy)
    assert directives["default-src"] == ["'none'"]
    # Only files from this origin: no inline script, no eval, no other origin or scheme.
    assert directives["script-src"] == ["'self'"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "http" not in policy
    assert "*" not in policy
    assert "frame-ancestors 'none'" in policy
    assert _directives(CONTENT_SECURITY_POLICY) == {
        name: sources for name, sources in directives.items() if name != "script-src"
    }


def test_the_print_script_is_served_as_javascript(http):
    response = http.get("/static/print.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "window.print()" in response.text


def test_personal_pages_are_not_cached_but_the_style_sheet_may_be(http):
    assert http.get("/portal/nothing-here").headers["cache-control"] == "no-store"
    assert "cache-control" not in http.get("/static/style.css").headers


def test_the_api_is_nosniff_without_referrer_and_keeps_its_own_content_types(http):
    response = http.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" not in response.headers
    assert response.headers["content-type"].startswith("application/json")


def test_errors_on_page_paths_are_pages_and_on_the_api_problems(http):
    page = http.get("/portal/nothing-here", headers={"Accept-Language": "tr"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert 'lang="tr"' in page.text
    api = http.get("/v1/nothing-here")
    assert api.headers["content-type"] == "application/problem+json"
