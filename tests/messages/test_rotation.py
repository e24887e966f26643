"""``gateway keys rotate`` with messages stored: every stored data key is re-wrapped by the new
key-encryption key while the gateway keeps running, and a retired key is erased once nothing
needs it any more."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from gateway.app import create_app
from gateway.audit.events import EventType
from gateway.audit.tables import AuditEntry
from gateway.keys import repository
from gateway.keys.rewrap import rewrap_rows
from gateway.messages.sealing import ERASE_AFTER, MessageKeys
from gateway.messages.tables import Message
from gateway.runtime import Runtime
from tests.conftest import TEST_ISSUER
from tests.keys.operator import key_files, rotate
from tests.messages.conftest import CONFERENCE, JA, JC, invitation

Headers = Callable[[str], dict[str, str]]
SEALED = ("key_id", "wrapped_key", "nonce", "ciphertext")


def sent(send: Callable[..., Any], topic: str = str(CONFERENCE["topic"])) -> str:
    response = send(invitation(payload=dict(CONFERENCE, topic=topic)))
    assert response.status_code == 202, response.text
    return str(response.json()["message_id"])


def fetched(http: TestClient, as_agency: Headers, message_id: str) -> dict[str, Any]:
    response = http.get(f"/v1/messages/{message_id}", headers=as_agency(JA))
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()["payload"]
    return payload


def stored(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Each message's sealed columns and state, read with plain SQL."""
    with runtime.database.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, state, key_id, wrapped_key, nonce, ciphertext FROM messages")
        )
        return {row.id: dict(row._mapping) for row in rows}


def key_ids(runtime: Runtime) -> set[str | None]:
    return {row["key_id"] for row in stored(runtime).values()}


def audited(runtime: Runtime, event: EventType) -> list[dict[str, Any]]:
    with runtime.database.transaction(read_only=True) as session:
        query = select(AuditEntry.body).where(AuditEntry.event == event.value)
        bodies = session.scalars(query.order_by(AuditEntry.id))
        return [json.loads(body) for body in bodies if body is not None]


# -- re-wrapping ------------------------------------------------------------------------------


@pytest.mark.usefixtures("consent_id")
def test_rotation_rewraps_every_stored_payload_with_the_new_key(runtime: Runtime, operator, send):
    messages = [sent(send, topic=f"Hilfeplan {n}") for n in range(3)]
    old = runtime.sealing.active_kid()
    assert key_ids(runtime) == {old}

    output = rotate(operator)

    new = runtime.sealing.active_kid()
    assert new != old
    assert key_ids(runtime) == {new}
    assert set(stored(runtime)) == set(messages)
    assert f"wrapping with {new}; 3 stored keys re-wrapped" in output
    assert runtime.sealing.retired_kids() == [old]


@pytest.mark.usefixtures("consent_id")
def test_rewrapping_changes_only_the_wrapped_key(runtime: Runtime, operator, send):
    for n in range(2):
        sent(send, topic=f"Hilfeplan {n}")
    before = stored(runtime)

    rotate(operator)

    after = stored(runtime)
    for message_id, row in before.items():
        assert after[message_id]["wrapped_key"] != row["wrapped_key"]
        for column in ("nonce", "ciphertext", "state"):
            assert after[message_id][column] == row[column]


@pytest.mark.usefixtures("consent_id")
def test_stored_messages_still_open_in_the_running_gateway_after_rotation(
    runtime: Runtime, http: TestClient, as_agency: Headers, operator, send
):
    fetched_before = sent(send, topic="Hilfeplan, schon abgerufen")
    never_fetched = sent(send, topic="Hilfeplan, noch nicht abgerufen")
    payload = fetched(http, as_agency, fetched_before)

    rotate(operator)

    # The same runtime as before the rotation: nothing restarted.
    assert fetched(http, as_agency, fetched_before) == payload
    assert fetched(http, as_agency, never_fetched) == dict(
        CONFERENCE, topic="Hilfeplan, noch nicht abgerufen"
    )


@pytest.mark.usefixtures("consent_id")
def test_messages_sent_after_rotation_are_sealed_with_the_new_key(
    runtime: Runtime, http: TestClient, as_agency: Headers, operator, send
):
    old = runtime.sealing.active_kid()
    rotate(operator)

    message_id = sent(send)

    assert stored(runtime)[message_id]["key_id"] == runtime.sealing.active_kid() != old
    assert fetched(http, as_agency, message_id) == CONFERENCE


def test_rotation_is_audited_with_both_key_ids(runtime: Runtime, operator):
    old = runtime.sealing.active_kid()

    rotate(operator)

    (rotated,) = audited(runtime, EventType.MESSAGE_KEY_ROTATED)
    assert rotated["event"] == "keys.message_key_rotated"
    assert rotated["actor"] == "operator"
    assert rotated["details"] == {"kid": runtime.sealing.active_kid(), "retired_kid": old}


@pytest.mark.usefixtures("consent_id")
def test_acknowledged_messages_are_left_alone(
    runtime: Runtime, http: TestClient, as_agency: Headers, operator, send
):
    acknowledged, pending = sent(send), sent(send, topic="Hilfeplan, offen")
    assert http.post(f"/v1/messages/{acknowledged}/ack", headers=as_agency(JA)).status_code == 200
    before = stored(runtime)[acknowledged]

    output = rotate(operator)

    assert stored(runtime)[acknowledged] == before
    assert all(before[column] is None for column in SEALED)
    assert stored(runtime)[pending]["key_id"] == runtime.sealing.active_kid()
    assert "1 stored keys re-wrapped" in output


