"""The gateway's own address is a page, not a 404: where the portal, the DPO pages, the API
description and the service's state are, in the visitor's language."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

LINKS = ('href="/portal/"', 'href="/dpo/"', 'href="/openapi.json"', 'href="/readyz"')


def test_the_start_page_links_what_a_visitor_looks_for(http: TestClient):
    page = http.get("/", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for link in LINKS:
        assert link in page.text
    assert "Your consents" in page.text
    assert "<script" not in page.text  # the pages' Content-Security-Policy forbids scripts


@pytest.mark.parametrize(
    ("code", "direction", "text"),
    [("de", "ltr", "Ihre Einwilligungen"), ("ar", "rtl", "موافقاتك"), ("fa", "rtl", "رضایت"),
     ("tr", "ltr", "Onaylarınız"), ("uk", "ltr", "Ваші згоди")],
)  # fmt: skip
def test_the_start_page_speaks_each_language(http: TestClient, code, direction, text):
    page = http.get("/", params={"lang": code})
    assert f'lang="{code}" dir="{direction}"' in page.text
    assert text in page.text


def test_the_start_page_is_no_part_of_the_api_description(http: TestClient):
    assert "/" not in http.get("/openapi.json").json()["paths"]
