"""The decision over the whole reference policy matrix: every flow is permitted with a covering
consent and denied without; other municipalities and unlisted flows are denied; a statute flow
needs no consent; a disabled agency stops everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from consent.vocabulary import AgencyKind
from gateway.agencies import repository as registry
from gateway.auth.dependencies import Principal
from gateway.consents import recording
from gateway.consents.models import ConsentIn
from gateway.consents.versions import Context
from gateway.policy.loader import REFERENCE_POLICIES, load_policies
from gateway.release.decision import Deny, Permit, Reason, decide_all
from gateway.runtime import Runtime
from gateway.subjects.repository import subject_of
from tests.support import Clients, confided_policies

NOW = datetime.now(UTC)
FORM = "cross-agency-case-management"
AGENCY_OF = {
    AgencyKind.FOREIGNERS_OFFICE: "koeln-auslaenderbehoerde",
    AgencyKind.JOB_CENTRE: "koeln-jobcenter",
    AgencyKind.YOUTH_WELFARE_OFFICE: "koeln-jugendamt",
    AgencyKind.SOCIAL_OFFICE: "koeln-sozialamt",
}


def kinds(kind: str) -> list[AgencyKind]:
    return list(AgencyKind) if kind == "any" else [AgencyKind(kind)]


MATRIX = [
    (provider, recipient, category, purpose)
    for flow in load_policies(REFERENCE_POLICIES).ordinary
    for provider in kinds(flow.provider_kind)
    for recipient in kinds(flow.recipient_kind)
    if provider != recipient
    for category in flow.fields
    for purpose in sorted(flow.purposes)
]


@pytest.fixture
def city(clients: Clients) -> Clients:
    for kind, agency_id in AGENCY_OF.items():
        clients.agency(agency_id, kind)
    clients.agency("bonn-jobcenter", AgencyKind.JOB_CENTRE, municipality="bonn")
    return clients


def record(
    runtime: Runtime,
    provider: str,
    recipient: str,
    category: str,
    purpose: str,
    givers: tuple[str, ...] = ("legal_guardian",),
) -> str:
    """A consent for a child, given by its guardian unless ``givers`` says otherwise, recorded
    under the runtime's policies; the person's id."""
    references = {agency: f"{agency}-1" for agency in (provider, recipient)}
    body = ConsentIn.model_validate(
        {
            "subject": {"references": references, "age_band": "minor_under_15"},
            "given_by": [{"role": role} for role in givers],
            "grants": [
                {"from": provider, "to": recipient, "categories": [category], "purposes": [purpose]}
            ],
            "valid_from": (NOW - timedelta(days=1)).isoformat(),
            "valid_until": (NOW + timedelta(days=30)).isoformat(),
            "notice": {"form_id": FORM, "form_version": "1", "language": "uk"},
            "evidence": {"channel": "paper_signed"},
        }
    )  # fmt: skip
    context = Context(
        principal=Principal(recipient, "agency", frozenset({"consent:write"})),
        audit=runtime.audit,
        keys=runtime.keys,
        policies=runtime.policies,
        max_validity_months=24,
        now=NOW,
    )
    with runtime.database.transaction() as session:
        recording.record(session, context, body)
        subject = subject_of(session, recipient, f"{recipient}-1")
    assert subject is not None
    return subject


def ask(
    runtime: Runtime,
    provider: str,
    recipient: str,
    subject: str,
    category: str,
    purpose: str,
    policies=None,
):
    with runtime.database.transaction(read_only=True) as session:
        found = registry.agencies(session, provider, recipient)
        return decide_all(
            session,
            policies or runtime.policies,
            provider=found[provider],
            recipient=found[recipient],
            subject_id=subject,
            categories=(category,),
            purpose=purpose,
            at=NOW,
        )[category]


@pytest.mark.usefixtures("city")
@pytest.mark.parametrize(("provider", "recipient", "category", "purpose"), MATRIX)
def test_every_reference_flow_needs_its_consent(
    runtime: Runtime, provider, recipient, category, purpose
):
    giver, taker = AGENCY_OF[provider], AGENCY_OF[recipient]
    subject = record(runtime, giver, taker, category, purpose)
    permitted = ask(runtime, giver, taker, subject, category, purpose)
    assert isinstance(permitted, Permit)
    assert permitted.consent is not None
    # The same person, the opposite direction (never consented): denied.
    reverse = ask(runtime, taker, giver, subject, category, purpose)
    assert isinstance(reverse, Deny)


@pytest.mark.usefixtures("city")
def test_a_flow_no_policy_lists_is_denied_as_no_policy(runtime: Runtime):
    subject = record(
        runtime,
        AGENCY_OF[AgencyKind.JOB_CENTRE],
        AGENCY_OF[AgencyKind.SOCIAL_OFFICE],
        "benefit_status",
        "benefit_entitlement",
    )
    denied = ask(
        runtime,
        "koeln-jobcenter",
        "koeln-auslaenderbehoerde",
        subject,
        "benefit_status",
        "case_management",
    )
    assert denied == Deny(Reason.NO_POLICY)


@pytest.mark.usefixtures("city")
def test_another_municipality_is_denied_unless_a_flow_allows_it(runtime: Runtime):
    subject = record(
        runtime,
        "koeln-auslaenderbehoerde",
        "koeln-jobcenter",
        "residence_status",
        "case_management",
    )
    denied = ask(
        runtime,
        "koeln-auslaenderbehoerde",
        "bonn-jobcenter",
        subject,
        "residence_status",
        "case_management",
    )
    assert denied == Deny(Reason.NO_POLICY)


@pytest.mark.usefixtures("city")
def test_a_statute_flow_is_permitted_without_consent(runtime: Runtime, tmp_path: Path):
    (tmp_path / "policy.schema.json").write_text(
        (REFERENCE_POLICIES / "policy.schema.json").read_text()
    )
    (tmp_path / "statute.yaml").write_text(
        "policy_id: statute\nversion: 1\nflows:\n"
        "  - id: jobcenter-to-abh-by-law\n    from: job_centre\n    to: foreigners_office\n"
        "    categories: {benefit_status: [benefit, status]}\n    purposes: [residence_procedure]\n"
        "    legal_basis: {statute: '§ 87 Abs. 1 AufenthG'}\n    retention_days: 30\n"
    )
    policies = load_policies(tmp_path)
    subject = record(
        runtime,
        "koeln-auslaenderbehoerde",
        "koeln-jobcenter",
        "residence_status",
        "case_management",
    )
    permitted = ask(
        runtime,
        "koeln-jobcenter",
        "koeln-auslaenderbehoerde",
        subject,
        "benefit_status",
        "residence_procedure",
        policies,
    )
    assert isinstance(permitted, Permit)
    assert permitted.consent is None
    assert str(permitted.basis) == "statute: § 87 Abs. 1 AufenthG"


@pytest.mark.usefixtures("city")
def test_a_disabled_agency_stops_the_exchange(runtime: Runtime, clients: Clients):
    subject = record(
        runtime,
        "koeln-auslaenderbehoerde",
        "koeln-jobcenter",
        "residence_status",
        "case_management",
    )
    clients.disable("koeln-auslaenderbehoerde")
    denied = ask(
        runtime,
        "koeln-auslaenderbehoerde",
        "koeln-jobcenter",
        subject,
        "residence_status",
        "case_management",
    )
    assert denied == Deny(Reason.AGENCY_DISABLED)


@pytest.mark.usefixtures("city")
def test_several_categories_are_decided_each_on_one_reading_of_the_consents(runtime: Runtime):
    abh, jobcentre = "koeln-auslaenderbehoerde", "koeln-jobcenter"
    subject = record(runtime, abh, jobcentre, "residence_status", "case_management")
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    with runtime.database.transaction(read_only=True) as session:
        found = registry.agencies(session, abh, jobcentre)
        event.listen(runtime.database.engine, "before_cursor_execute", count)
        try:
            decided = decide_all(
                session,
                runtime.policies,
                provider=found[abh],
                recipient=found[jobcentre],
                subject_id=subject,
                categories=["case_contact", "residence_status", "benefit_status"],
                purpose="case_management",
                at=NOW,
            )
        finally:
            event.remove(runtime.database.engine, "before_cursor_execute", count)

    assert list(decided) == ["case_contact", "residence_status", "benefit_status"]
    assert decided["case_contact"] == Deny(Reason.CATEGORY_NOT_COVERED)
    assert isinstance(decided["residence_status"], Permit)
    assert decided["benefit_status"] == Deny(Reason.NO_POLICY)  # no flow at all
    assert len([s for s in statements if "consent_permissions" in s]) == 1


@pytest.mark.usefixtures("city")
def test_confided_data_needs_a_consent_its_confiding_person_gave(runtime: Runtime, tmp_path):
    """The policy marks the youth welfare office's support data as confided after the child's
    guardian consented: that consent covers it no longer; the confiding person's does."""
    jugendamt, jobcentre = AGENCY_OF[AgencyKind.YOUTH_WELFARE_OFFICE], "koeln-jobcenter"
    question = (jugendamt, jobcentre)
    support = ("youth_welfare_support", "case_management")
    subject = record(runtime, *question, *support)  # under the reference set: nothing marked
    marked = load_policies(confided_policies(tmp_path))
    assert isinstance(ask(runtime, *question, subject, *support), Permit)
    assert ask(runtime, *question, subject, *support, marked) == Deny(
        Reason.CONFIDING_PERSON_REQUIRED
    )
    record(runtime, *question, *support, givers=("legal_guardian", "confiding_person"))
    permitted = ask(runtime, *question, subject, *support, marked)
    assert isinstance(permitted, Permit)
    assert permitted.consent is not None
    # Data of the same consents that nobody confided is decided as before.
    contact = ("case_contact", "case_management")
    record(runtime, *question, *contact)
    assert isinstance(ask(runtime, *question, subject, *contact, marked), Permit)


