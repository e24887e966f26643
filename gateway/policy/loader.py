"""Loading policy files: YAML, validated against the meta-schema shipped beside them.

An invalid file stops the gateway from starting, with the file, the line and the problem named.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from gateway.policy.model import Flow, LegalBasis, PolicySet

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
    validator = Draft202012Validator(json.loads(schema_path.read_text()))
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise PolicyError(str(folder), None, "no policy files (*.yaml)")
    flows: list[Flow] = []
    documents: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for path in files:
        document = _read(path, validator)
        documents[path.name] = document
        for flow in _flows(document):
            key = f"{flow.policy_id}/{flow.id}"
            if key in seen:
                raise PolicyError(path.name, None, f"flow {key} is also defined in {seen[key]}")
            seen[key] = path.name
            flows.append(flow)
    digest = hashlib.sha256(rfc8785.dumps(documents)).hexdigest()
    return PolicySet(tuple(flows), digest, tuple(path.name for path in files))


def _read(path: Path, validator: Draft202012Validator) -> Any:
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
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    if errors:
        error = errors[0]
        raise PolicyError(path.name, _line_of(node, error), _describe(error))
    return document


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
            )
        )
    return flows


def _describe(error: ValidationError) -> str:
    path = "/".join(str(part) for part in error.absolute_path)
    return f"{path or 'the document'}: {error.message}"


def _line_of(node: Any, error: ValidationError) -> int | None:
    """The line of the YAML node the schema error points at (1-based)."""
    current = node
    for part in error.absolute_path:
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
