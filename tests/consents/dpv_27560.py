"""What the DPV guide to ISO/IEC TS 27560 consent records documents, written down for the tests:
a JSON Schema of the profile ``dpv-27560:record`` and the JSON-LD expansion of a record without
the network.

The guide: "Consent Records and Receipts as per ISO/IEC TS 27560:2023 using DPV",
https://w3id.org/dpv/guides/consent-27560 (section 8: the fields, their cardinality and whether
each MUST be present; section 8.5.2: the consent states). The schema holds every field the
guide says MUST be present, except those the gateway has no data for (``GAPS``, each with its
reason): the tests check that those are absent rather than made up.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema_rs
from pyld import jsonld

PROFILE = "https://w3id.org/dpv/schema/dpv-27560#record"
DPV = "https://w3id.org/dpv#"

# §8.5.2: DPV's consent states, valid and not valid for processing.
CONSENT_STATES = [
    "dpv:ConsentGiven", "dpv:RenewedConsentGiven", "dpv:ConsentUnknown",
    "dpv:ConsentRequested", "dpv:ConsentRequestDeferred", "dpv:ConsentRefused",
    "dpv:ConsentWithdrawn", "dpv:ConsentExpired", "dpv:ConsentRevoked",
    "dpv:ConsentInvalidated",
]  # fmt: skip
# §8.5.1: consent types (a legal basis), DPV's and GDPR's.
CONSENT_TYPES = [
    "dpv:Consent", "dpv:InformedConsent", "dpv:ExpressedConsent",
    "dpv:ExplicitlyExpressedConsent", "dpv:ImpliedConsent", "eu-gdpr:A6-1-a", "eu-gdpr:A9-2-a",
]  # fmt: skip

# Fields the guide says MUST be present that the gateway leaves out, and why.
GAPS = {
    "dpv:hasStorageCondition": "how long a recipient keeps what it received is its own law's "
    "matter; the gateway does not know it",
    "schema:contactPoint": "the registry holds no agency's contact point or postal address",
}

# §8.5.3: ISO 8601 in UTC.
_UTC_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"
_IRI = {"type": "string", "pattern": r"^(https?://|[a-z][a-z0-9-]*:)\S+$"}


def _one_or_more(item: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [item, {"type": "array", "minItems": 1, "items": item}]}


def _types(*accepted: str) -> dict[str, Any]:
    """An ``@type`` (one or a list) that includes one of ``accepted``."""
    one = {"enum": list(accepted)}
    return {"anyOf": [one, {"type": "array", "contains": one}]}


_NODE_OR_IRI = {"anyOf": [_IRI, {"type": "object"}]}
_STATUS = {
    "type": "object",
    "required": ["@type", "dpv:isIndicatedAtTime"],  # §8.5.2, §8.5.3
    "properties": {
        "@type": _types(*CONSENT_STATES),
        "dpv:isIndicatedAtTime": {"type": "string", "pattern": _UTC_TIME},
        "dpv:isIndicatedBy": _one_or_more(_NODE_OR_IRI),  # §8.5.5
        "dpv:hasDuration": _one_or_more(_NODE_OR_IRI),  # §8.5.4
    },
    # Who expressed an event (§8.5.5) is known of giving and withdrawing; an expiry is the
    # passing of a time, expressed by nobody. A given consent's duration is its validity.
    "allOf": [
        {
            "if": {"properties": {"@type": _types("dpv:ConsentWithdrawn")}},
            "then": {"required": ["dpv:isIndicatedBy"]},
        },
        {
            "if": {"properties": {"@type": _types("dpv:ConsentGiven")}},
            "then": {"required": ["dpv:isIndicatedBy", "dpv:hasDuration"]},
        },
    ],
}
_PROCESS = {
    "type": "object",
    # §8.3.1 to §8.3.7 (the data's type through the category's own term, §8.3.3.1)
    "required": [
        "@type",
        "dpv:hasPurpose",
        "dpv:hasPersonalData",
        "dpv:hasDataController",
        "dpv:hasRecipient",
    ],
    "properties": {
        "@type": _types("dpv:Process"),
        "dpv:hasPurpose": _one_or_more(_NODE_OR_IRI),
        "dpv:hasPersonalData": _one_or_more(_NODE_OR_IRI),
        "dpv:hasDataController": _one_or_more(_NODE_OR_IRI),
        "dpv:hasRecipient": _one_or_more(_NODE_OR_IRI),
        "dpv:hasConsentStatus": _one_or_more(_STATUS),
    },
}
_ENTITY = {
    "type": "object",
    "required": ["dpv:hasName", "dpv:hasIdentifier"],  # §8.4.1, §8.4.2
    "properties": {"dpv:hasName": {"type": "string", "minLength": 1}},
}
RECORD_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "@context",
        "@type",
        "dct:conformsTo",
        "dct:identifier",  # §8.1
        "dpv:hasDataSubject",  # §8.1.3
        "dpv:hasNotice",  # §8.2
        "dpv:hasProcess",  # §8.3
        "dpv:hasLegalBasis",  # §8.5.1
        "dpv:hasJurisdiction",
        "dpv:hasRight",
        "dpv:hasConsentControl",  # §8.3.8 to 8.3.10
        "dpv:hasConsentStatus",  # §8.5.2
    ],
    "properties": {
        "@type": _types("dpv:ConsentRecord"),
        "dct:conformsTo": {"const": PROFILE},
        "dct:identifier": {"type": "string", "minLength": 1},
        "dpv:hasDataSubject": {
            "anyOf": [_IRI, {"type": "object", "properties": {"@type": _types("dpv:DataSubject")}}]
        },
        "dpv:hasNotice": _one_or_more(
            {
                "type": "object",
                "required": ["@type", "dct:language"],  # §8.2.1, §8.2.2
                "properties": {"@type": _types("dpv:ConsentNotice")},
            }
        ),
        "dpv:hasProcess": _one_or_more(_PROCESS),
        "dpv:hasLegalBasis": {
            "anyOf": [
                {"enum": CONSENT_TYPES},
                {"type": "array", "contains": {"enum": CONSENT_TYPES}},
            ]
        },
        "dpv:hasJurisdiction": _one_or_more(_NODE_OR_IRI),
        "dpv:hasRight": _one_or_more(
            {
                "type": "object",
                "required": ["@type", "dpv:isExercisedAt"],
                "properties": {"@type": _types("dpv:DataSubjectRight")},
            }
        ),
        "dpv:hasConsentControl": _one_or_more(
            {
                "type": "object",
                "required": ["@type", "dpv:isExercisedAt"],  # §8.3.8: how to withdraw
                "properties": {"@type": _types("dpv:WithdrawConsent")},
            }
        ),
        "dpv:hasEntity": _one_or_more(_ENTITY),
        "dpv:hasConsentStatus": _one_or_more(_STATUS),
    },
}


@cache
def record_validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(RECORD_SCHEMA)


def refuse_to_fetch(url: str, options: dict[str, Any] | None = None) -> Any:
    raise AssertionError(f"the record made the expansion fetch {url}")


def expanded(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The record expanded (JSON-LD 1.1), with a document loader that fetches nothing."""
    return list(jsonld.expand(document, {"documentLoader": refuse_to_fetch}))


def nodes(value: Any) -> list[dict[str, Any]]:
    """Every node object in an expanded document, depth first."""
    found = []
    if isinstance(value, list):
        for item in value:
            found += nodes(item)
    elif isinstance(value, dict) and "@value" not in value:
        found.append(value)
        for key, inner in value.items():
            if not key.startswith("@"):
                found += nodes(inner)
    return found


def ids(node: dict[str, Any], prop: str) -> list[str]:
    """The IRIs a node's property points to."""
    return [value["@id"] for value in node.get(prop, []) if "@id" in value]


def values(node: dict[str, Any], prop: str) -> list[Any]:
    return [value["@value"] for value in node.get(prop, []) if "@value" in value]
