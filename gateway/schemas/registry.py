"""The schema registry: one JSON Schema (draft 2020-12) per exchanged category and version.

Schema files are data a DPO reads and diffs, named ``<category>.v<version>.json``. Loading checks
each file against the 2020-12 meta-schema, that its ``$id`` ends in its file name, and that its
examples validate; a file failing any of these stops the gateway from starting, with the file
(and, where it can be told, the line) named. Each schema is compiled once, with jsonschema-rs,
which validates a document a hundred times faster than the pure-Python ``jsonschema``.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
import rfc8785

from gateway.policy.model import PolicySet
from gateway.schemas.messages import describe, pointer

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
# The reference set ships inside the package (a link to the repository's schemas/ folder).
REFERENCE_SCHEMAS = Path(__file__).with_name("reference")
FILE_NAME = re.compile(r"^(?P<category>[a-z][a-z0-9_]{0,62})\.v(?P<version>[1-9][0-9]{0,3})\.json$")


@dataclass
class SchemaError(Exception):
    file: str
    problem: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.problem}"


class UnknownCategory(LookupError):
    """No schema for this category (or this version of it)."""


@dataclass(frozen=True)
class CategorySchema:
    category: str
    version: int
    file: str
    document: Mapping[str, Any]
    validator: Any = field(repr=False, compare=False)  # a compiled jsonschema-rs validator

    @property
    def id(self) -> str:
        return str(self.document["$id"])

    @property
    def item_properties(self) -> Mapping[str, Any]:
        """The fields a policy can release: the properties of the document, or of each item
        when the category is a list (integration_measures)."""
        node = self.document
        if node.get("type") == "array":
            node = node.get("items", {})
        return node.get("properties", {}) if isinstance(node, Mapping) else {}


class SchemaSet:
    """The loaded schemas, each compiled once; safe to share between threads."""

    def __init__(self, schemas: Iterable[CategorySchema], digest: str):
        self._schemas: dict[str, dict[int, CategorySchema]] = {}
        for schema in schemas:
            self._schemas.setdefault(schema.category, {})[schema.version] = schema
        self.digest = digest  # SHA-256 over the canonical form of every file

    def categories(self) -> list[str]:
        return sorted(self._schemas)

    def versions(self, category: str) -> list[int]:
        return sorted(self._versions(category))

    def latest(self, category: str) -> CategorySchema:
        versions = self._versions(category)
        return versions[max(versions)]

    def get(self, category: str, version: int | None = None) -> CategorySchema:
        if version is None:
            return self.latest(category)
        schema = self._versions(category).get(version)
        if schema is None:
            raise UnknownCategory(f"{category} v{version}")
        return schema

    @property
    def files(self) -> list[str]:
        return sorted(s.file for versions in self._schemas.values() for s in versions.values())

    def validate(
        self, category: str, document: Any, *, version: int | None = None
    ) -> list[dict[str, str]]:
        """Each problem of ``document`` as ``{path, message}`` (empty when valid). Paths are
        JSON pointers into the document; messages never contain its values."""
        schema = self.get(category, version)
        if schema.validator.is_valid(document):
            return []
        return describe(schema.validator.iter_errors(document), schema.document)

    def _versions(self, category: str) -> dict[int, CategorySchema]:
        versions = self._schemas.get(category)
        if not versions:
            raise UnknownCategory(category)
        return versions


def load_schemas(folder: Path) -> SchemaSet:
    """Every ``*.json`` in ``folder``, checked and compiled; SchemaError on the first bad file."""
    if not folder.is_dir():
        raise SchemaError(str(folder), "no such folder")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise SchemaError(str(folder), "no schema files (<category>.v<version>.json)")
    schemas = [_load(path) for path in files]
    documents = {schema.file: schema.document for schema in schemas}
    digest = hashlib.sha256(rfc8785.dumps(documents)).hexdigest()
    return SchemaSet(schemas, digest)


def check_released_fields(schemas: SchemaSet, policies: PolicySet) -> None:
    """Refuse a policy set that releases a category without a schema or a field its schema
    does not define (minimisation would silently release nothing of it), or a field whose
    schema lets an object carry more than it names (minimisation keeps a released field
    whole: only a closed schema, checked on every answer, keeps more from slipping out)."""
    for flow in policies.flows:
        for category, fields in flow.fields.items():
            where = f"policy {flow.policy_id}, flow {flow.id}"
            try:
                schema = schemas.latest(category)
            except UnknownCategory:
                raise SchemaError(where, f"no schema for the category {category}") from None
            unknown = [name for name in fields if name not in schema.item_properties]
            if unknown:
                raise SchemaError(
                    where, f"releases {', '.join(unknown)}, which {schema.file} does not define"
                )
            for name in fields:
                open_at = open_place(schema.item_properties[name], (name,))
                if open_at is not None:
                    raise SchemaError(
                        schema.file,
                        f"{where} releases {name}, but at {pointer(open_at)} a value may carry "
                        "more than the schema names: close every object with "
                        '"additionalProperties": false and every list with "items" (no '
                        "patternProperties, dependentSchemas or $ref)",
                    )


# Where a released value's schema goes on to the values inside it.
_SUBSCHEMAS = ("items", "contains", "not", "if", "then", "else")
_SCHEMA_LISTS = ("prefixItems", "allOf", "anyOf", "oneOf")
# Keywords that let an object carry properties beside those it names, or that this check
# cannot follow.
_OPENING = ("$ref", "$dynamicRef", "patternProperties", "dependentSchemas")


def open_place(node: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """Where (as a path of schema keywords) a value valid against ``node`` could carry more
    than the schema names: an object with properties it does not list, a list with items of
    any shape, or any value at all; None if nowhere. Deliberately strict: a schema this does
    not understand is taken as open."""
    if node is False:
        return None
    if not isinstance(node, Mapping):  # ``true``: anything at all
        return path
    if any(keyword in node for keyword in _OPENING):
        return path
    if "enum" not in node and "const" not in node:
        if _admits(node, "object") and node.get("additionalProperties") is not False:
            return path
        if _admits(node, "array") and node.get("items", True) is True:
            return path
    for name, child in node.get("properties", {}).items():
        if (found := open_place(child, (*path, "properties", name))) is not None:
            return found
    for keyword in _SUBSCHEMAS:
        if keyword in node and (found := open_place(node[keyword], (*path, keyword))):
            return found
    for keyword in _SCHEMA_LISTS:
        for index, child in enumerate(node.get(keyword, [])):
            if (found := open_place(child, (*path, keyword, index))) is not None:
                return found
    return None


def _admits(node: Mapping[str, Any], json_type: str) -> bool:
    types = node.get("type")
    return types is None or types == json_type or (isinstance(types, list) and json_type in types)


def _load(path: Path) -> CategorySchema:
    name = path.name
    matched = FILE_NAME.match(name)
    if matched is None:
        raise SchemaError(name, "the file name must be <category>.v<version>.json")
    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as bad:
        raise SchemaError(name, f"not valid JSON: {bad.msg}", bad.lineno) from None
    except _DuplicateKey as duplicate:
        raise SchemaError(name, f"the key {duplicate.key!r} appears twice in one object") from None
    lines = _Lines(text)
    if not isinstance(document, dict):
        raise SchemaError(name, "a schema must be a JSON object", 1)
    if document.get("$schema") != DRAFT_2020_12:
        raise SchemaError(name, f'"$schema" must be "{DRAFT_2020_12}"', lines.of(("$schema",)))
    invalid = next(iter(_meta_schema().iter_errors(document)), None)
    if invalid is not None:
        where = tuple(invalid.instance_path)
        problem = f"not a valid draft 2020-12 schema at {pointer(where) or '/'}: {invalid.message}"
        raise SchemaError(name, problem, lines.of(where))
    schema_id = document.get("$id")
    if not isinstance(schema_id, str) or not schema_id.endswith("/" + name):
        raise SchemaError(name, f'"$id" must be a URI ending in /{name}', lines.of(("$id",)))
    for keyword in ("title", "description"):
        if not isinstance(document.get(keyword), str) or not document[keyword].strip():
            problem = f'"{keyword}" must say what the category holds'
            raise SchemaError(name, problem, lines.of((keyword,)))
    validator = _compile(name, document)
    schema = CategorySchema(matched["category"], int(matched["version"]), name, document, validator)
    _check_examples(schema, lines)
    return schema


@functools.cache
def _meta_schema() -> Any:
    """The draft 2020-12 meta-schema (jsonschema-rs carries it; nothing is fetched), compiled
    with formats asserted: ``jsonschema_rs.meta.validate`` leaves them out, and a "pattern"
    that is no regular expression would then be refused only by compilation, without its
    place in the file."""
    return jsonschema_rs.validator_for(
        {"$ref": DRAFT_2020_12}, validate_formats=True, retriever=_refuse_remote
    )


def _compile(name: str, document: dict[str, Any]) -> Any:
    try:
        # Formats are asserted (2020-12 only annotates them by default): 2025-02-30 is no date.
        return jsonschema_rs.validator_for(
            document, validate_formats=True, retriever=_refuse_remote
        )
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as bad:
        first_line = str(bad).strip().splitlines()[0] if str(bad).strip() else type(bad).__name__
        raise SchemaError(name, f"cannot be compiled: {first_line}") from None


def _refuse_remote(uri: str) -> Any:
    # Schemas must be self-contained: a start-up that fetches from the network is neither
    # reproducible nor reviewable.
    raise ValueError(f"schemas must be self-contained; {uri} is not available offline")


def _check_examples(schema: CategorySchema, lines: _Lines) -> None:
    examples = schema.document.get("examples")
    if not isinstance(examples, list) or not examples:
        raise SchemaError(schema.file, '"examples" must list at least one valid document', 1)
    for index, example in enumerate(examples):
        errors = describe(schema.validator.iter_errors(example), schema.document)
        if errors:
            first = errors[0]
            where = ("examples", index, *_parts(first["path"]))
            raise SchemaError(
                schema.file,
                f"example {index + 1} is invalid at {first['path'] or '/'}: {first['message']}",
                lines.of(where),
            )


def _parts(json_pointer: str) -> list[str | int]:
    parts: list[str | int] = []
    for raw in json_pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        parts.append(int(part) if part.isdigit() else part)
    return parts


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A key given twice silently keeps the last one: a reviewer would read the other.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class _Lines:
    """The line each value of a (valid) JSON text starts on, by its path, to point reviewers at
    the place in the file."""

    def __init__(self, text: str):
        self._text = text
        self._newlines = [i for i, char in enumerate(text) if char == "\n"]
        self._decoder = json.JSONDecoder()
        self._lines: dict[tuple[str | int, ...], int] = {}
        self._value(self._skip(0), ())

    def of(self, path: Sequence[str | int]) -> int | None:
        """The line of the deepest value along ``path`` that exists (1-based)."""
        path = tuple(path)
        while path not in self._lines and path:
            path = path[:-1]
        return self._lines.get(path)

    def _skip(self, index: int) -> int:
        while index < len(self._text) and self._text[index] in " \t\r\n":
            index += 1
        return index

    def _value(self, index: int, path: tuple[str | int, ...]) -> int:
        self._lines[path] = bisect.bisect_left(self._newlines, index) + 1
        opening = self._text[index]
        if opening not in "{[":
            _, end = self._decoder.raw_decode(self._text, index)
            return end
        closing = "}" if opening == "{" else "]"
        index = self._skip(index + 1)
        position = 0
        while self._text[index] != closing:
            if opening == "{":
                key, index = self._decoder.raw_decode(self._text, index)
                index = self._skip(self._skip(index) + 1)  # past the colon
                index = self._value(index, (*path, key))
            else:
                index = self._value(index, (*path, position))
                position += 1
            index = self._skip(index)
            if self._text[index] == ",":
                index = self._skip(index + 1)
        return index + 1
