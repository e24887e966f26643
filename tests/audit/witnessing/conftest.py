"""A real ``gateway witness`` served over HTTP on a free port, and a gateway configured with
it as its one witness (a 1-of-1 policy)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.audit.cosignatures import Cosigner
from gateway.audit.events import OPERATOR, AuditEvent, EventType
from gateway.audit.witnessing import Witnessing
from gateway.runtime import Runtime
from gateway.settings import Settings, WitnessConfig
from gateway.witness.keys import create_cosigner
from gateway.witness.routes import create_witness_app
from gateway.witness.service import Witness
from gateway.witness.store import WitnessStore
from tests.conftest import TEST_ISSUER
from tests.support import free_port, serve_app


@dataclass
class WitnessServer:
    cosigner: Cosigner
    store: WitnessStore
    port: int

    @property
    def config(self) -> WitnessConfig:
        return WitnessConfig(url=f"http://127.0.0.1:{self.port}/", key=self.cosigner.key.vkey())

    @contextmanager
    def running(self) -> Iterator[str]:
        with serve_app(create_witness_app(Witness(self.cosigner, self.store)), self.port) as url:
            yield url


@pytest.fixture
def witness(tmp_path: Path) -> WitnessServer:
    folder = tmp_path / "witness"
    return WitnessServer(
        create_cosigner(folder, "dpo.example/witness"), WitnessStore.in_folder(folder), free_port()
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path, witness: WitnessServer) -> Settings:
    return gateway_settings(database_url, tmp_path / "keys", witness)


def gateway_settings(database_url: str, key_dir: Path, witness: WitnessServer) -> Settings:
    return Settings(
        database_url=database_url,
        key_dir=key_dir,
        demo_dir=key_dir.parent / "demo",
        issuer=TEST_ISSUER,
        key_reload_interval=0,
        audit_checkpoint_interval=0,
        witnesses=(witness.config,),
        witness_timeout=5,
    )


@pytest.fixture
def trusted(runtime: Runtime, witness: WitnessServer) -> WitnessServer:
    """The witness, trusting the gateway's log key (what `gateway witness add-log` does)."""
    witness.store.add_log(runtime.audit.verifier)
    return witness


def grow(runtime: Runtime, entries: int = 3) -> int:
    """Record ``entries`` events and publish; the new tree size."""
    with runtime.database.transaction() as session:
        for _ in range(entries):
            runtime.audit.record(session, AuditEvent(EventType.CLIENT_ADDED, actor=OPERATOR))
    return runtime.audit.publish(runtime.database).size


@contextmanager
def witnessing(runtime: Runtime, **options: object) -> Iterator[Witnessing]:
    """The gateway's submitter, its rounds run by the test (its thread not started)."""
    submitter = Witnessing(runtime.database, runtime.settings.witnesses, **options)  # type: ignore[arg-type]
    try:
        yield submitter
    finally:
        submitter.stop()


def sqlite_copy(template: Path, folder: Path, name: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, folder / name)
    return f"sqlite:///{folder / name}"
