"""Schema files are data a DPO reviews: a broken one stops the gateway from starting, and the
refusal names the file and, where it can, the line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from gateway.schemas.registry import REFERENCE_SCHEMAS, SchemaError, load_schemas

NAME = "residence_status.v1.json"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for path in REFERENCE_SCHEMAS.glob("*.json"):
        shutil.copy(path, tmp_path)
    return tmp_path


def reference() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((REFERENCE_SCHEMAS / NAME).read_text(encoding="utf-8"))
    return document


def write(folder: Path, document: Any, name: str = NAME) -> None:
    (folder / name).write_text(json.dumps(document, indent=2), encoding="utf-8")


def refusal(folder: Path) -> SchemaError:
    with pytest.raises(SchemaError) as refused:
        load_schemas(folder)
    return refused.value


def test_a_copy_of_the_reference_set_loads(folder: Path):
    assert load_schemas(folder).digest == load_schemas(REFERENCE_SCHEMAS).digest


def test_a_file_that_is_not_json_is_refused_with_its_line(folder: Path):
    (folder / NAME).write_text('{\n  "title": "x",\n  "type": "object"\n  "oops": 1\n}\n')
    error = refusal(folder)
    assert (error.file, error.line) == (NAME, 4)
    assert str(error).startswith(f"{NAME}:4: not valid JSON")


def test_an_invalid_schema_is_refused_naming_file_line_and_place(folder: Path):
    document = reference()
    document["properties"]["valid_until"]["type"] = "date"  # not a JSON Schema type
    write(folder, document)
    error = refusal(folder)
    assert error.file == NAME
    assert "not a valid draft 2020-12 schema at /properties/valid_until/type" in error.problem
    assert error.line is not None
    assert '"type": "date"' in (folder / NAME).read_text().splitlines()[error.line - 1]


def test_an_invalid_pattern_is_refused_naming_its_place_and_line(folder: Path):
    document = reference()
    document["properties"]["valid_until"]["pattern"] = "^([0-9]{4}$"
    write(folder, document)
    error = refusal(folder)
    assert error.file == NAME
    assert "not a valid draft 2020-12 schema at /properties/valid_until/pattern" in error.problem
    assert error.line is not None
    assert '"^([0-9]{4}$"' in (folder / NAME).read_text().splitlines()[error.line - 1]


def test_an_example_that_does_not_validate_is_refused_naming_it(folder: Path):
    document = reference()
    document["examples"][1]["employment_permitted"] = "maybe"
    write(folder, document)
    error = refusal(folder)
    assert error.file == NAME
    assert error.problem.startswith("example 2 is invalid at /employment_permitted: must be one")
    assert error.line is not None
    assert '"maybe"' in (folder / NAME).read_text().splitlines()[error.line - 1]


def test_a_schema_without_examples_is_refused(folder: Path):
    document = reference()
    del document["examples"]
    write(folder, document)
    assert "examples" in refusal(folder).problem


@pytest.mark.parametrize(
    "name",
    ["residence_status.json", "Residence_status.v1.json", "residence_status.v0.json",
     "residence-status.v1.json"],
)  # fmt: skip
def test_a_file_name_that_is_not_category_and_version_is_refused(folder: Path, name: str):
    (folder / NAME).rename(folder / name)
    error = refusal(folder)
    assert error.file == name
    assert "<category>.v<version>.json" in error.problem


def test_an_id_that_does_not_match_the_file_name_is_refused(folder: Path):
    write(folder, reference(), "residence_status.v2.json")  # still says .../v1.json
    error = refusal(folder)
    assert error.file == "residence_status.v2.json"
    assert '"$id"' in error.problem


def test_a_schema_of_another_draft_is_refused(folder: Path):
    document = reference()
    document["$schema"] = "http://json-schema.org/draft-07/schema#"
    write(folder, document)
    error = refusal(folder)
    assert (error.file, error.line) == (NAME, 2)
    assert "2020-12" in error.problem


def test_a_key_given_twice_is_refused(folder: Path):
    text = (folder / NAME).read_text()
    (folder / NAME).write_text(
        text.replace('"type": "object",', '"type": "object", "type": "array",', 1)
    )
    assert "appears twice" in refusal(folder).problem


def test_a_reference_to_the_network_is_refused(folder: Path):
    document = reference()
    document["properties"]["title"] = {"$ref": "https://schemas.example/residence-title.json"}
    write(folder, document)
    error = refusal(folder)
    assert error.file == NAME
    assert "cannot be compiled" in error.problem


def test_an_empty_or_missing_folder_is_refused(tmp_path: Path):
    assert "no schema files" in refusal(tmp_path).problem
    assert "no such folder" in refusal(tmp_path / "missing").problem


def test_a_newer_version_becomes_the_latest(folder: Path):
    document = reference()
    document["$id"] = document["$id"].replace(".v1.", ".v2.")
    document["properties"]["title"]["enum"].append("eu_permanent_residence")
    write(folder, document, "residence_status.v2.json")
    schemas = load_schemas(folder)
    assert schemas.versions("residence_status") == [1, 2]
    assert schemas.latest("residence_status").version == 2
    v1 = reference()["examples"][0] | {"title": "eu_permanent_residence"}
    assert schemas.validate("residence_status", v1) == []
    assert schemas.validate("residence_status", v1, version=1) != []


def test_a_map_keyed_by_data_never_puts_the_keys_in_a_path(tmp_path: Path):
    # A deployment's own schema may allow free keys; those keys can be personal data.
    write(
        tmp_path,
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://city.example/schemas/household.v1.json",
            "title": "Household",
            "description": "Members by name, with their age.",
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 0},
            "examples": [{"Amina": 7}],
        },
        "household.v1.json",
    )
    errors = load_schemas(tmp_path).validate("household", {"Amina": -1, "Zeynep Yılmaz": "x"})
    assert errors == [
        {"path": "/Amina", "message": "must be at least 0"},
        {"path": "", "message": "has a property that must be an integer"},
    ]
