"""A witness that never answers holds up neither exchanges nor the signing of checkpoints
(issue 21): it is only reported, as lagging."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.cosignatures import Cosigner
from gateway.settings import WitnessConfig
from tests.exchange.world import World


@pytest.fixture
def silent_witness() -> Iterator[int]:
    """A port that takes connections and never answers on them."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(16)
        yield int(listening.getsockname()[1])


@pytest.fixture
def gateway_settings(silent_witness: int) -> dict[str, Any]:
    key = Cosigner("silent.example/witness", Ed25519PrivateKey.generate()).key
    return {
        "witnesses": (WitnessConfig(url=f"http://127.0.0.1:{silent_witness}", key=key.vkey()),),
        "witness_timeout": 1,
        "audit_checkpoint_interval": 0.05,
    }


def checkpoint_size(world: World) -> int:
    with world.gateway.runtime.database.transaction(read_only=True) as session:
        latest = world.gateway.runtime.audit.latest(session)
    return latest.size if latest else 0


@pytest.mark.timeout(120)
def test_a_silent_witness_holds_up_neither_exchanges_nor_checkpoints(world: World):
    world.record_consent()
    signed = checkpoint_size(world)
    response = world.ask()
    assert response.status_code == 200, response.text
    assert world.audit() == [("permit", None)]
    while checkpoint_size(world) <= signed:  # the exchange's entry gets signed meanwhile
        time.sleep(0.02)
    while True:
        readiness = httpx.get(f"{world.gateway.url}/readyz")
        assert readiness.status_code == 200  # ready: exchanges go on
        detail = readiness.json()["witness_detail"]["silent.example/witness"]
        if detail["problem"] is not None:
            break
        time.sleep(0.05)
    assert readiness.json()["witnesses"] == "lagging"
    assert detail["problem"] == "timeout"
    metrics = httpx.get(f"{world.gateway.url}/metrics").text
    assert (
        'gateway_witness_failures_total{reason="timeout",witness="silent.example/witness"}'
        in metrics
    )
