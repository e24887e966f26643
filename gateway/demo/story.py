"""The demo story, runnable against ``gateway serve --demo`` (``python -m gateway.demo.story``).

The job centre records a consent the father signed, asks the foreigners' office for his residence
status (and gets only the fields the policy releases to it), and invites the youth welfare office
to a case conference; the youth welfare office's system files the invitation under its own
reference and acknowledges it. The consent is withdrawn, and the same question and a second
invitation are refused; the offices that received data are told. Then verify the audit log:
``gateway audit verify``.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.client import AgencyKey, ExchangeDenied, GatewayClient, TokenSource
from gateway.demo.address import demo_settings
from gateway.demo.agencies import key_path
from gateway.demo.cases import CASES, REFERENCES
from gateway.simulator.inbox import receive

ABH, JC, JA = "koeln-auslaenderbehoerde", "koeln-jobcenter", "koeln-jugendamt"
QUESTION = (ABH, REFERENCES[JC], ["residence_status"], "labour_market_integration")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gateway",
        help="the gateway's base URL (default: GATEWAY_ISSUER, else the demo gateway started "
        "in this folder)",
    )
    options = parser.parse_args()
    settings = demo_settings(options.gateway)
    tell(settings.issuer, settings.token_endpoint, settings.demo_dir)


def tell(
    gateway_url: str, token_endpoint: str, demo_dir: Path, say: Callable[[str], None] = print
) -> None:
    """Walk through the story against the gateway at ``gateway_url``, as the job centre and the
    youth welfare office (their demo keys are in ``demo_dir``), saying each step."""

    def client(agency_id: str, caseworker: str, scope: str | None = None) -> GatewayClient:
        key = AgencyKey.from_jwk_file(agency_id, key_path(demo_dir, agency_id))
        tokens = TokenSource(token_endpoint, key, scope=scope)
        return GatewayClient(gateway_url, tokens, caseworker=caseworker)

    # The youth welfare office's system: the reference simulator with its sample case files.
    youth_welfare_cases = copy.deepcopy(CASES[JA])
    with client(JC, "demo-cw-1") as jobcenter, client(JA, "demo-cw-7") as youth_welfare:
        now = datetime.now(UTC)
        consent = jobcenter.record_consent(_consent(now))
        say(f"1. consent recorded: {consent['consent_id']}")
        say(f"   portal code for the person: {consent['portal_code']}")

        answer = jobcenter.query(*QUESTION)
        say(f"2. residence status released to the job centre: {answer['data']}")

        conference = _conference(now)
        message_id = jobcenter.send_message(
            JA, REFERENCES[JC], "case_conference", "case_management", conference
        )
        say(
            f"3. the job centre invites the youth welfare office to a case conference: {message_id}"
        )

        receive(youth_welfare, youth_welfare_cases)
        invitation = next(
            entry["payload"]
            for entry in youth_welfare_cases[REFERENCES[JA]]["messages"]
            if entry["message_id"] == message_id
        )
        say(
            f"4. the youth welfare office's system filed it under its own reference "
            f"{REFERENCES[JA]} and acknowledged it: {invitation['topic']!r}, "
            f"{invitation['starts_at']}, {invitation['location']}"
        )

        jobcenter.withdraw(consent["consent_id"], "in_person")
        say("5. consent withdrawn in person")
        reason = _refusal(lambda: jobcenter.query(*QUESTION))
        say(f"6. the same question now: refused ({reason})")
        reason = _refusal(
            lambda: jobcenter.send_message(
                JA, REFERENCES[JC], "case_conference", "case_management", conference
            )
        )
        say(f"7. a second invitation now: refused ({reason})")

        told = [
            f"the job centre ({_count(notice['exchanges'], 'exchange')})"
            for notice in jobcenter.notices()
            if notice["consent_id"] == consent["consent_id"]
        ] + [
            f"the youth welfare office ({_count(notice['messages'], 'message')})"
            for notice in youth_welfare.notices()
            if notice["consent_id"] == consent["consent_id"]
        ]
        say(f"8. withdrawal notices to {' and '.join(told)}, to delete what they received")

    with client(JA, "demo-cw-7", scope="exchange:emergency") as emergency:
        try:
            answer = emergency.emergency_query(
                ABH, REFERENCES[JA], ["residence_status"], "child_and_youth_welfare",
                reason="acute_child_endangerment", case_number="JA-8A-2026-0001",
                text="The school reports the child has not been seen for a week; no one answers.",
            )  # fmt: skip
        except ExchangeDenied as denied:  # the story run more often than the daily limit
            say(f"9. an emergency query by the youth welfare office: refused ({denied.reason})")
        else:
            window = answer["emergency_window"]
            say(
                f"9. the youth welfare office fears for the child and asks in an emergency, "
                f"without consent ({answer['legal_basis']}): {answer['data']}; its emergency "
                f"access lasts until {window['closes_at']}, and a DPO reviews it by "
                f"{window['review_due_at']} (/dpo/emergency)"
            )
    say("10. check the audit log: gateway audit verify")


def _consent(now: datetime) -> dict[str, Any]:
    return {
        "subject": {
            "references": {agency: REFERENCES[agency] for agency in (JC, ABH, JA)},
            "age_band": "adult",
        },
        "given_by": [{"role": "data_subject"}],
        "grants": [
            {
                "from": ABH,
                "to": JC,
                "categories": ["residence_status"],
                "purposes": ["labour_market_integration"],
            },
            {
                "from": JC,
                "to": JA,
                "categories": ["case_conference"],
                "purposes": ["case_management"],
            },
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


def _conference(now: datetime) -> dict[str, Any]:
    day = (now + timedelta(days=14)).date()
    return {
        "starts_at": f"{day.isoformat()}T09:00:00Z",
        "location": "Jobcenter Köln, Raum 2.14",
        "topic": "Sprachkurs und Hilfeplan",
        "participants": [JC, JA],
    }


def _refusal(call: Callable[[], object]) -> str:
    try:
        call()
    except ExchangeDenied as denied:
        return str(denied.reason)
    raise RuntimeError("the gateway let data through after the withdrawal")


def _count(ids: list[str], noun: str) -> str:
    return f"{len(ids)} {noun}{'' if len(ids) == 1 else 's'}"


if __name__ == "__main__":
    main()
