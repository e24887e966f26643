"""Validation errors as ``{path, message}`` items that never repeat the offending value.

The documents validated are personal data (a residence title, a benefit, a caseworker's phone
number), and the errors travel to other agencies and into logs. So the validator's own messages,
which quote the value, are never used: each message is built from the failed keyword and what
the schema says, and the path is a JSON pointer (RFC 6901) into the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Beyond this many, a document is broken enough; the problem body stays bounded.
MAX_ERRORS = 50

_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}
_FORMATS = {
    "date": "must be a date (YYYY-MM-DD)",
    "date-time": "must be a date and time with offset (RFC 3339, e.g. 2025-03-12T10:00:00+01:00)",
    "email": "must be an e-mail address",
}
_ALIASES = {"constant": "const", "oneOfNotValid": "oneOf", "oneOfMultipleValid": "oneOf"}
# Property names the document brought along are echoed in paths only when they look like
# field names; anything else (a name, a number) might itself be personal data.
_FIELD_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def describe(errors: Iterable[Any], schema: Mapping[str, Any]) -> list[dict[str, str]]:
    """``{path, message}`` items for jsonschema-rs errors raised against ``schema``."""
    items: list[tuple[tuple[str | int, ...], str, str]] = []
    for error in errors:
        keyword = _keyword(error)
        where = list(error.instance_path)
        for found, message in _explain(keyword, error.kind, where, schema, error.schema_path):
            items.append((tuple(found), keyword, message))
        if len(items) >= MAX_ERRORS:
            break
    # A value of the wrong type fails its other keywords too; the type is the one to report.
    mistyped = {parts for parts, keyword, _ in items if keyword == "type"}
    seen: set[tuple[str, str]] = set()
    result = []
    # Sorted by path (indexes numerically), whatever order the validator visited them in.
    items.sort(
        key=lambda item: [
            (0, part, "") if isinstance(part, int) else (1, 0, part) for part in item[0]
        ]
    )
    for parts, keyword, message in items:
        if parts in mistyped and keyword != "type":
            continue
        safe = _up_to_unsafe_name(parts)
        if len(safe) < len(parts):
            message = f"has a property that {message}"
        path = pointer(safe)
        if (path, message) not in seen:
            seen.add((path, message))
            result.append({"path": path, "message": message})
    return result[:MAX_ERRORS]


def pointer(parts: Sequence[str | int]) -> str:
    """A JSON pointer (RFC 6901): ``""`` for the whole document, ``/0/level`` below it."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _up_to_unsafe_name(parts: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The path cut before the first property name that does not look like a field name."""
    for index, part in enumerate(parts):
        if isinstance(part, str) and not _FIELD_NAME.match(part):
            return parts[:index]
    return parts


def _keyword(error: Any) -> str:
    """The failed keyword: the kind's name, or (older jsonschema-rs) derived from its class."""
    name = getattr(error.kind, "name", None)
    if not isinstance(name, str):
        variant = type(error.kind).__name__.removeprefix("ValidationErrorKind_")
        name = variant[:1].lower() + variant[1:]
    return _ALIASES.get(name, name)


def _explain(
    keyword: str,
    kind: Any,
    path: list[str | int],
    schema: Mapping[str, Any],
    schema_path: Sequence[str | int],
) -> list[tuple[list[str | int], str]]:
    if keyword == "required":
        return [([*path, kind.property], "is required")]
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        return [([*path, name], "is not allowed here") for name in kind.unexpected]
    return [(path, _message(keyword, kind, _node(schema, schema_path[:-1])))]


_LIMITS = {
    "minLength": ("must not be empty", "must have at least {} characters"),
    "maxLength": (None, "must have at most {} characters"),
    "minItems": ("must not be empty", "must have at least {} items"),
    "maxItems": (None, "must have at most {} items"),
    "minProperties": ("must not be empty", "must have at least {} fields"),
    "maxProperties": (None, "must have at most {} fields"),
    "minimum": (None, "must be at least {}"),
    "maximum": (None, "must be at most {}"),
    "exclusiveMinimum": (None, "must be greater than {}"),
    "exclusiveMaximum": (None, "must be less than {}"),
}
_FIXED = {
    "const": "must be the one value this field allows",
    "uniqueItems": "must not contain duplicates",
    "multipleOf": "must be a multiple of the step the schema sets",
    "anyOf": "does not match any of the allowed forms",
    "oneOf": "must match exactly one of the allowed forms",
    "falseSchema": "is not allowed here",
    "not": "has a form that is not allowed here",
}


def _message(keyword: str, kind: Any, node: Mapping[str, Any]) -> str:
    if keyword == "type":
        names = sorted(map(str, kind.types), key=lambda name: (name == "null", name))
        return "must be " + " or ".join(_TYPES.get(name, name) for name in names)
    if keyword == "enum":
        # The allowed values come from the schema, never from the document.
        allowed = ", ".join("null" if option is None else str(option) for option in kind.options)
        return f"must be one of the allowed values: {allowed}"
    if keyword == "format":
        return _FORMATS.get(kind.format, f"must be a valid {kind.format}")
    if keyword == "pattern":
        # Dates and e-mail addresses carry a pattern too, for validators that skip formats.
        return _FORMATS.get(str(node.get("format")), "does not have the expected form")
    if keyword in _LIMITS:
        at_one, template = _LIMITS[keyword]
        limit = kind.limit
        return at_one if at_one and limit == 1 else template.format(limit)
    return _FIXED.get(keyword, f"is not valid here ({keyword})")


def _node(schema: Mapping[str, Any], path: Sequence[str | int]) -> Mapping[str, Any]:
    """The schema object at ``path`` (the failed keyword's parent), or {} when not found."""
    node: Any = schema
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return {}
    return node if isinstance(node, Mapping) else {}
