"""The portal's offices and persons (``tests.portal.conftest``), and how a person says in the
portal that something passed on about them is wrong."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from gateway.runtime import Runtime
from gateway.subjects.repository import subject_of
from tests.portal.conftest import JC, csrf_token, offices, portal, signed_in  # noqa: F401
from tests.support import add_release


def released(
    runtime: Runtime,
    references: dict[str, str],
    consent_id: str | None,
    provider: str,
    recipient: str,
    category: str = "residence_status",
) -> str:
    """A release as the exchange records it in the ledger: its id."""
    with runtime.database.transaction() as session:
        subject = subject_of(session, JC, references[JC])
        assert subject is not None
        return add_release(
            session,
            provider=provider,
            recipient=recipient,
            subject_id=subject,
            category=category,
            consent_id=consent_id,
        )


def wrong_path(release_id: str, category: str = "residence_status") -> str:
    return f"/portal/history/releases/{release_id}/{category}/wrong"


def flag(client: TestClient, release_id: str, text: str = "", **kwargs: Any) -> Any:
    """Open the form from the history page, and send it."""
    path = wrong_path(release_id, kwargs.pop("category", "residence_status"))
    form = client.get(path)
    assert form.status_code == 200, form.text
    return client.post(path, data={"text": text, "csrf_token": csrf_token(form.text)})
