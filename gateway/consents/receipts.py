"""Consent receipts and portal codes.

A receipt is a compact JWS (EdDSA, with the signing key's ``kid``) over the RFC 8785 canonical
form of the consent version, without names or file references; anyone can check it with the
gateway's JWKS. A portal code is a random code given to the person once, kept only as a hash.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

import rfc8785
from joserfc import jws

from gateway.auth import jose as _jose  # noqa: F401  (accepting "EdDSA" deliberately)
from gateway.consents.tables import ConsentVersion
from gateway.keys.store import KeyStore

RECEIPT_ALGORITHM = "EdDSA"
RECEIPT_TYPE = "consent-receipt+json"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: easy to read out and type


def receipt_payload(version: ConsentVersion, issued_at: datetime) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "consent-receipt",
        "v": 1,
        "consent_id": version.consent_id,
        "version": version.version,
        "status": version.status,
        "issued_at": _time(issued_at),
        "recorded_at": _time(version.recorded_at),
        "recorded_by": version.recorded_by,
        "valid_from": _time(version.valid_from),
        "valid_until": _time(version.valid_until),
        "given_by": sorted(version.given_by),
        "grants": version.grants,
        "notice": version.notice,
        "evidence": version.evidence,
    }
    if version.subject_age_band is not None:
        # Why these persons gave it: a person under 15 does not consent alone.
        payload["subject_age_band"] = version.subject_age_band
    if version.ended_at is not None:
        payload["ended_at"] = _time(version.ended_at)
        payload["withdrawal_channel"] = version.withdrawal_channel
    if version.version > 1:
        payload["supersedes"] = version.version - 1
    return payload


def sign_receipt(keys: KeyStore, version: ConsentVersion, issued_at: datetime) -> str:
    key = keys.active()
    header = {"alg": RECEIPT_ALGORITHM, "kid": key.kid, "typ": RECEIPT_TYPE}
    payload = rfc8785.dumps(receipt_payload(version, issued_at))
    return jws.serialize_compact(header, payload, key, algorithms=[RECEIPT_ALGORITHM])


def new_portal_code() -> tuple[str, str]:
    """A fresh code as the person sees it (four groups of five characters, 100 bits) and the
    hash that is stored."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(20))
    code = "-".join(raw[start : start + 5] for start in range(0, 20, 5))
    return code, portal_code_hash(code)


def portal_code_hash(code: str) -> str:
    """The stored form of a portal code. A plain hash is enough: the code is 100 random bits."""
    normalised = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(normalised.encode()).hexdigest()


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
