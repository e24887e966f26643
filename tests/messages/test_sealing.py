"""The key-encryption keys of message payloads, on a key folder of their own: sealing and
opening, what breaks a seal, the key files, rotation, other processes, and erasing old keys."""

from __future__ import annotations

import base64
import json
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.messages.sealing import (
    ERASE_AFTER,
    MessageKeys,
    SealBroken,
    Sealed,
    SealingError,
)

PLAINTEXT = json.dumps({"location": "Jobcenter Köln, Raum 2.14"}, ensure_ascii=False).encode()
BOUND = b'{"id":"5b0e8a36-0000-4000-8000-000000000001","purpose":"case_management"}'
NOW = datetime.now(UTC)


def opened_keys(folder: Path, *, reload_interval: float = 0) -> MessageKeys:
    """The keys of the folder as a gateway process holds them (a first key made if none)."""
    keys = MessageKeys(folder, reload_interval=reload_interval)
    keys.ensure()
    return keys


def key_files(folder: Path) -> dict[str, dict[str, str]]:
    """What the key folder holds, by key id."""
    files = (json.loads(path.read_text()) for path in (folder / "messages").glob("*.json"))
    return {data["kid"]: data for data in files}


def data_key_of(folder: Path, sealed: Sealed) -> bytes:
    """The data key, unwrapped independently with the named key's file."""
    secret = base64.urlsafe_b64decode(key_files(folder)[sealed.key_id]["key"])
    return aes_key_unwrap(secret, sealed.wrapped_key)


def flipped(value: bytes) -> bytes:
    return bytes([value[0] ^ 0x01]) + value[1:]


@pytest.fixture
def keys(tmp_path: Path) -> MessageKeys:
    return opened_keys(tmp_path)


# -- sealing and opening ----------------------------------------------------------------------


def test_a_sealed_payload_opens_with_its_associated_data(keys: MessageKeys):
    assert keys.open(keys.seal(PLAINTEXT, BOUND), BOUND) == PLAINTEXT


def test_the_seal_is_aes_256_gcm_under_a_data_key_the_named_key_wraps(
    keys: MessageKeys, tmp_path: Path
):
    sealed = keys.seal(PLAINTEXT, BOUND)

    data_key = data_key_of(tmp_path, sealed)
    assert sealed.key_id == keys.active_kid()
    assert len(data_key) == 32
    assert len(sealed.nonce) == 12
    assert AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, BOUND) == PLAINTEXT


def test_each_seal_has_a_fresh_data_key_and_nonce(keys: MessageKeys, tmp_path: Path):
    first, second = keys.seal(PLAINTEXT, BOUND), keys.seal(PLAINTEXT, BOUND)

    assert first.key_id == second.key_id
    assert data_key_of(tmp_path, first) != data_key_of(tmp_path, second)
    assert first.wrapped_key != second.wrapped_key
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext


def test_a_sealed_payload_does_not_contain_its_plaintext(keys: MessageKeys):
    sealed = keys.seal(PLAINTEXT, BOUND)
    for part in (sealed.wrapped_key, sealed.nonce, sealed.ciphertext):
        assert b"Raum 2.14" not in part
        assert "Köln".encode() not in part


@pytest.fixture(scope="module")
def shared_keys(tmp_path_factory: pytest.TempPathFactory) -> MessageKeys:
    """One folder for every example Hypothesis tries (function-scoped folders would be reused
    across examples anyway)."""
    return opened_keys(tmp_path_factory.mktemp("sealing"))


@settings(deadline=None, max_examples=50)
@given(plaintext=st.binary(max_size=2048), bound=st.binary(max_size=256))
def test_any_bytes_round_trip_and_are_bound_to_their_associated_data(
    shared_keys: MessageKeys, plaintext: bytes, bound: bytes
):
    sealed = shared_keys.seal(plaintext, bound)
    assert shared_keys.open(sealed, bound) == plaintext
    with pytest.raises(SealBroken):
        shared_keys.open(sealed, bound + b"\x00")


# -- what breaks a seal -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "other",
    [
        b"",
        BOUND.replace(b"0001", b"0002"),  # another message's id
        BOUND.replace(b"case_management", b"labour_market_integration"),  # other metadata
        BOUND + b" ",
    ],
)
def test_other_associated_data_does_not_open(keys: MessageKeys, other: bytes):
    sealed = keys.seal(PLAINTEXT, BOUND)
    with pytest.raises(SealBroken):
        keys.open(sealed, other)


