"""Loading policy files: YAML, validated against the meta-schema shipped beside them.

An invalid file stops the gateway from starting, with the file, the line and the problem named.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import rfc8785
import yaml

from gateway.policy.model import ANY_KIND, Confided, Emergency, Flow, LegalBasis, PolicySet

META_SCHEMA = "policy.schema.json"
# The reference set ships inside the package (a link to the repository's policies/ folder).
REFERENCE_POLICIES = Path(__file__).with_name("reference")


@dataclass
class PolicyError(Exception):
    file: str
    line: int | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.problem}"


def load_policies(folder: Path) -> PolicySet:
    schema_path = folder / META_SCHEMA
    if not schema_path.exists():
        raise PolicyError(str(folder), None, f"the meta-schema {META_SCHEMA} is missing")
    try:
        validator = jsonschema_rs.Draft202012Validator(json.loads(schema_path.read_text()))
    except jsonschema_rs.ValidationError as invalid:
        problem = f"not a valid draft 2020-12 schema: {invalid.message}"
        raise PolicyError(META_SCHEMA, None, problem) from None
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise PolicyError(str(folder), None, "no policy files (*.yaml)")
    flows: list[Flow] = []
    documents: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for path in files:
        document, node = _read(path, validator)
        documents[path.name] = document
        for index, flow in enumerate(_flows(document)):
            key = flow.name
            line = _line_at(node, ("flows", index))
            if key in seen:
                raise PolicyError(path.name, line, f"flow {key} is also defined in {seen[key]}")
            # The emergency mark first: on a flow also marked confided, its refusal says why.
            if (unfit := _emergency_problem(flow)) is not None:
                where = _line_at(node, ("flows", index, "emergency"))
                raise PolicyError(path.name, where, f"flow {key}: {unfit}")
            if (unfit := _confided_problem(flow)) is not None:
                where = _line_at(node, ("flows", index, "confided"))
                raise PolicyError(path.name, where, f"flow {key}: {unfit}")
            # Emergency flows decide emergency queries only, ordinary flows everything else:
            # each kind is held to one flow per case among its own kind.
            for earlier in (f for f in flows if (f.emergency is None) == (flow.emergency is None)):
                if (overlap := _overlap(earlier, flow)) is not None:
                    kind = "emergency flow" if flow.emergency is not None else "flow"
                    raise PolicyError(
                        path.name,
                        line,
                        f"{kind} {key} overlaps {kind} {earlier.name} (in {seen[earlier.name]}) "
                        f"for {overlap}: one {kind} "
                        "per case, so that what is released never depends on the files' order",
                    )
            seen[key] = path.name
            flows.append(flow)
    digest = hashlib.sha256(rfc8785.dumps(documents)).hexdigest()
    return PolicySet(tuple(flows), digest, tuple(path.name for path in files))


def _overlap(first: Flow, second: Flow) -> str | None:
    """What two flows would both decide (a provider kind, a recipient kind, a category and a
    purpose), or None. ``any`` overlaps every kind; a flow across municipalities also covers
    exchanges within one, so the municipality never separates two flows."""
    kinds = []
    for mine, theirs in (
        (first.provider_kind, second.provider_kind),
        (first.recipient_kind, second.recipient_kind),
    ):
        if ANY_KIND not in (mine, theirs) and mine != theirs:
            return None
        kinds.append(theirs if mine == ANY_KIND else mine)
    categories = sorted(set(first.fields) & set(second.fields))
    purposes = sorted(first.purposes & second.purposes)
    if not (categories and purposes):
        return None
    return f"{kinds[0]} -> {kinds[1]}, {categories[0]}, {purposes[0]}"


def _read(path: Path, validator: jsonschema_rs.Draft202012Validator) -> tuple[Any, Any]:
    """The file's document, and its YAML node tree (for line numbers)."""
    text = path.read_text()
    try:
        node = yaml.compose(text)
        document = yaml.safe_load(text)
    except yaml.YAMLError as bad:
        mark = getattr(bad, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise PolicyError(
            path.name, line, f"not valid YAML: {getattr(bad, 'problem', bad)}"
        ) from None
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.instance_path))
    if errors:
        error = errors[0]
        raise PolicyError(path.name, _line_at(node, error.instance_path), _describe(error))
    return document, node


