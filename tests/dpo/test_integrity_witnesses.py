"""The integrity page with a witness: its state in words, and a check that holds the newest
checkpoint to the witness policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.runtime import Runtime
from gateway.settings import Settings
from gateway.witness.keys import create_cosigner
from gateway.witness.store import WitnessStore
from tests.audit.witnessing.conftest import WitnessServer, gateway_settings, witnessing
from tests.dpo.seeded import Seeded
from tests.dpo.test_integrity import verify
from tests.support import free_port


@pytest.fixture
def witness(tmp_path: Path) -> WitnessServer:
    folder = tmp_path / "witness"
    cosigner = create_cosigner(folder, "dpo.example/witness")
    return WitnessServer(cosigner, WitnessStore.in_folder(folder), free_port())


@pytest.fixture
def settings(database_url: str, tmp_path: Path, witness: WitnessServer) -> Settings:
    return gateway_settings(database_url, tmp_path / "keys", witness)


def test_a_witness_that_cosigned_shows_up_to_date_and_the_check_counts_it(
    signed_in, runtime: Runtime, witness: WitnessServer, seeded: Seeded
):
    witness.store.add_log(runtime.audit.verifier)
    size = runtime.audit.publish(runtime.database).size
    with witness.running(), witnessing(runtime) as submitter:
        submitter.round()
    html = signed_in.get("/dpo/integrity").text
    assert "dpo.example/witness" in html
    assert "up to date" in html
    assert f"{size} entries" in html
    assert "when 1 of these witnesses have countersigned it" in html
    checked = verify(signed_in)
    assert "The log is intact." in checked


def test_a_check_is_not_intact_while_no_witness_has_cosigned(
    signed_in, runtime: Runtime, witness: WitnessServer, seeded: Seeded
):
    """The witness never answered (it is not running): the newest checkpoint carries only the
    gateway's signature, which the policy does not accept."""
    runtime.audit.publish(runtime.database)
    checked = verify(signed_in)
    assert "The log is NOT intact." in checked
    assert "cosigned by 0 of the 1 witnesses" in checked