@pytest.mark.parametrize("part", ["ciphertext", "nonce", "wrapped_key"])
def test_an_altered_part_does_not_open(keys: MessageKeys, part: str):
    sealed = keys.seal(PLAINTEXT, BOUND)
    altered = Sealed(**{**vars(sealed), part: flipped(getattr(sealed, part))})
    with pytest.raises(SealBroken):
        keys.open(altered, BOUND)


def test_a_truncated_ciphertext_does_not_open(keys: MessageKeys):
    sealed = keys.seal(PLAINTEXT, BOUND)
    with pytest.raises(SealBroken):
        keys.open(replace(sealed, ciphertext=sealed.ciphertext[:-1]), BOUND)


def test_another_seals_data_key_does_not_open_a_ciphertext(keys: MessageKeys):
    mine, other = keys.seal(PLAINTEXT, BOUND), keys.seal(PLAINTEXT, BOUND)
    with pytest.raises(SealBroken):
        keys.open(replace(mine, wrapped_key=other.wrapped_key), BOUND)


def test_a_payload_naming_an_unknown_key_does_not_open(keys: MessageKeys):
    sealed = keys.seal(PLAINTEXT, BOUND)
    with pytest.raises(SealBroken):
        keys.open(replace(sealed, key_id="kek-20260101T000000-00000000"), BOUND)


# -- the key files ----------------------------------------------------------------------------


def test_key_files_are_readable_by_their_owner_only(keys: MessageKeys, tmp_path: Path):
    keys.rotate()
    folder = tmp_path / "messages"
    files = list(folder.glob("*.json"))

    assert len(files) == 2
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in files)


def test_the_key_folder_holds_neither_payloads_nor_data_keys(keys: MessageKeys, tmp_path: Path):
    sealed = keys.seal(PLAINTEXT, BOUND)
    data_key = data_key_of(tmp_path, sealed)
    keys.rotate()  # rewrites the files of the old key as well

    for path in (tmp_path / "messages").iterdir():
        content = path.read_bytes()
        assert PLAINTEXT not in content
        assert b"Raum 2.14" not in content
        assert data_key not in content
        assert base64.urlsafe_b64encode(data_key) not in content


def test_ensure_keeps_the_key_there_is(keys: MessageKeys, tmp_path: Path):
    again = opened_keys(tmp_path)
    assert again.active_kid() == keys.active_kid()
    assert list(key_files(tmp_path)) == [keys.active_kid()]


@pytest.mark.parametrize(
    "content",
    [
        '{"kid": "kek-short", "created_at": "2026-01-01T00:00:00+00:00", "retired_at": null, '
        '"key": "c2VjcmV0LWtleS1tYXRlcmlhbC0xNg=="}',  # 16 bytes, not 32
        '{"kid": "kek-bad", "created_at": "2026-01-01T00:00:00+00:00", "retired_at": null, '
        '"key": "c2VjcmV0LWtleS1tYXRlcmlhbC0x!!"}',  # not base64
        '{"kid": "kek-no-date", "key": "c2VjcmV0LWtleS1tYXRlcmlhbC0xNg=="}',
        '{"kid": "kek-cut", "key": "c2VjcmV0LWtleS1tYXRlcmlhbC0xNg==',  # not JSON
        '["c2VjcmV0LWtleS1tYXRlcmlhbC0xNg=="]',  # JSON, not an object
    ],
    ids=["short-key", "not-base64", "no-created-at", "not-json", "not-an-object"],
)
def test_an_invalid_key_file_is_refused_without_quoting_it(tmp_path: Path, content: str):
    folder = tmp_path / "messages"
    folder.mkdir(mode=0o700)
    (folder / "broken.json").write_text(content)

    with pytest.raises(SealingError) as refused:
        MessageKeys(tmp_path, reload_interval=0).ensure()

    assert "broken.json" in str(refused.value)
    assert "c2VjcmV0" not in str(refused.value)
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


def test_a_running_process_refuses_to_seal_once_an_invalid_key_file_appears(
    keys: MessageKeys, tmp_path: Path
):
    # Processes watch the folder (keys are only ever added or replaced, never edited in place).
    (tmp_path / "messages" / "broken.json").write_text("{}")
    with pytest.raises(SealingError):
        keys.seal(PLAINTEXT, BOUND)


def test_a_key_file_erased_while_a_process_reads_the_folder_is_skipped(
    keys: MessageKeys, tmp_path: Path
):
    # Listed, then gone before it is read (another process erased it meanwhile): a dangling
    # link is such a file, held still.
    (tmp_path / "messages" / "kek-erased.json").symlink_to(tmp_path / "gone.json")

    assert keys.open(keys.seal(PLAINTEXT, BOUND), BOUND) == PLAINTEXT


# -- rotation ---------------------------------------------------------------------------------


