"""Exports: JSONL that verifies offline with the public key alone, CSV for reading, and the
export itself in the log."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from gateway.cli.main import cli
from gateway.runtime import Runtime
from gateway.settings import Settings
from tests.audit.dpo_api.seeded import (  # log: the shared fixture
    Log,
    entries,
    export_jsonl,
    publish,
)

# -- export ----------------------------------------------------------------------------------


@pytest.fixture
def gateway_cli(settings: Settings):
    runner = CliRunner(
        env={
            "GATEWAY_DATABASE_URL": settings.database_url,
            "GATEWAY_KEY_DIR": str(settings.key_dir),
            "GATEWAY_ISSUER": settings.issuer,
        }
    )
    return lambda *args: runner.invoke(cli, list(args))


def test_the_jsonl_export_ends_with_the_checkpoint_it_covers(
    http: TestClient, log: Log, runtime: Runtime
):
    size = publish(runtime)
    lines, text = export_jsonl(http, log)
    last = json.loads(text.splitlines()[-1])
    assert set(last) == {"checkpoint"}
    assert last["checkpoint"] == http.get("/v1/audit/checkpoint", headers=log.dpo).text
    assert [line["seq"] for line in lines] == list(range(size))


def test_an_exported_log_verifies_offline_with_the_public_key(
    http: TestClient, log: Log, runtime: Runtime, tmp_path: Path, gateway_cli
):
    publish(runtime)
    _, text = export_jsonl(http, log)
    export = tmp_path / "audit.jsonl"
    export.write_text(text)
    key = tmp_path / "audit.vkey"
    key.write_text(http.get("/v1/audit/key", headers=log.dpo).text)

    result = gateway_cli("audit", "verify", "--export", str(export), "--public-key", str(key))
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_an_exported_log_with_one_changed_field_fails_verification(
    http: TestClient, log: Log, runtime: Runtime, tmp_path: Path, gateway_cli
):
    publish(runtime)
    _, text = export_jsonl(http, log)
    key = tmp_path / "audit.vkey"
    key.write_text(http.get("/v1/audit/key", headers=log.dpo).text)
    changed = []
    position = None
    for line in text.splitlines():
        record = json.loads(line)
        if position is None and record.get("entry", {}).get("request_id") == "r3":
            record["entry"]["decision"] = "permit"
            position = record["seq"]
        changed.append(json.dumps(record, ensure_ascii=False))
    assert position is not None
    export = tmp_path / "audit.jsonl"
    export.write_text("\n".join(changed) + "\n")

    result = gateway_cli("audit", "verify", "--export", str(export), "--public-key", str(key))
    assert result.exit_code == 1, result.output
    assert f"position {position}" in result.output


def test_the_csv_export_has_a_header_and_one_row_per_entry(
    http: TestClient, log: Log, runtime: Runtime
):
    size = publish(runtime)
    response = http.get("/v1/audit/export", params={"format": "csv"}, headers=log.dpo)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    header = next(csv.reader(io.StringIO(response.text)))
    assert {"position", "time", "event", "requester", "provider", "decision"} <= set(header)
    assert [int(row["position"]) for row in rows] == list(range(size))
    (r5,) = [row for row in rows if row["request_id"] == "r5"]
    assert r5["categories"] == "benefit_status case_contact"
    assert r5["decision"] == "permit"


def test_an_export_is_itself_recorded_in_the_log(http: TestClient, log: Log, runtime: Runtime):
    publish(runtime)
    assert entries(http, log, event="audit.exported") == []
    export_jsonl(http, log)
    http.get("/v1/audit/export", params={"format": "csv"}, headers=log.dpo)
    exported = entries(http, log, event="audit.exported")
    assert [(entry["actor"], entry["details"]) for entry in exported] == [
        ("city-dpo", {"format": "jsonl"}),
        ("city-dpo", {"format": "csv"}),
    ]
