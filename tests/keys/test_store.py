"""The signing-key folder: first key, rotation with a grace period, and other processes noticing."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from joserfc import jwt

from gateway.keys.store import KeyStore, KeyStoreError

GRACE = timedelta(minutes=5)


def store(folder: Path) -> KeyStore:
    return KeyStore(folder, grace=GRACE, reload_interval=0)


def test_ensure_makes_one_private_key_readable_only_by_its_owner(tmp_path: Path):
    keys = store(tmp_path)
    keys.ensure()
    files = list((tmp_path / "signing").glob("*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "signing").stat().st_mode) == 0o700
    assert keys.public_jwks()["keys"][0]["kid"] == keys.active_kid()
    assert "d" not in keys.public_jwks()["keys"][0]


def test_ensure_keeps_an_existing_key(tmp_path: Path):
    first = store(tmp_path)
    first.ensure()
    second = store(tmp_path)
    second.ensure()
    assert first.active_kid() == second.active_kid()


def test_rotation_signs_with_the_new_key_and_still_verifies_the_old(tmp_path: Path):
    keys = store(tmp_path)
    keys.ensure()
    old = keys.active_kid()
    token = jwt.encode(
        {"alg": "Ed25519", "kid": old}, {"a": 1}, keys.active(), algorithms=["Ed25519"]
    )

    new = keys.rotate().kid

    assert keys.active_kid() == new != old
    assert {k["kid"] for k in keys.public_jwks()["keys"]} == {old, new}
    assert jwt.decode(token, keys.verification_keyset(), algorithms=["Ed25519"]).claims == {"a": 1}


def test_a_key_retired_past_its_grace_verifies_no_token_and_loses_its_private_half(
    tmp_path: Path,
):
    keys = store(tmp_path)
    keys.ensure()
    old = keys.active_kid()
    keys.rotate(now=datetime.now(UTC) - 2 * GRACE)
    keys.rotate()

    assert keys.find(old) is None  # no access token signed by it is accepted any more
    assert old not in {k["kid"] for k in keys.verification_keyset().as_dict()["keys"]}
    # Still published, for receipts it signed long ago.
    assert old in {k["kid"] for k in keys.public_jwks()["keys"]}
    kept = json.loads((tmp_path / "signing" / f"{old}.json").read_text())
    assert "d" not in kept["jwk"]
    assert kept["retired_at"] is not None


def test_another_process_sees_a_rotation_without_restarting(tmp_path: Path):
    serving = store(tmp_path)
    serving.ensure()
    operator = store(tmp_path)
    new = operator.rotate().kid
    assert serving.active_kid() == new
    assert serving.find(new) is not None


def test_an_unknown_kid_is_not_found(tmp_path: Path):
    keys = store(tmp_path)
    keys.ensure()
    assert keys.find("no-such-kid") is None


def test_a_missing_folder_is_reported(tmp_path: Path):
    keys = store(tmp_path / "absent")
    with pytest.raises(KeyStoreError):
        keys.active()
    assert keys.is_loaded() is False


def test_a_corrupt_key_file_is_reported_with_its_name(tmp_path: Path):
    keys = store(tmp_path)
    keys.ensure()
    (tmp_path / "signing" / "broken.json").write_text("{not json")
    with pytest.raises(KeyStoreError, match=r"broken\.json"):
        store(tmp_path).ensure()