def test_after_rotation_a_new_key_wraps_and_old_payloads_still_open(keys: MessageKeys):
    old_kid = keys.active_kid()
    old = keys.seal(PLAINTEXT, BOUND)

    new_kid = keys.rotate()

    assert new_kid != old_kid
    assert keys.active_kid() == new_kid
    assert keys.seal(PLAINTEXT, BOUND).key_id == new_kid
    assert keys.open(old, BOUND) == PLAINTEXT
    assert keys.retired_kids() == [old_kid]


def test_rewrap_hands_the_same_data_key_to_the_active_key(keys: MessageKeys, tmp_path: Path):
    old = keys.seal(PLAINTEXT, BOUND)
    new_kid = keys.rotate()

    kid, wrapped = keys.rewrap(old.key_id, old.wrapped_key)

    assert kid == new_kid
    assert wrapped != old.wrapped_key
    rewrapped = replace(old, key_id=kid, wrapped_key=wrapped)  # nonce and ciphertext as they were
    assert data_key_of(tmp_path, rewrapped) == data_key_of(tmp_path, old)
    assert keys.open(rewrapped, BOUND) == PLAINTEXT


def test_rewrap_refuses_a_data_key_that_does_not_unwrap(keys: MessageKeys):
    old = keys.seal(PLAINTEXT, BOUND)
    keys.rotate()
    with pytest.raises(SealBroken):
        keys.rewrap(old.key_id, flipped(old.wrapped_key))


def test_another_process_sees_a_rotation_without_restarting(tmp_path: Path):
    serving = opened_keys(tmp_path)
    before = serving.seal(PLAINTEXT, BOUND)
    operator = MessageKeys(tmp_path, reload_interval=0)

    new_kid = operator.rotate()

    assert serving.active_kid() == new_kid
    assert serving.seal(PLAINTEXT, BOUND).key_id == new_kid
    assert serving.open(before, BOUND) == PLAINTEXT


def test_a_process_opens_a_payload_sealed_with_a_key_it_never_loaded(tmp_path: Path):
    # It looks at the folder only once an hour, but a key id it does not know makes it look now.
    serving = opened_keys(tmp_path, reload_interval=3600)
    operator = opened_keys(tmp_path)
    operator.rotate()
    sealed = operator.seal(PLAINTEXT, BOUND)

    assert sealed.key_id not in {serving.active_kid(), *serving.retired_kids()}
    assert serving.open(sealed, BOUND) == PLAINTEXT


# -- erasing retired keys ---------------------------------------------------------------------


def rotated_twice(keys: MessageKeys) -> tuple[str, str, str, datetime]:
    """Keys: the first retired at ``retired``, the second retired a minute later, the third
    active."""
    first = keys.active_kid()
    retired = NOW + timedelta(minutes=1)
    second = keys.rotate(now=retired)
    third = keys.rotate(now=retired + timedelta(minutes=1))
    return first, second, third, retired


def test_a_retired_key_is_kept_until_erase_after_has_passed(keys: MessageKeys, tmp_path: Path):
    first, _, _, retired = rotated_twice(keys)

    assert keys.erase_unused(set(), now=retired + ERASE_AFTER - timedelta(seconds=1)) == []
    assert first in key_files(tmp_path)

    assert keys.erase_unused(set(), now=retired + ERASE_AFTER + timedelta(seconds=1)) == [first]
    assert first not in key_files(tmp_path)


def test_a_retired_key_still_in_use_is_kept(keys: MessageKeys, tmp_path: Path):
    first, second, third, retired = rotated_twice(keys)
    later = retired + 2 * ERASE_AFTER

    assert keys.erase_unused({first}, now=later) == [second]
    assert set(key_files(tmp_path)) == {first, third}


def test_the_active_key_is_never_erased(keys: MessageKeys, tmp_path: Path):
    far = NOW + 1000 * ERASE_AFTER
    assert keys.erase_unused(set(), now=far) == []

    first, second, third, _ = rotated_twice(keys)

    assert sorted(keys.erase_unused(set(), now=far)) == sorted([first, second])
    assert list(key_files(tmp_path)) == [third]
    assert keys.active_kid() == third
    assert keys.open(keys.seal(PLAINTEXT, BOUND), BOUND) == PLAINTEXT


def test_an_erased_key_opens_nothing_it_wrapped(keys: MessageKeys):
    sealed = keys.seal(PLAINTEXT, BOUND)
    first, _, _, retired = rotated_twice(keys)

    keys.erase_unused(set(), now=retired + 2 * ERASE_AFTER)

    assert first not in keys.retired_kids()
    with pytest.raises(SealBroken):
        keys.open(sealed, BOUND)
