"""``gateway witness init | key | add-log | serve``."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from gateway.audit.cosignatures import WitnessKey
from gateway.cli.main import cli
from gateway.witness.keys import KEY_FILE
from gateway.witness.store import WitnessStore
from tests.witness.logs import MemoryLog


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["witness", *args])
    return result.exit_code, result.output


def test_init_makes_a_private_key_and_prints_its_cosignature_vkey(tmp_path: Path):
    folder = tmp_path / "w"
    code, output = run("init", "--dir", str(folder), "--name", "dpo.example/witness")
    assert code == 0
    key = WitnessKey.from_vkey(output)
    assert key.name == "dpo.example/witness"
    assert stat.S_IMODE((folder / KEY_FILE).stat().st_mode) == 0o600
    assert run("key", "--dir", str(folder)) == (0, output)


def test_init_never_replaces_a_witness_key(tmp_path: Path):
    folder = str(tmp_path / "w")
    first = run("init", "--dir", folder, "--name", "one")[1]
    code, output = run("init", "--dir", folder, "--name", "two")
    assert code != 0
    assert "has a witness key already" in output
    assert run("key", "--dir", folder)[1] == first


def test_a_name_a_note_cannot_carry_is_refused(tmp_path: Path):
    code, _ = run("init", "--dir", str(tmp_path / "w"), "--name", "two words")
    assert code != 0
    assert not (tmp_path / "w" / KEY_FILE).exists()


def test_key_without_init_says_so(tmp_path: Path):
    code, output = run("key", "--dir", str(tmp_path))
    assert code != 0
    assert "gateway witness init" in output


def test_add_log_trusts_several_logs_by_their_key_s_name(tmp_path: Path):
    folder = tmp_path / "w"
    run("init", "--dir", str(folder), "--name", "w")
    logs = [MemoryLog.seeded(b"a", "a.example/log"), MemoryLog.seeded(b"b", "b.example/log")]
    for log in logs:
        vkey = tmp_path / f"{log.origin.replace('/', '_')}.vkey"
        vkey.write_text(log.signer.verifier.vkey() + "\n")
        code, output = run("add-log", "--dir", str(folder), "--vkey", str(vkey))
        assert code == 0
        assert "now trusted" in output
        assert "already trusted" in run("add-log", "--dir", str(folder), "--vkey", str(vkey))[1]
    store = WitnessStore.in_folder(folder)
    for log in logs:
        assert store.log_keys(log.origin) == [log.signer.verifier]


def test_add_log_refuses_what_is_not_a_log_key(tmp_path: Path):
    folder = tmp_path / "w"
    witness_vkey = run("init", "--dir", str(folder), "--name", "w")[1]
    wrong = tmp_path / "witness.vkey"
    wrong.write_text(witness_vkey)  # a cosignature key (0x04), not a checkpoint key
    code, _ = run("add-log", "--dir", str(folder), "--vkey", str(wrong))
    assert code != 0


def test_serve_serves_the_witness_of_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = tmp_path / "w"
    run("init", "--dir", str(folder), "--name", "w")
    log = MemoryLog.seeded(b"served")
    WitnessStore.in_folder(folder).add_log(log.signer.verifier)
    served = {}
    monkeypatch.setattr(
        "gateway.witness.cli.uvicorn.run", lambda app, **options: served.update(app=app, **options)
    )
    assert run("serve", "--dir", str(folder), "--port", "8123")[0] == 0
    assert served["port"] == 8123
    assert served["host"] == "127.0.0.1"
    with TestClient(served["app"]) as client:
        assert client.post("/add-checkpoint", content=log.body(0, 3)).status_code == 200
