"""An emergency query's justification (case number and text) is personal data: it is stored
only sealed, and never appears in a log line, an audit entry, an export, a problem body or any
other column, in any form it could take."""

from __future__ import annotations

import pytest

from gateway.audit.query import EntryFilter
from gateway.audit.reports import export_lines
from gateway.db.metadata import metadata
from tests.emergency.world import JUSTIFICATION, Emergency
from tests.leaks import leaks, raw_rows

CASE_NUMBER = "JA-8A-2026-4711"
TEXT = "Kita meldet Hämatome am Oberarm; Mutter unter der bekannten Anschrift nicht erreichbar."
SECRETS = [CASE_NUMBER, TEXT, "Hämatome am Oberarm", "Oberarm", "Anschrift"]


def test_the_justification_is_nowhere_in_clear(
    emergency: Emergency, caplog: pytest.LogCaptureFixture
):
    caplog.set_level("DEBUG")
    emergency.grant()
    emergency.known_from_a_consent()
    justification = {**JUSTIFICATION, "case_number": CASE_NUMBER, "text": TEXT}
    permitted = emergency.ask(justification)
    refused = emergency.ask({**justification, "reason": "not_a_listed_reason"})
    assert (permitted.status_code, refused.status_code) == (200, 403)
    malformed = emergency.ask({**justification, "text": TEXT + "\x07"})
    assert malformed.status_code == 422

    runtime = emergency.world.gateway.runtime
    runtime.audit.publish(runtime.database)
    found = []
    for table in metadata.sorted_tables:
        found += leaks(raw_rows(runtime, table.name), SECRETS, table.name)
    export = "\n".join(export_lines(runtime.database, "jsonl", EntryFilter()))
    found += leaks([{"export": export}], SECRETS, "export")
    found += leaks([{"csv": "\n".join(export_lines(runtime.database, "csv", EntryFilter()))}],
                   SECRETS, "export")  # fmt: skip
    bodies = {"answer": permitted.text, "refusal": refused.text, "malformed": malformed.text}
    found += leaks([bodies], SECRETS, "response")

    assert found == []
    assert '"emergency":true' in export.replace(" ", "")  # the export was searched, with them
    assert all(secret not in caplog.text for secret in SECRETS)
    assert caplog.records  # the requests were logged, and searched
