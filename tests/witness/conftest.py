from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from gateway.audit.cosignatures import Cosigner, WitnessKey, WitnessPolicy
from gateway.witness.keys import create_cosigner
from gateway.witness.routes import create_witness_app
from gateway.witness.service import Witness
from gateway.witness.store import WitnessStore
from tests.witness.logs import MemoryLog


@pytest.fixture
def log() -> MemoryLog:
    return MemoryLog.seeded(b"the city's log")


@pytest.fixture
def cosigner(tmp_path: Path) -> Cosigner:
    return create_cosigner(tmp_path / "witness", "dpo.example/witness")


@pytest.fixture
def witness(tmp_path: Path, cosigner: Cosigner, log: MemoryLog) -> Witness:
    store = WitnessStore.in_folder(tmp_path / "witness")
    store.add_log(log.signer.verifier)
    return Witness(cosigner, store)


@pytest.fixture
def client(witness: Witness) -> Iterator[TestClient]:
    with TestClient(create_witness_app(witness)) as client:
        yield client


@pytest.fixture
def policy(cosigner: Cosigner) -> WitnessPolicy:
    return WitnessPolicy((WitnessKey.from_vkey(cosigner.key.vkey()),), 1)
