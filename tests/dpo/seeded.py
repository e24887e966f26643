"""What the DPO page tests start from: a DPO user, three agencies of Köln, two persons, and
decisions on known days (relative to today, so the overview's default period holds them)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from consent.vocabulary import AgencyKind
from gateway.agencies.tables import Client
from gateway.audit.events import AuditEvent, Decision, EventType
from gateway.audit.query import EntryFilter, search
from gateway.consents.notices_tables import WithdrawalNotice
from gateway.dpo import totp, users
from gateway.runtime import Runtime
from tests.audit.dpo_api.seeded import ABH, JOBCENTER, REFERENCES, SOZIALAMT, add_subject, decision
from tests.support import Clients

USER, NAME, PASSWORD = "anna.schmidt", "Anna Schmidt", "korrekt Pferd Batterie"
TOTP_USER, TOTP_NAME = "jonas.weber", "Jonas Weber"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PERMIT, DENY = Decision.PERMIT, Decision.DENY


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


def add_user(runtime: Runtime, user_id: str = USER, name: str = NAME, *, with_totp: bool = False):
    with runtime.database.transaction() as session:
        return users.add_user(
            session,
            runtime.audit,
            user_id=user_id,
            name=name,
            password=PASSWORD,
            with_totp=with_totp,
            sealing=runtime.sealing,
            now=datetime.now(UTC),
        )


def totp_secret(uri: str) -> str:
    found = re.search(r"secret=([A-Z2-7]+)", uri)
    assert found
    return found.group(1)


def current_code(uri: str) -> str:
    return totp.code_at(totp_secret(uri), datetime.now(UTC))


def day(offset: int) -> datetime:
    """Noon (UTC) ``offset`` days before today."""
    today = datetime.now(UTC).date()
    return datetime.combine(today - timedelta(days=offset), time(12), UTC)


def ago(days: int) -> datetime:
    """A little over ``days`` whole days before now, whatever the time of day (a notice's age
    is counted in whole days since it was made)."""
    return datetime.now(UTC) - timedelta(days=days, hours=1)


@dataclass(frozen=True)
class Seeded:
    subjects: dict[str, str]
    # What the overview must count over the last 30 days.
    per_day: dict[str, tuple[int, int]]  # day -> (permitted, denied)
    by_reason: dict[str, int]
    by_flow: dict[tuple[str, str, str], int]  # (provider, recipient, category) -> count


def seed(runtime: Runtime, clients: Clients) -> Seeded:
    """Decisions three, two and one day ago (and one 40 days ago, outside 30 days), a
    recorded consent (no decision), and two withdrawal notices, one answered."""
    clients.agency(JOBCENTER, AgencyKind.JOB_CENTRE)
    clients.agency(ABH, AgencyKind.FOREIGNERS_OFFICE)
    clients.agency(SOZIALAMT, AgencyKind.SOCIAL_OFFICE)
    amina = add_subject(runtime, REFERENCES["amina"])
    oleksandr = add_subject(runtime, REFERENCES["oleksandr"])
    residence = ("residence_status",)
    events: list[tuple[AuditEvent, datetime]] = [
        (decision("a1", JOBCENTER, ABH, residence, "case_management", PERMIT,
                  subject_id=amina, consent_id="c-amina"), day(3)),
        (decision("a2", JOBCENTER, ABH, residence, "labour_market_integration", PERMIT,
                  subject_id=amina, consent_id="c-amina"), day(3) + timedelta(hours=1)),
        (decision("a3", SOZIALAMT, JOBCENTER, ("benefit_status",), "benefit_entitlement", DENY,
                  reason="no_consent", subject_id=oleksandr), day(3) + timedelta(hours=2)),
        (decision("b1", JOBCENTER, SOZIALAMT, ("benefit_status",), "benefit_entitlement",
                  PERMIT, subject_id=oleksandr, consent_id="c-oleks"), day(2)),
        (decision("b2", ABH, JOBCENTER, ("youth_welfare_support",), "case_management", DENY,
                  reason="no_policy"), day(2) + timedelta(hours=1)),
        (decision("b3", SOZIALAMT, JOBCENTER, ("case_contact",), "case_management", DENY,
                  reason="no_consent", subject_id=amina), day(2) + timedelta(hours=2)),
        (decision("c1", JOBCENTER, ABH, residence, "case_management", PERMIT,
                  subject_id=amina, consent_id="c-amina"), day(1)),
        (decision("c2", JOBCENTER, ABH, residence, "residence_procedure", DENY,
                  reason="purpose_not_covered", subject_id=amina), day(1) + timedelta(hours=1)),
        (decision("old", JOBCENTER, ABH, residence, "case_management", DENY,
                  reason="consent_expired", subject_id=oleksandr), day(40)),
        (AuditEvent(EventType.CONSENT_RECORDED, actor=JOBCENTER, subject_id=amina,
                    consent_id="c-amina", consent_version=1), day(3) - timedelta(hours=1)),
    ]  # fmt: skip
    with runtime.database.transaction() as session:
        for event, moment in sorted(events, key=lambda pair: pair[1]):
            runtime.audit.record(session, event, now=moment)
        session.add_all(
            [
                _notice(JOBCENTER, "c-amina", ago(5), exchanges=2, messages=1),
                _notice(SOZIALAMT, "c-oleks", ago(1), exchanges=1, messages=0),
                _notice(ABH, "c-amina", ago(4), exchanges=1, messages=0, answered=ago(2)),
            ]
        )
    runtime.audit.publish(runtime.database)
    key = lambda offset: day(offset).date().isoformat()  # noqa: E731
    return Seeded(
        subjects={"amina": amina, "oleksandr": oleksandr},
        per_day={key(3): (2, 1), key(2): (1, 2), key(1): (1, 1)},
        by_reason={"no_consent": 2, "no_policy": 1, "purpose_not_covered": 1},
        by_flow={
            (ABH, JOBCENTER, "residence_status"): 3,
            (SOZIALAMT, JOBCENTER, "benefit_status"): 1,
        },
    )


def _notice(
    recipient: str,
    consent_id: str,
    created: datetime,
    *,
    exchanges: int,
    messages: int,
    answered: datetime | None = None,
) -> WithdrawalNotice:
    fields: dict[str, Any] = {}
    if answered is not None:
        fields = {"acknowledged_at": answered, "outcome": "deleted"}
    return WithdrawalNotice(
        id=str(uuid.uuid4()),
        recipient=recipient,
        consent_id=consent_id,
        consent_version=1,
        created_at=created,
        exchanges=[str(uuid.uuid4()) for _ in range(exchanges)],
        messages=[str(uuid.uuid4()) for _ in range(messages)],
        **fields,
    )


def recorded(runtime: Runtime, event: EventType) -> list[dict[str, Any]]:
    """The bodies of the audit entries of one type, oldest first."""
    with runtime.database.transaction(read_only=True) as session:
        views = search(session, EntryFilter(event=event.value), after_id=None, limit=1000)
    return [view.body for view in views if view.body is not None]


NAMES = {JOBCENTER: "Jobcenter Köln", ABH: "Ausländerbehörde Köln", SOZIALAMT: "Sozialamt Köln"}


def name_agencies(runtime: Runtime) -> dict[str, str]:
    """Give the seeded agencies the display names a city would register (the seed's are made
    of their ids); returns them by id."""
    with runtime.database.transaction() as session:
        for agency_id, name in NAMES.items():
            client = session.get(Client, agency_id)
            assert client is not None
            client.name = name
    return NAMES