def _flows(document: dict[str, Any]) -> list[Flow]:
    flows = []
    for raw in document["flows"]:
        basis = raw["legal_basis"]
        flows.append(
            Flow(
                policy_id=document["policy_id"],
                id=raw["id"],
                provider_kind=raw["from"],
                recipient_kind=raw["to"],
                fields={category: tuple(fields) for category, fields in raw["categories"].items()},
                purposes=frozenset(raw["purposes"]),
                legal_basis=LegalBasis(None if basis == "consent" else basis["statute"]),
                retention_days=raw["retention_days"],
                cross_municipality=raw.get("cross_municipality", False),
                confided=_confided(raw),
                emergency=_emergency(raw),
            )
        )
    return flows


def _confided(raw: dict[str, Any]) -> Confided | None:
    """A flow's mark of confided data: on the categories it names, or on all of the flow's."""
    marked = raw.get("confided")
    if marked is None:
        return None
    return Confided(marked["citation"], frozenset(marked.get("categories", raw["categories"])))


def _confided_problem(flow: Flow) -> str | None:
    """What does not hold together in a flow's mark of confided data, or None."""
    if flow.confided is None:
        return None
    if not flow.legal_basis.is_consent:
        return (
            "only a flow whose legal_basis is consent can be marked confided: the mark asks "
            "for the confiding person's consent (§ 65 Abs. 1 Satz 1 Nr. 1 SGB VIII); a statute "
            "that allows passing confided data is named as the legal basis instead"
        )
    if unreleased := sorted(flow.confided.categories - set(flow.fields)):
        return f"confided names {', '.join(unreleased)}, which the flow does not release"
    return None


def _emergency(raw: dict[str, Any]) -> Emergency | None:
    marked = raw.get("emergency")
    if marked is None:
        return None
    return Emergency(frozenset(marked["reasons"]), marked["max_window_hours"])


def _emergency_problem(flow: Flow) -> str | None:
    """What does not hold together in an emergency flow, or None."""
    if flow.emergency is None:
        return None
    if flow.confided is not None:
        return (
            "an emergency flow cannot be marked confided: the mark asks for the confiding "
            "person's consent (§ 65 SGB VIII), and an emergency query rests on no consent"
        )
    if flow.legal_basis.is_consent:
        return (
            "an emergency flow cannot rest on consent: emergency access is for when asking "
            "for consent would put the child at risk; name the statute as its legal_basis "
            '(e.g. {statute: "§ 8a Abs. 1 SGB VIII, § 69 Abs. 1 Nr. 1 SGB X"})'
        )
    if flow.recipient_kind == ANY_KIND:
        return (
            "an emergency flow cannot go to any kind: name in `to` the kind of agency the "
            "statute gives the duty to act (e.g. youth_welfare_office for § 8a SGB VIII)"
        )
    return None


def _describe(error: jsonschema_rs.ValidationError) -> str:
    path = "/".join(str(part) for part in error.instance_path)
    # A property name's error (propertyNames) is the one to tell: it says what the name must be.
    inner = getattr(error.kind, "error", None)
    if isinstance(inner, jsonschema_rs.ValidationError):
        error = inner
    options = getattr(error.kind, "options", None)
    if isinstance(options, list):
        # jsonschema-rs names two allowed values and counts the rest; whoever fixes the file
        # needs them all.
        allowed = ", ".join(json.dumps(option, ensure_ascii=False) for option in options)
        value = json.dumps(error.instance, ensure_ascii=False)
        return f"{path or 'the document'}: {value} is not one of {allowed}"
    return f"{path or 'the document'}: {error.message}"


def _line_at(node: Any, path: Iterable[str | int]) -> int | None:
    """The line of the YAML node at ``path`` (1-based), or of the deepest node found on it."""
    current = node
    for part in path:
        if isinstance(current, yaml.MappingNode):
            match = next((value for key, value in current.value if key.value == part), None)
            if match is None:
                break
            current = match
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(current.value):
                break
            current = current.value[part]
        else:
            break
    return current.start_mark.line + 1 if current is not None else None