@pytest.mark.usefixtures("consent_id")
def test_rewrapping_goes_batch_by_batch_until_none_is_left(runtime: Runtime, send):
    for n in range(5):
        sent(send, topic=f"Hilfeplan {n}")
    new = runtime.sealing.rotate()

    assert rewrap_rows(runtime.database, runtime.sealing, Message, batch=2).count == 5
    assert key_ids(runtime) == {new}
    assert rewrap_rows(runtime.database, runtime.sealing, Message, batch=2).count == 0


@pytest.mark.usefixtures("consent_id")
def test_a_data_key_that_does_not_unwrap_is_skipped_and_its_key_kept(
    runtime: Runtime, settings, operator, send
):
    broken, good = sent(send, topic="Hilfeplan 1"), sent(send, topic="Hilfeplan 2")
    old = runtime.sealing.active_kid()
    with runtime.database.engine.begin() as connection:
        connection.execute(
            text("UPDATE messages SET wrapped_key = :junk WHERE id = :id"),
            {"junk": bytes(40), "id": broken},
        )

    result = operator("keys", "rotate")

    assert result.exit_code == 0, result.output
    assert "1 stored keys did not unwrap" in result.stderr
    keys = {message_id: row["key_id"] for message_id, row in stored(runtime).items()}
    assert keys[good] == runtime.sealing.active_kid()
    assert keys[broken] == old
    assert old in key_files(settings)


# -- erasing retired keys ---------------------------------------------------------------------


@pytest.mark.usefixtures("consent_id")
def test_the_key_a_rotation_retires_is_kept_for_now(runtime: Runtime, settings, operator, send):
    sent(send)
    old = runtime.sealing.active_kid()

    rotate(operator)

    # Nothing names it any more, but a gateway process may not have noticed the rotation yet.
    assert old not in key_ids(runtime)
    assert old in key_files(settings)


@pytest.mark.usefixtures("consent_id")
def test_a_later_rotation_erases_a_retired_key_nothing_uses(
    runtime: Runtime, settings, http: TestClient, as_agency: Headers, operator, send, key_clock
):
    first_message = sent(send)
    first = runtime.sealing.active_kid()
    rotate(operator)
    second = runtime.sealing.active_kid()

    key_clock(ERASE_AFTER + timedelta(minutes=1))
    second_message = sent(send, topic="Hilfeplan, später")
    rotate(operator)

    third = runtime.sealing.active_kid()
    assert key_files(settings) == {second, third}  # the second was retired just now
    assert first not in {runtime.sealing.active_kid(), *runtime.sealing.retired_kids()}
    assert key_ids(runtime) == {third}
    assert fetched(http, as_agency, first_message) == CONFERENCE
    assert fetched(http, as_agency, second_message)["topic"] == "Hilfeplan, später"


@pytest.fixture
def stale_http(runtime: Runtime) -> Iterator[TestClient]:
    """A second gateway process over the same database and key folder that looks at the key
    folder only once an hour: it goes on sealing with the key it loaded at start."""
    keys = MessageKeys(runtime.settings.key_dir, reload_interval=3600)
    keys.ensure()
    app = create_app(runtime=replace(runtime, sealing=keys))
    with TestClient(app, base_url=TEST_ISSUER, raise_server_exceptions=False) as client:
        yield client


@pytest.mark.usefixtures("consent_id")
def test_a_retired_key_still_in_use_is_kept_until_a_rotation_finds_it_unused(
    runtime: Runtime,
    settings,
    http: TestClient,
    stale_http: TestClient,
    as_agency: Headers,
    operator,
    send,
    key_clock,
    monkeypatch: pytest.MonkeyPatch,
):
    first = runtime.sealing.active_kid()
    rotate(operator)
    key_clock(ERASE_AFTER + timedelta(minutes=1))
    late: list[str] = []
    in_use = repository.key_ids_in_use

    def stale_sends_before_in_use_is_read(session: Any) -> set[str]:
        # A message the re-wrap did not see: sealed meanwhile, with the first key.
        body = invitation(payload=dict(CONFERENCE, topic="Hilfeplan, mit altem Schlüssel"))
        response = stale_http.post("/v1/messages", json=body, headers=as_agency(JC))
        assert response.status_code == 202, response.text
        late.append(response.json()["message_id"])
        return in_use(session)

    with monkeypatch.context() as patched:
        patched.setattr(repository, "key_ids_in_use", stale_sends_before_in_use_is_read)
        rotate(operator)

    (message_id,) = late
    assert stored(runtime)[message_id]["key_id"] == first
    assert first in key_files(settings)  # long retired, but a row still names it
    assert fetched(http, as_agency, message_id)["topic"] == "Hilfeplan, mit altem Schlüssel"

    key_clock(ERASE_AFTER + timedelta(minutes=1))
    rotate(operator)

    assert first not in key_files(settings)
    assert key_ids(runtime) == {runtime.sealing.active_kid()}
    assert fetched(http, as_agency, message_id)["topic"] == "Hilfeplan, mit altem Schlüssel"
