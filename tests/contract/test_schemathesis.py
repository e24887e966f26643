"""The gateway does what its OpenAPI document says: schemathesis, every check on, over every
operation of the served document (/openapi.json of a live gateway), with an agency's token and
with a DPO's, finds no response the document does not allow and no schema-valid request the
server refuses, except the business rules listed with their reasons in schemathesis.toml.

The gateway is seeded through its own API (tests/contract/world.py); the run is given the ids
of what is there, so that valid requests also reach real consents, messages and notices, and
the test checks that they did. schemathesis runs as its command line does (`st run`), in a
process of its own, against the live server.

GATEWAY_FUZZ_EXAMPLES=N runs N examples per operation with a random seed (GATEWAY_FUZZ_SEED
to repeat one); unset, CI's fixed seed and budget of schemathesis.toml."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.contract.world import ABH, DPO, JA, JC, SA, World, seeded_gateway

ROOT = Path(__file__).parents[2]
CONFIG = ROOT / "schemathesis.toml"
EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "0"))

# Operations that valid requests must have reached with a 2xx answer, per caller: the run
# exercised real paths (a consented query, a fetched message, a proof), not only refusals.
REACHED = {
    JC: {
        "POST /v1/exchanges",
        "GET /v1/consents",
        "GET /v1/consents/{consent_id}",
        "GET /v1/consents/{consent_id}/receipt",
        "GET /v1/notices",
        "GET /v1/messages",
        "GET /v1/messages/{message_id}",
        "POST /v1/policies/explain",
        "GET /v1/schemas/{category}",
    },
    DPO: {
        "GET /v1/audit/entries",
        "GET /v1/audit/export",
        "GET /v1/audit/access-report",
        "GET /v1/audit/proofs/inclusion",
        "GET /v1/audit/checkpoint",
        "GET /v1/policies",
    },
}


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with seeded_gateway(database_url, tmp_path / "gateway") as world:
        yield world


@pytest.mark.timeout(120 + 4 * EXAMPLES)
@pytest.mark.parametrize("caller", [JC, DPO], ids=["agency", "dpo"])
def test_the_gateway_does_what_its_openapi_document_says(world: World, caller: str, tmp_path: Path):
    report = tmp_path / "report.json"
    command = [
        *("--config-file", str(_config(world, caller, tmp_path))),
        *("run", f"{world.gateway.url}/openapi.json"),
        *("--report", "json", "--report-json-path", str(report)),
        "--no-color",
        *_depth(),
    ]
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", *command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads(report.read_text(encoding="utf-8"))
    assert summary["operations"]["tested"] == summary["operations"]["total"]
    reached = {
        operation
        for operation, phases in summary["valid_rates"].items()
        if any(rate["accepted"] for rate in phases.values())
    }
    assert REACHED[caller] <= reached, sorted(REACHED[caller] - reached)


def _depth() -> list[str]:
    """CI's fixed seed and budget (schemathesis.toml), or a deeper run with a new seed."""
    if not EXAMPLES:
        return []
    seed = os.environ.get("GATEWAY_FUZZ_SEED") or str(random.getrandbits(64))
    print(f"schemathesis seed {seed}, {EXAMPLES} examples per operation")  # shown on failure
    return ["--max-examples", str(EXAMPLES), "--seed", seed]


def _config(world: World, caller: str, folder: Path) -> Path:
    """schemathesis.toml, with this run's callers (tokens, in a Web Fuzzing Commons auth file)
    and what the database holds (dictionaries of ids the requests may name)."""
    users = [caller] if caller == DPO else [JC, SA]
    auth = folder / "auth.json"
    auth.write_text(json.dumps({"auth": [_user(world, user) for user in users]}))
    tables: dict[str, Any] = {"auth": {"wfc": {"path": str(auth), "user": caller}}}
    if len(users) > 1:
        # The social office is party to none of the job centre's consents and messages: what
        # the job centre reads by id, it must not (schemathesis's object_level_authorization).
        tables["auth"]["wfc"]["peers"] = users
    text = CONFIG.read_text(encoding="utf-8") + "\n" + _toml(tables) + _seeded(world)
    named = {
        operation_id
        for entry in tomllib.loads(text)["operations"]
        for operation_id in entry["include-operation-id"]
    }
    document = httpx.get(f"{world.gateway.url}/openapi.json").json()
    known = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    assert named <= known, f"the configuration names no such operation: {named - known}"
    path = folder / "schemathesis.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _user(world: World, client_id: str) -> dict[str, Any]:
    header = {"name": "Authorization", "value": f"Bearer {world.token(client_id)}"}
    return {"name": client_id, "fixedHeaders": [header]}


def _seeded(world: World) -> str:
    """Ids of what is in the database, offered for half the valid requests' parameters: the
    fuzzer's own values still make up the other half."""
    dictionaries = {
        "consents": world.consents,
        "spare_consent": [world.spare_consent],
        "messages": world.messages,
        "spare_message": [world.spare_message],
        "notices": world.notices,
        "providers": [ABH],
        "recipients": [JA],
        "agencies": [JC],
        "references": ["JC-4711", "JC-4712"],
    }
    every = {
        "path.consent_id": "consents",
        "path.message_id": "messages",
        "path.notice_id": "notices",
        "body.provider": "providers",
        "body.recipient": "recipients",
        "body.subject_ref": "references",
        "query.subject_ref": "references",
        "query.agency": "agencies",
    }
    # What the fuzzer may change gets objects of its own (Yusuf's consent, a spare message).
    changing = {
        ("withdraw_consent", "set_own_reference", "reissue_portal_code"): {
            "path.consent_id": "spare_consent"
        },
        ("acknowledge_message",): {"path.message_id": "spare_message"},
    }
    text = _toml({"dictionaries": {name: {"values": ids} for name, ids in dictionaries.items()}})
    text += _toml({"parameters": {key: _binding(name) for key, name in every.items()}})
    for operations, bindings in changing.items():
        binding = {key: _binding(name) for key, name in bindings.items()}
        text += "\n[[operations]]\n" + _pairs({"include-operation-id": list(operations)})
        text += _pairs({"parameters": binding})
    return text


def _binding(dictionary: str) -> dict[str, Any]:
    return {"dictionary": dictionary, "probability": 0.5}


def _toml(tables: dict[str, Any], prefix: str = "") -> str:
    """Nested tables as TOML (strings, numbers, lists and tables of them: all this test
    writes; JSON's string syntax is TOML's)."""
    text = ""
    for name, value in tables.items():
        key = f"{prefix}{json.dumps(name)}"
        scalars = {k: v for k, v in value.items() if not isinstance(v, dict)}
        text += f"\n[{key}]\n" + _pairs(scalars)
        nested = {k: v for k, v in value.items() if isinstance(v, dict)}
        text += _toml(nested, f"{key}.") if nested else ""
    return text


def _pairs(values: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(key)} = {_value(value)}\n" for key, value in values.items())


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return json.dumps(value)


def test_the_exemptions_are_per_operation_each_with_its_reason():
    """No check is turned off for all operations, and what an operation is spared is only
    the acceptance of schema-valid requests, under a comment saying why."""
    text = CONFIG.read_text(encoding="utf-8")
    config = tomllib.loads(text)
    assert "checks" not in config
    for entry in config["operations"]:
        assert set(entry) == {"include-operation-id", "checks"}, entry
        assert set(entry["checks"]) == {"positive_data_acceptance"}, entry
    lines = text.splitlines()
    headers = [number for number, line in enumerate(lines) if line == "[[operations]]"]
    assert len(headers) == len(config["operations"])
    assert all(lines[number - 1].startswith("# ") for number in headers)