@pytest.mark.usefixtures("city")
def test_who_gave_a_consent_is_read_only_for_confided_data(runtime: Runtime, tmp_path):
    """The common case, no confided data, reads the permissions as before and nothing more."""
    jugendamt, jobcentre = AGENCY_OF[AgencyKind.YOUTH_WELFARE_OFFICE], "koeln-jobcenter"
    subject = record(runtime, jugendamt, jobcentre, "youth_welfare_support", "case_management")
    marked = load_policies(confided_policies(tmp_path))
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if "consent_permissions" in statement:
            statements.append(statement)

    event.listen(runtime.database.engine, "before_cursor_execute", count)
    try:
        for policies in (runtime.policies, marked):
            ask(runtime, jugendamt, jobcentre, subject, "youth_welfare_support",
                "case_management", policies)  # fmt: skip
    finally:
        event.remove(runtime.database.engine, "before_cursor_execute", count)
    plain, confided = statements
    assert "given_by" not in plain
    assert "given_by" in confided


@pytest.mark.usefixtures("city")
@pytest.mark.parametrize(
    ("provider", "category"),
    [(AgencyKind.JOB_CENTRE, "benefit_status"), (AgencyKind.SOCIAL_OFFICE, "benefit_status")],
)
def test_an_emergency_flow_never_permits_an_ordinary_query(runtime: Runtime, provider, category):
    """The reference set's emergency flows rest on a statute: were they asked for ordinary
    queries, the youth welfare office would get this data without consent and without review.
    Only the emergency query (issue 22) may use them."""
    giver, jugendamt = AGENCY_OF[provider], AGENCY_OF[AgencyKind.YOUTH_WELFARE_OFFICE]
    purpose = "child_and_youth_welfare"
    assert runtime.policies.emergency_flow_for(
        provider, AgencyKind.YOUTH_WELFARE_OFFICE, category, purpose, same_municipality=True
    )
    subject = record(runtime, giver, jugendamt, "case_contact", "case_management")
    assert ask(runtime, giver, jugendamt, subject, category, purpose) == Deny(Reason.NO_POLICY)


@pytest.mark.usefixtures("city")
def test_beside_an_emergency_flow_the_ordinary_flow_decides_an_ordinary_query(runtime: Runtime):
    """The foreigners' office has an ordinary consent flow and an emergency flow to the youth
    welfare office for the same case: an ordinary query needs the consent and gets only the
    ordinary flow's fields."""
    abh, jugendamt = (
        AGENCY_OF[AgencyKind.FOREIGNERS_OFFICE],
        AGENCY_OF[AgencyKind.YOUTH_WELFARE_OFFICE],
    )
    question = ("residence_status", "child_and_youth_welfare")
    unconsented = record(runtime, abh, jugendamt, "case_contact", "case_management")
    assert isinstance(ask(runtime, abh, jugendamt, unconsented, *question), Deny)
    subject = record(runtime, abh, jugendamt, *question)
    permitted = ask(runtime, abh, jugendamt, subject, *question)
    assert isinstance(permitted, Permit)
    assert permitted.consent is not None
    assert permitted.flow.emergency is None
    assert permitted.flow.fields["residence_status"] == ("title", "valid_until")
