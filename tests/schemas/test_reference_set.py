"""The reference schemas are the contract agency systems code against (PRODUCT.md §5): each is a
valid draft 2020-12 schema with valid examples, closed to extra fields, and defines every field
the reference policy set releases."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from gateway.policy.loader import REFERENCE_POLICIES, load_policies
from gateway.schemas.registry import (
    REFERENCE_SCHEMAS,
    SchemaError,
    check_released_fields,
    load_schemas,
    open_place,
)

FOLDER = Path(__file__).parents[2] / "schemas"
CATEGORIES = [
    "residence_status",
    "benefit_status",
    "integration_measures",
    "youth_welfare_support",
    "case_contact",
    "case_conference",
]
FILES = sorted(FOLDER.glob("*.json"))


def documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in FILES:
        yield path.name, json.loads(path.read_text(encoding="utf-8"))


def test_every_category_of_the_product_has_one_schema():
    assert [path.name for path in FILES] == sorted(f"{c}.v1.json" for c in CATEGORIES)
    assert load_schemas(REFERENCE_SCHEMAS).categories() == sorted(CATEGORIES)


def test_the_packaged_reference_is_the_repository_folder():
    assert REFERENCE_SCHEMAS.resolve() == FOLDER.resolve()


@pytest.mark.parametrize(("name", "document"), list(documents()), ids=[p.name for p in FILES])
def test_each_schema_is_valid_draft_2020_12_with_valid_examples(name, document):
    jsonschema_rs.meta.validate(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == f"https://consent-gateway.invalid/schemas/{name}"
    assert document["title"]
    assert document["description"]
    # Checked by a validator compiled here, apart from the registry's loading and error
    # building, formats asserted as the gateway does.
    plain = jsonschema_rs.Draft202012Validator(document, validate_formats=True)
    assert len(document["examples"]) >= 2
    for example in document["examples"]:
        assert [error.message for error in plain.iter_errors(example)] == []
        assert load_schemas(REFERENCE_SCHEMAS).validate(name.split(".")[0], example) == []


def object_nodes(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield where, node
        for key, value in node.items():
            if key not in ("examples", "enum"):
                yield from object_nodes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from object_nodes(value, f"{where}/{index}")


@pytest.mark.parametrize(("name", "document"), list(documents()), ids=[p.name for p in FILES])
def test_every_object_is_closed_to_fields_the_schema_does_not_name(name, document):
    nodes = list(object_nodes(document))
    assert nodes
    for where, node in nodes:
        assert node.get("additionalProperties") is False, f"{name}{where}"


@pytest.mark.parametrize(("name", "document"), list(documents()), ids=[p.name for p in FILES])
def test_every_date_is_a_formatted_string_with_a_pattern(name, document):
    formatted = [node for _, node in _all_nodes(document) if "format" in node]
    for node in formatted:
        assert "pattern" in node, f"{name}: formats alone are not asserted by every validator"
    if name != "case_contact.v1.json":  # the one category without a date
        assert any(node["format"] in ("date", "date-time") for node in formatted)


def _all_nodes(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key != "examples":
                yield from _all_nodes(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _all_nodes(value, f"{where}/{index}")


def schema(category: str) -> dict[str, Any]:
    return dict(load_schemas(REFERENCE_SCHEMAS).latest(category).document)


def props(category: str) -> dict[str, Any]:
    return dict(load_schemas(REFERENCE_SCHEMAS).latest(category).item_properties)


@pytest.mark.parametrize(
    ("category", "field", "values"),
    [
        ("residence_status", "title", [
            "residence_permit", "settlement_permit", "eu_blue_card", "toleration",
            "permission_to_reside_asylum", "arrival_certificate", "fictional_certificate", "none"]),
        ("residence_status", "employment_permitted", ["yes", "with_permission", "no"]),
        ("benefit_status", "benefit", [
            "sgb2_citizens_income", "sgb12_social_assistance", "asylblg_basic",
            "asylblg_analogous", "none"]),
        ("benefit_status", "status", ["applied", "granted", "suspended", "ended", "refused"]),
        ("integration_measures", "type", [
            "integration_course", "job_language_course", "vocational_training", "job_placement",
            "activation_measure", "qualification_recognition"]),
        ("integration_measures", "status", ["planned", "ongoing", "completed", "aborted"]),
        ("integration_measures", "level", ["A1", "A2", "B1", "B2", "C1", "C2", None]),
        ("youth_welfare_support", "support_type", [
            "educational_support", "unaccompanied_minor_care", "guardianship", "day_care",
            "youth_social_work"]),
        ("youth_welfare_support", "status", ["planned", "ongoing", "ended"]),
        ("case_contact", "role", ["lead_case_manager", "caseworker"]),
    ],
)  # fmt: skip
def test_the_enumerations_are_exactly_those_of_the_product(category, field, values):
    assert props(category)[field]["enum"] == values


@pytest.mark.parametrize(
    ("category", "fields"),
    [
        ("residence_status", ["title", "legal_provision", "valid_from", "valid_until",
                              "employment_permitted", "residence_obligation",
                              "integration_course_obligation"]),
        ("benefit_status", ["benefit", "status", "since", "until", "household_size"]),
        ("integration_measures", ["type", "status", "start", "end", "level"]),
        ("youth_welfare_support", ["support_type", "status", "since", "lead_contact"]),
        ("case_contact", ["agency", "caseworker_name", "phone", "email", "role"]),
        ("case_conference", ["starts_at", "location", "topic", "participants"]),
    ],
)  # fmt: skip
def test_the_field_names_are_spelled_as_the_product_spells_them(category, fields):
    assert list(props(category)) == fields


def test_integration_measures_are_a_list_of_measures():
    document = schema("integration_measures")
    assert document["type"] == "array"
    assert document["items"]["type"] == "object"


def test_every_field_the_reference_policies_release_exists_in_its_schema():
    schemas = load_schemas(REFERENCE_SCHEMAS)
    policies = load_policies(REFERENCE_POLICIES)
    released = [
        (category, name)
        for flow in policies.flows
        for category, names in flow.fields.items()
        for name in names
    ]
    assert {category for category, _ in released} == set(CATEGORIES)
    missing = [
        (category, name)
        for category, name in released
        if name not in schemas.latest(category).item_properties
    ]
    assert missing == []
    check_released_fields(schemas, policies)  # the same check, as start-up runs it


def test_a_policy_releasing_a_field_no_schema_defines_is_refused():
    policies = load_policies(REFERENCE_POLICIES)
    flow = policies.flows[0]
    widened = replace(flow, fields={c: (*names, "nationality") for c, names in flow.fields.items()})
    broken = replace(policies, flows=(widened, *policies.flows[1:]))
    with pytest.raises(SchemaError) as refused:
        check_released_fields(load_schemas(REFERENCE_SCHEMAS), broken)
    assert "nationality" in str(refused.value)
    assert flow.id in str(refused.value)
    assert "residence_status.v1.json" in str(refused.value)


def test_a_policy_releasing_a_category_without_a_schema_is_refused():
    policies = load_policies(REFERENCE_POLICIES)
    flow = replace(policies.flows[0], fields={"health_record": ("diagnosis",)})
    with pytest.raises(SchemaError, match="no schema for the category health_record"):
        check_released_fields(load_schemas(REFERENCE_SCHEMAS), replace(policies, flows=(flow,)))


def _support_schema(folder: Path, change: Any) -> None:
    for path in REFERENCE_SCHEMAS.glob("*.json"):
        shutil.copy(path, folder)
    name = "youth_welfare_support.v1.json"
    document = json.loads((folder / name).read_text(encoding="utf-8"))
    change(document["properties"]["lead_contact"])
    (folder / name).write_text(json.dumps(document), encoding="utf-8")


@pytest.mark.parametrize(
    "change",
    [
        lambda contact: contact.pop("additionalProperties"),  # open: any field may come along
        lambda contact: contact.update(additionalProperties={"type": "string"}),
        lambda contact: contact.update(patternProperties={"^x-": {"type": "string"}}),
        lambda contact: contact["properties"].update(note={"description": "anything"}),
    ],
    ids=["open", "additional-schema", "pattern", "untyped-inner-field"],
)
def test_a_released_field_whose_objects_are_not_closed_is_refused(tmp_path: Path, change: Any):
    """Minimisation keeps a released field whole: a provider could slip more into an open
    object inside it. The operator's schema is refused at start-up instead."""
    _support_schema(tmp_path, change)
    with pytest.raises(SchemaError) as refused:
        check_released_fields(load_schemas(tmp_path), load_policies(REFERENCE_POLICIES))
    assert refused.value.file == "youth_welfare_support.v1.json"
    assert "lead_contact" in str(refused.value)
    assert "jugendamt-to-jobcenter-support" in str(refused.value)


@pytest.mark.parametrize(
    "node",
    [
        {"type": "array"},  # any items at all
        {"type": "array", "items": True},
        {"type": "array", "prefixItems": [{"type": "string"}]},  # the tail is open
        {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
        {"type": "object", "unevaluatedProperties": False,
         "additionalProperties": {"type": "string"}},
        {"type": "object", "additionalProperties": False,
         "dependentSchemas": {"name": {"properties": {"note": {"type": "string"}}}}},
        {"type": "object", "additionalProperties": False, "properties": {"a": {}}},
        {"properties": {"a": {"type": "string"}}, "additionalProperties": False},  # or an array
    ],
)  # fmt: skip
def test_schema_shapes_that_let_more_through_are_open(node: dict[str, Any]):
    assert open_place(node, ("lead_contact",)) is not None


@pytest.mark.parametrize(
    "node",
    [
        {"type": "string", "maxLength": 20},
        {"type": ["string", "null"]},
        {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
        {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                    "properties": {"level": {"enum": ["A1", "B2", None]}}}},
        {"type": "array", "prefixItems": [{"type": "integer"}], "items": False},
    ],
)  # fmt: skip
def test_closed_shapes_are_accepted(node: dict[str, Any]):
    assert open_place(node, ("field",)) is None
