"""A browser-like client of the DPO pages over https (so Secure cookies travel), a DPO user,
the seeded log, and the same client signed in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.runtime import Runtime
from tests.dpo.seeded import PASSWORD, USER, Seeded, add_user, csrf_of, seed
from tests.support import Clients

HTTPS = "https://localhost"


def browser_like(app: FastAPI) -> TestClient:
    return TestClient(
        app,
        base_url=HTTPS,
        raise_server_exceptions=False,
        follow_redirects=False,
        headers={"Accept-Language": "en"},  # the tests read the English texts
    )


@pytest.fixture
def pages(app: FastAPI) -> Iterator[TestClient]:
    with browser_like(app) as client:
        yield client


@pytest.fixture
def stranger(app: FastAPI) -> Iterator[TestClient]:
    """Another browser, never signed in."""
    with browser_like(app) as client:
        yield client


@pytest.fixture
def user(runtime: Runtime) -> str:
    add_user(runtime)
    return USER


@pytest.fixture
def seeded(runtime: Runtime, clients: Clients) -> Seeded:
    return seed(runtime, clients)


def sign_in(pages: TestClient, user: str = USER, password: str = PASSWORD, code: str = ""):
    form = pages.get("/dpo/")
    assert form.status_code == 200, form.text
    return pages.post(
        "/dpo/sign-in",
        data={"user": user, "password": password, "code": code, "csrf_token": csrf_of(form.text)},
    )


@pytest.fixture
def signed_in(pages: TestClient, user: str) -> TestClient:
    response = sign_in(pages)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/dpo/overview"
    return pages
