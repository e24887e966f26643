"""The demo story, runnable against ``gateway serve --demo`` (``python -m gateway.demo.story``).

The job centre records a consent the father signed, asks the foreigners' office for his residence
status (and gets only the fields the policy releases to it), the consent is withdrawn, and the
same question is refused. Then verify the audit log: ``gateway audit verify``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from gateway.client import AgencyKey, ExchangeDenied, GatewayClient, TokenSource
from gateway.demo.agencies import key_path
from gateway.demo.cases import REFERENCES
from gateway.settings import Settings

ABH, JC = "koeln-auslaenderbehoerde", "koeln-jobcenter"
QUESTION = (ABH, REFERENCES[JC], ["residence_status"], "labour_market_integration")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", help="the gateway's base URL (default: GATEWAY_ISSUER)")
    options = parser.parse_args()
    settings = Settings(**({"issuer": options.gateway} if options.gateway else {}))
    key = AgencyKey.from_jwk_file(JC, key_path(settings.demo_dir, JC))
    tokens = TokenSource(settings.token_endpoint, key)
    with GatewayClient(settings.issuer, tokens, caseworker="demo-cw-1") as jobcenter:
        now = datetime.now(UTC)
        consent = jobcenter.record_consent(
            {
                "subject": {"references": {JC: REFERENCES[JC], ABH: REFERENCES[ABH]}},
                "given_by": [{"role": "data_subject"}],
                "grants": [
                    {
                        "from": ABH,
                        "to": JC,
                        "categories": ["residence_status"],
                        "purposes": ["labour_market_integration"],
                    }
                ],
                "valid_from": now.isoformat(),
                "valid_until": (now + timedelta(days=180)).isoformat(),
                "notice": {
                    "form_id": "cross-agency-case-management",
                    "form_version": "1",
                    "language": "ar",
                    "interpreter_language": "ar",
                },
                "evidence": {"channel": "paper_signed"},
            }
        )
        print(f"1. consent recorded: {consent['consent_id']}")
        print(f"   portal code for the person: {consent['portal_code']}")
        answer = jobcenter.query(*QUESTION)
        print(f"2. residence status released to the job centre: {answer['data']}")
        jobcenter.withdraw(consent["consent_id"], "in_person")
        print("3. consent withdrawn in person")
        try:
            jobcenter.query(*QUESTION)
        except ExchangeDenied as denied:
            print(f"4. the same question now: refused ({denied.reason})")
        print("5. check the audit log: gateway audit verify")


if __name__ == "__main__":
    main()
