"""Searching stored rows for a secret in any form it could take: the tests that promise a
text is stored only sealed, and never in the audit log, use it."""

from __future__ import annotations

import base64
import json
import unicodedata
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from sqlalchemy import text

from gateway.runtime import Runtime


def encodings(value: str) -> set[bytes]:
    """The forms a text could take in a column: encoded, escaped or normalised, and each of
    those as hex or base64."""
    texts = {
        value.encode(),
        unicodedata.normalize("NFD", value).encode(),
        value.encode("utf-16-le"),
        value.encode("utf-16-be"),
        value.encode("cp1252", errors="replace"),
        json.dumps(value)[1:-1].encode(),  # JSON with \u escapes
        quote(value).encode(),
    }
    forms = set(texts)
    for form in texts:
        forms.add(form.hex().encode())
        for offset in range(3):  # base64 of a longer text holds this at one of 3 alignments
            whole = form[offset:][: (len(form) - offset) // 3 * 3]
            forms |= {base64.b64encode(whole), base64.urlsafe_b64encode(whole)}
    return {form for form in forms if len(form) >= 6}


def as_bytes(cell: Any) -> bytes:
    if cell is None:
        return b""
    if isinstance(cell, bytes | bytearray | memoryview):
        return bytes(cell)
    if isinstance(cell, str):
        return cell.encode()
    return json.dumps(cell, default=str).encode()


def leaks(rows: Iterable[dict[str, Any]], secrets: list[str], where: str) -> list[str]:
    """Where (table.column) any of the secrets shows in any of its forms, case ignored."""
    needles = {(secret, form.lower()) for secret in secrets for form in encodings(secret)}
    found = []
    for row in rows:
        for column, cell in row.items():
            haystack = as_bytes(cell).lower()
            found += [
                f"{where}.{column}: {secret!r}" for secret, form in needles if form in haystack
            ]
    return found


def raw_rows(runtime: Runtime, table: str, **where: Any) -> list[dict[str, Any]]:
    """Every column of the table's rows, read with plain SQL (no ORM types in between)."""
    condition = " AND ".join(f"{column} = :{column}" for column in where) or "1 = 1"
    with runtime.database.engine.connect() as connection:
        result = connection.execute(text(f'SELECT * FROM "{table}" WHERE {condition}'), where)
        return [dict(row._mapping) for row in result]
