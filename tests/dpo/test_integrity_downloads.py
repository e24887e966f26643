"""Keeping a copy, one click each: the integrity page offers the latest signed checkpoint and the
log's key as files, byte for byte what ``gateway audit verify --checkpoint --public-key`` reads,
says why a copy kept outside the gateway matters (and the copy does catch a log cut short that
the database alone no longer shows), and records each download as the export is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.audit.events import EventType
from gateway.cli.main import cli
from tests.audit.tampering import tamper
from tests.dpo.seeded import USER, Seeded, recorded
from tests.dpo.test_integrity import grow


def download(client, what: str, folder: Path) -> Path:
    response = client.get(f"/dpo/integrity/{what}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    kept = folder / disposition.split('filename="')[1].rstrip('"')
    kept.write_bytes(response.content)
    return kept


def verify(*args: str, database_url: str = "sqlite://", key_dir: Path | None = None):
    """``gateway audit verify`` as a DPO runs it on another computer: no key folder there."""
    env = {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_KEY_DIR": str(key_dir or "/nowhere")}
    return CliRunner(env=env).invoke(cli, ["audit", "verify", "--wait", "0", *args])


def test_the_downloads_are_the_checkpoint_and_key_byte_for_byte(
    signed_in, runtime, seeded: Seeded, tmp_path
):
    _, size = grow(runtime)
    latest = runtime.audit.publish(runtime.database)
    checkpoint = download(signed_in, "checkpoint", tmp_path)
    key = download(signed_in, "key", tmp_path)
    assert checkpoint.name == f"audit-checkpoint-{size}.txt"
    assert checkpoint.read_bytes() == latest.note.encode()
    assert key.name == "audit-log-key.txt"
    assert key.read_bytes() == (runtime.audit.verifier.vkey() + "\n").encode()


def test_gateway_audit_verify_takes_them_with_an_export_of_the_page(
    signed_in, runtime, seeded: Seeded, tmp_path
):
    grow(runtime)
    checkpoint = download(signed_in, "checkpoint", tmp_path)
    key = download(signed_in, "key", tmp_path)
    export = tmp_path / "audit.jsonl"
    export.write_bytes(signed_in.get("/dpo/audit/export?format=jsonl").content)
    result = verify(
        "--export", str(export), "--public-key", str(key), "--checkpoint", str(checkpoint)
    )
    assert result.exit_code == 0, result.output
    # The export's own checkpoint and the one kept: both checked.
    assert "2 checkpoints verified" in result.output


def test_the_kept_checkpoint_catches_a_log_cut_short_that_the_database_hides(
    signed_in, runtime, settings, seeded: Seeded, tmp_path
):
    before, size = grow(runtime)
    checkpoint = download(signed_in, "checkpoint", tmp_path)
    key = download(signed_in, "key", tmp_path)
    runtime.audit.publish(runtime.database)  # the downloads' own entries, placed
    # Someone with the database cuts the log back to the earlier checkpoint, and removes the
    # later checkpoints with it.
    tamper(
        settings.database_url,
        "DELETE FROM audit_entries "
        "WHERE id IN (SELECT entry_id FROM audit_leaves WHERE seq >= :size)",
        "DELETE FROM audit_leaves WHERE seq >= :size",
        "DELETE FROM audit_checkpoints WHERE size > :size",
        size=before,
    )
    here = {"database_url": settings.database_url, "key_dir": settings.key_dir}
    alone = verify(**here)
    assert alone.exit_code == 0, alone.output  # the database alone looks whole ...
    result = verify("--public-key", str(key), "--checkpoint", str(checkpoint), **here)
    assert result.exit_code == 1  # ... the DPO's own copy does not agree
    assert f"the checkpoint you kept covers {size} entries, the log holds {before}" in result.output


def test_each_download_is_recorded_as_an_export_is(signed_in, runtime, seeded: Seeded, tmp_path):
    download(signed_in, "checkpoint", tmp_path)
    download(signed_in, "key", tmp_path)
    exported = recorded(runtime, EventType.AUDIT_EXPORTED)
    assert [(entry["actor"], entry["details"]) for entry in exported] == [
        (USER, {"format": "checkpoint"}),
        (USER, {"format": "key"}),
    ]


def test_the_downloads_need_a_signed_in_dpo(stranger, user, seeded: Seeded, runtime):
    for what in ("checkpoint", "key"):
        response = stranger.get(f"/dpo/integrity/{what}")
        assert (response.status_code, response.headers["location"]) == (303, "/dpo/")
    assert recorded(runtime, EventType.AUDIT_EXPORTED) == []


def test_before_the_first_checkpoint_only_the_key_is_offered(signed_in, runtime):
    html = signed_in.get("/dpo/integrity").text
    assert 'href="/dpo/integrity/key"' in html
    assert 'href="/dpo/integrity/checkpoint"' not in html
    assert signed_in.get("/dpo/integrity/checkpoint").status_code == 404
    assert recorded(runtime, EventType.AUDIT_EXPORTED) == []


@pytest.mark.parametrize("what", ["note", "checkpoints", "../key"])
def test_nothing_else_is_offered(signed_in, what):
    assert signed_in.get(f"/dpo/integrity/{what}").status_code in (404, 405, 422)
