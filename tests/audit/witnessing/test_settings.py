"""GATEWAY_WITNESSES and GATEWAY_WITNESS_QUORUM: checked at start-up."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from gateway.audit.cosignatures import Cosigner
from gateway.settings import Settings


def vkey(name: str = "dpo.example/witness") -> str:
    return Cosigner(name, Ed25519PrivateKey.generate()).key.vkey()


def test_witnesses_come_from_one_json_environment_variable(monkeypatch: pytest.MonkeyPatch):
    key = vkey()
    monkeypatch.setenv("GATEWAY_WITNESSES", json.dumps([{"url": "https://w.example/", "key": key}]))
    settings = Settings()
    (witness,) = settings.witnesses
    assert witness.url == "https://w.example"
    assert witness.name == "dpo.example/witness"
    assert settings.witness_policy.quorum == 1  # the default with witnesses


def test_without_witnesses_the_policy_asks_for_none():
    assert Settings().witness_policy.quorum == 0


@pytest.mark.parametrize(
    "witnesses",
    [
        [{"url": "https://w.example/", "key": "w+00000000+AAAA"}],
        [{"url": "ftp://w.example/", "key": "KEY"}],
        [{"url": "https://w.example/", "key": "KEY"}, {"url": "https://v.example/", "key": "KEY"}],
    ],
)
def test_a_wrong_witness_is_refused_at_start(witnesses, monkeypatch: pytest.MonkeyPatch):
    key = vkey()
    text = json.dumps(witnesses).replace("KEY", key)
    monkeypatch.setenv("GATEWAY_WITNESSES", text)
    with pytest.raises(ValidationError):
        Settings()


def test_a_log_key_is_not_a_witness_key(monkeypatch: pytest.MonkeyPatch):
    from gateway.audit.notes import Signer

    log_key = Signer("city.example/audit", Ed25519PrivateKey.generate()).verifier.vkey()
    monkeypatch.setenv("GATEWAY_WITNESSES", json.dumps([{"url": "https://w/", "key": log_key}]))
    with pytest.raises(ValidationError):
        Settings()


def test_a_quorum_above_the_number_of_witnesses_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GATEWAY_WITNESSES", json.dumps([{"url": "https://w/", "key": vkey()}]))
    monkeypatch.setenv("GATEWAY_WITNESS_QUORUM", "2")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setenv("GATEWAY_WITNESS_QUORUM", "0")
    assert Settings().witness_policy.quorum == 0
