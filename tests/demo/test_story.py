"""The demo story the README walks through, end to end against a gateway in demo mode: the job
centre records a consent, asks the foreigners' office (a simulated system inside the gateway),
gets only the released fields; the consent is withdrawn; the same query is denied; the audit
log verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.audit import query as audit_query
from gateway.audit.repository import checkpoints
from gateway.audit.verify import verify
from gateway.client import AgencyKey, ExchangeDenied, GatewayClient, TokenSource
from gateway.demo.agencies import key_path, set_up
from gateway.demo.cases import REFERENCES
from tests.support import start_live_server

ABH, JC = "koeln-auslaenderbehoerde", "koeln-jobcenter"


def test_the_demo_story(database_url: str, tmp_path: Path):
    with start_live_server(database_url, tmp_path, demo=True) as gateway:
        runtime = gateway.runtime
        set_up(runtime.database, runtime.audit, runtime.settings.demo_dir, runtime.settings.issuer)
        key = AgencyKey.from_jwk_file(JC, key_path(runtime.settings.demo_dir, JC))
        with GatewayClient(gateway.url, TokenSource(gateway.token_endpoint, key)) as jobcenter:
            now = datetime.now(UTC)
            recorded = jobcenter.record_consent(
                {
                    "subject": {"references": {JC: REFERENCES[JC], ABH: REFERENCES[ABH]}},
                    "given_by": [{"role": "data_subject"}],
                    "grants": [
                        {"from": ABH, "to": JC, "categories": ["residence_status"],
                         "purposes": ["labour_market_integration"]}
                    ],
                    "valid_from": now.isoformat(),
                    "valid_until": (now + timedelta(days=180)).isoformat(),
                    "notice": {"form_id": "cross-agency-case-management", "form_version": "1",
                               "language": "ar", "interpreter_language": "ar"},
                    "evidence": {"channel": "paper_signed"},
                }
            )  # fmt: skip
            answer = jobcenter.query(
                ABH, REFERENCES[JC], ["residence_status"], "labour_market_integration"
            )
            assert answer["data"]["residence_status"] == {
                "title": "residence_permit",
                "valid_until": "2028-02-29",
                "employment_permitted": "yes",
                "residence_obligation": None,
            }
            jobcenter.withdraw(recorded["consent_id"], "in_person")
            with pytest.raises(ExchangeDenied) as denied:
                jobcenter.query(
                    ABH, REFERENCES[JC], ["residence_status"], "labour_market_integration"
                )
            assert denied.value.reason == "consent_withdrawn"

        runtime.audit.publish(runtime.database)
        with runtime.database.transaction(read_only=True) as session:
            report = verify(
                audit_query.leaves_in_order(session),
                [checkpoint.note for checkpoint in checkpoints(session)],
                runtime.audit.verifier,
            )
        assert report.intact, report.problems
        assert report.size >= 7  # clients added, consent, permit, withdrawal, deny, ...
