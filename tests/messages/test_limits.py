"""The payload limit counts the bytes a payload really has: text in Arabic or Farsi is not
penalised for being outside ASCII."""

from __future__ import annotations

import pytest

from gateway.settings import Settings
from tests.messages.conftest import CONFERENCE, invitation

LIMIT = 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"message_max_bytes": LIMIT})


def test_text_outside_ascii_counts_its_utf8_bytes(consent_id, send):
    topic = "خطة المساعدة" * 30  # 360 characters, 660 bytes in UTF-8; 2,160 as \\u escapes
    assert send(invitation(payload={**CONFERENCE, "topic": topic})).status_code == 202


def test_a_payload_over_the_limit_is_refused(consent_id, send):
    # Valid for the schema, but about 1,400 bytes.
    payload = {
        **CONFERENCE,
        "location": "L" * 300,
        "topic": "T" * 500,
        "participants": [f"agency-{n:02d}" for n in range(50)],
    }
    response = send(invitation(payload=payload))
    assert response.status_code == 413
    assert str(LIMIT) in response.json()["detail"]
