"""Documents are checked against their category's schema; each problem comes back as a JSON
pointer and a message, and no message or path ever repeats the personal data it rejected."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from gateway.schemas.messages import pointer
from gateway.schemas.registry import REFERENCE_SCHEMAS, SchemaSet, UnknownCategory, load_schemas

# Values that must never come back: a name, a reference, a number, a date, a place.
SECRET = "Zeynep-Yilmaz-ABH-0815"


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return load_schemas(REFERENCE_SCHEMAS)


def example(schemas: SchemaSet, category: str, index: int = 0) -> Any:
    return copy.deepcopy(schemas.latest(category).document["examples"][index])


def assert_no_value_leaks(errors: list[dict[str, str]], *values: Any) -> None:
    assert errors, "the document should have been refused"
    for error in errors:
        assert set(error) == {"path", "message"}
        for value in values:
            if value in ("", None):
                continue
            assert str(value) not in error["message"]
            assert str(value) not in error["path"]
            assert json.dumps(value) not in error["message"]


def test_the_examples_are_valid(schemas: SchemaSet):
    for category in schemas.categories():
        for document in schemas.latest(category).document["examples"]:
            assert schemas.validate(category, document) == []


@pytest.mark.parametrize(
    ("category", "change", "path", "message"),
    [
        # a value outside the enumeration
        ("residence_status", {"title": SECRET}, "/title",
         "must be one of the allowed values: residence_permit, settlement_permit, eu_blue_card, "
         "toleration, permission_to_reside_asylum, arrival_certificate, fictional_certificate, "
         "none"),
        ("benefit_status", {"status": SECRET}, "/status",
         "must be one of the allowed values: applied, granted, suspended, ended, refused"),
        # a field the schema does not name
        ("residence_status", {"nationality": SECRET}, "/nationality", "is not allowed here"),
        # dates: not a date at all, an impossible one, a German one
        ("residence_status", {"valid_until": SECRET}, "/valid_until",
         "must be a date (YYYY-MM-DD)"),
        ("benefit_status", {"since": "2025-02-30"}, "/since", "must be a date (YYYY-MM-DD)"),
        ("benefit_status", {"until": "28.02.2025"}, "/until", "must be a date (YYYY-MM-DD)"),
        ("case_conference", {"starts_at": "2025-03-12 10:00"}, "/starts_at",
         "must be a date and time with offset (RFC 3339, e.g. 2025-03-12T10:00:00+01:00)"),
        # wrong types
        ("benefit_status", {"household_size": "4"}, "/household_size", "must be an integer"),
        ("benefit_status", {"household_size": 2.5}, "/household_size", "must be an integer"),
        ("benefit_status", {"household_size": 0}, "/household_size", "must be at least 1"),
        ("residence_status", {"integration_course_obligation": "yes"},
         "/integration_course_obligation", "must be true or false"),
        ("residence_status", {"title": 4711}, "/title", "must be a string"),
        ("residence_status", {"residence_obligation": 50667}, "/residence_obligation",
         "must be a string or null"),
        ("residence_status", {"residence_obligation": ""}, "/residence_obligation",
         "must not be empty"),
        # nested objects
        ("youth_welfare_support", {"lead_contact": {"name": SECRET}}, "/lead_contact/phone",
         "is required"),
        ("youth_welfare_support", {"lead_contact": SECRET}, "/lead_contact", "must be an object"),
        ("case_contact", {"email": SECRET}, "/email", "must be an e-mail address"),
        ("case_contact", {"phone": SECRET}, "/phone", "does not have the expected form"),
        ("case_contact", {"agency": "Koeln Jobcenter"}, "/agency",
         "does not have the expected form"),
        # lists
        ("case_conference", {"participants": []}, "/participants", "must not be empty"),
        ("case_conference", {"participants": ["koeln-jobcenter", "koeln-jobcenter"]},
         "/participants", "must not contain duplicates"),
        ("case_conference", {"participants": ["koeln-jobcenter", SECRET]}, "/participants/1",
         "does not have the expected form"),
        ("case_conference", {"topic": "x" * 501}, "/topic", "must have at most 500 characters"),
    ],
)  # fmt: skip
def test_an_invalid_field_is_named_by_pointer_and_message(
    schemas: SchemaSet, category, change, path, message
):
    document = example(schemas, category) | change
    errors = schemas.validate(category, document)
    assert {"path": path, "message": message} in errors
    assert_no_value_leaks(errors, *change.values())


@pytest.mark.parametrize("field", ["title", "valid_until", "employment_permitted"])
def test_a_missing_required_field_is_named(schemas: SchemaSet, field):
    document = example(schemas, "residence_status")
    del document[field]
    assert schemas.validate("residence_status", document) == [
        {"path": f"/{field}", "message": "is required"}
    ]


def test_legal_provision_is_optional(schemas: SchemaSet):
    document = example(schemas, "residence_status")
    del document["legal_provision"]
    assert schemas.validate("residence_status", document) == []


def test_each_bad_measure_in_the_list_is_named_by_its_index(schemas: SchemaSet):
    good = example(schemas, "integration_measures")[0]
    measures = [
        good,
        good | {"level": "D1"},
        good | {"status": SECRET, "end": "2025-13-01"},
        {key: value for key, value in good.items() if key != "type"},
        SECRET,
        good | {"comment": SECRET},
    ]
    errors = schemas.validate("integration_measures", measures)
    assert errors == [  # by path: index, then field name
        {"path": "/1/level", "message": "must be one of the allowed values: A1, A2, B1, B2, C1, "
         "C2, null"},
        {"path": "/2/end", "message": "must be a date (YYYY-MM-DD)"},
        {"path": "/2/status", "message": "must be one of the allowed values: planned, ongoing, "
         "completed, aborted"},
        {"path": "/3/type", "message": "is required"},
        {"path": "/4", "message": "must be an object"},
        {"path": "/5/comment", "message": "is not allowed here"},
    ]  # fmt: skip
    assert_no_value_leaks(errors, SECRET, "D1", "2025-13-01")


def test_integration_measures_must_be_a_list(schemas: SchemaSet):
    errors = schemas.validate("integration_measures", example(schemas, "integration_measures")[0])
    assert errors == [{"path": "", "message": "must be a list"}]


def test_an_empty_list_of_measures_is_valid(schemas: SchemaSet):
    assert schemas.validate("integration_measures", []) == []


def test_a_field_name_that_could_be_personal_data_is_not_echoed(schemas: SchemaSet):
    document = example(schemas, "case_contact") | {"Zeynep Yılmaz": "+49 221 555"}
    errors = schemas.validate("case_contact", document)
    assert errors == [{"path": "", "message": "has a property that is not allowed here"}]
    assert_no_value_leaks(errors, "Zeynep", "+49 221 555")


def test_a_pointer_escapes_slash_and_tilde():
    assert pointer([]) == ""
    assert pointer([0, "level"]) == "/0/level"
    assert pointer(["a/b~c", 2]) == "/a~1b~0c/2"


def test_the_number_of_errors_is_bounded(schemas: SchemaSet):
    bad = [{"type": SECRET}] * 500
    errors = schemas.validate("integration_measures", bad)
    assert 0 < len(errors) <= 50
    assert_no_value_leaks(errors, SECRET)


@pytest.mark.parametrize("document", [None, "text", 42, [], True])
def test_a_document_of_the_wrong_kind_is_refused(schemas: SchemaSet, document):
    assert schemas.validate("residence_status", document) == [
        {"path": "", "message": "must be an object"}
    ]


def test_an_unknown_category_or_version_is_a_lookup_error(schemas: SchemaSet):
    with pytest.raises(UnknownCategory):
        schemas.validate("health_record", {})
    with pytest.raises(UnknownCategory):
        schemas.validate("residence_status", {}, version=2)


def test_the_digest_is_stable_and_the_versions_are_listed(schemas: SchemaSet):
    again = load_schemas(REFERENCE_SCHEMAS)
    assert again.digest == schemas.digest
    assert len(schemas.digest) == 64
    assert schemas.versions("residence_status") == [1]
    assert schemas.latest("residence_status").id.endswith("/residence_status.v1.json")
