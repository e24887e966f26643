"""The audit log's digest key (payload digests, caseworker pseudonyms): in the key folder only,
rotated by ``gateway keys rotate``, old keys kept so that older entries stay checkable."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.audit.digests import DigestKeyError, DigestKeys, open_digest_keys
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.runtime import Runtime
from tests.audit.tampering import query
from tests.keys.operator import Command, rotate

PAYLOAD = b'{"title":"toleration"}'


def released(runtime: Runtime) -> dict:
    """A permitted decision with a caseworker and a payload, recorded and read back."""
    event = AuditEvent(
        EventType.EXCHANGE_DECIDED,
        actor="koeln-jobcenter",
        requester="koeln-jobcenter",
        provider="koeln-auslaenderbehoerde",
        caseworker="cw-17",
        subject_id="3f1c2b9e-8d7a-4c55-9e61-0d2f4b7a1c90",
        decision=Decision.PERMIT,
        payload=PAYLOAD,
    )
    with runtime.database.transaction() as session:
        runtime.audit.record(session, event)
    (body,) = query(
        runtime.settings.database_url, "SELECT body FROM audit_entries ORDER BY id DESC LIMIT 1"
    )[0]
    parsed: dict = json.loads(body)
    return parsed


def test_the_first_key_is_made_in_the_key_folder_readable_by_its_owner_only(tmp_path: Path):
    keys = open_digest_keys(tmp_path)
    (path,) = (tmp_path / "audit" / "digests").glob("*.json")
    assert path.stem == keys.active().kid
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    open_digest_keys(tmp_path)  # a second process keeps it
    assert len(list(path.parent.glob("*.json"))) == 1


def test_the_key_is_nowhere_in_the_database(runtime: Runtime):
    released(runtime)
    secret = runtime.audit.digests.active().secret
    dumped = repr(query(runtime.settings.database_url, "SELECT * FROM audit_entries"))
    assert secret.hex() not in dumped
    assert json.loads(
        (runtime.settings.key_dir / "audit" / "digests" / f"{runtime.audit.digests.active().kid}"
         ".json").read_text()
    )["hmac_sha256"] not in dumped  # fmt: skip


def test_rotation_digests_with_a_new_key_and_older_entries_stay_checkable(
    runtime: Runtime, operator: Command
):
    before = released(runtime)
    old_kid = runtime.audit.digests.active().kid
    output = rotate(operator)

    after = released(runtime)  # the running gateway notices the rotation without a restart
    new_kid = runtime.audit.digests.active().kid
    assert new_kid != old_kid
    assert new_kid in output
    assert before["payload_hmac"].startswith(old_kid + ":")
    assert after["payload_hmac"].startswith(new_kid + ":")
    assert runtime.audit.payload_matches(before, PAYLOAD)
    assert runtime.audit.payload_matches(after, PAYLOAD)
    # Before and after a rotation one caseworker has two pseudonyms; both can be found.
    assert before["caseworker"] != after["caseworker"]
    pseudonyms = runtime.audit.digests.caseworker_pseudonyms("koeln-jobcenter", "cw-17")
    assert pseudonyms == [after["caseworker"], before["caseworker"]]

    (recorded,) = [
        json.loads(body)
        for (body,) in query(runtime.settings.database_url, "SELECT body FROM audit_entries")
        if json.loads(body)["event"] == EventType.AUDIT_KEY_ROTATED.value
    ]
    assert recorded["details"] == {"kid": new_kid, "retired_kid": old_kid}


def test_a_digest_naming_an_unknown_key_matches_nothing(runtime: Runtime):
    body = released(runtime)
    _, digest = body["payload_hmac"].split(":")
    forged = body | {"payload_hmac": f"dk-20990101T000000-00000000:{digest}"}
    assert not runtime.audit.payload_matches(forged, PAYLOAD)


def test_a_damaged_key_file_is_reported_with_its_name(tmp_path: Path):
    keys = open_digest_keys(tmp_path)
    path = tmp_path / "audit" / "digests" / f"{keys.active().kid}.json"
    path.write_text('{"kid": "dk-x"}')
    with pytest.raises(DigestKeyError, match=path.name):
        DigestKeys(tmp_path, reload_interval=0).active()


def test_rotating_keeps_every_older_key(tmp_path: Path):
    keys = open_digest_keys(tmp_path)
    first = keys.active().kid
    second, retired = keys.rotate(datetime(2030, 1, 1, tzinfo=UTC))
    third, retired_again = keys.rotate(datetime(2031, 1, 1, tzinfo=UTC))
    assert (retired, retired_again) == (first, second)
    assert keys.active().kid == third
    kept = {path.stem for path in (tmp_path / "audit" / "digests").glob("*.json")}
    assert kept == {first, second, third}
