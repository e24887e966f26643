"""A consent as a record others can read: the W3C Data Privacy Vocabulary's (DPV) profile of
ISO/IEC TS 27560 consent records, in JSON-LD.

The structure follows "Consent Records and Receipts as per ISO/IEC TS 27560:2023 using DPV"
(https://w3id.org/dpv/guides/consent-27560), profile ``dpv-27560:record``: one
``dpv:ConsentRecord`` with its identifier and schema version, the data subject, the notice and
its language, one ``dpv:Process`` per grant (purposes, data categories, controllers,
recipients), the agencies as entities, the legal basis, jurisdiction, withdrawal and rights,
and the consent's events as ``dpv:hasConsentStatus`` (given, withdrawn, expired: when, by
whom, how). The context is written inline, so the document expands without fetching anything.

What is the gateway's own is named under ``https://consent-gateway.invalid/`` (the base of
the category schemas' ``$id``s, which resolves nowhere on purpose): ``purpose:`` and
``category:`` for the vocabulary of ``consent.vocabulary``, ``form:`` for the shipped consent
forms (``consent/forms/<form>/<version>/<language>``), ``gw:`` for agency kinds, the roles of
those who gave the consent, the channels and a few properties DPV has no word for. A term is
linked to DPV (``skos:broader``, ``rdf:type``) only where DPV's definition says what the
gateway's term means; no data category has such a match in DPV's personal-data taxonomy.

Where the gateway holds nothing for a field of the profile it is left out rather than made up:
storage conditions (how long a recipient keeps what it received is its own law's matter), the
agencies' contact points and postal addresses, who declared an expiry (nobody: it is a time).

A party reading the record sees the person only by its own reference (as ``GET
/v1/consents/{id}``), the person in the portal by none at all; no other agency's reference
appears anywhere in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy.orm import Session

from consent.model import GiverRole, Status, status_at
from gateway.agencies import repository as registry
from gateway.agencies.repository import Registered
from gateway.audit.events import PERSON
from gateway.consents import repository
from gateway.consents.models import (
    DpvAgency,
    DpvConsentRecord,
    DpvControl,
    DpvDataSubject,
    DpvGiver,
    DpvNotice,
    DpvPeriod,
    DpvProcess,
    DpvStatus,
    DpvTerm,
    DpvUntil,
)
from gateway.consents.tables import ConsentRecord, ConsentVersion

MEDIA_TYPE = "application/ld+json"
PROFILE = "https://w3id.org/dpv/schema/dpv-27560#record"
BASE = "https://consent-gateway.invalid/"

# Properties whose values are IRIs (a compact "dpv:Share" is the concept, not the text), and
# those whose values are times.
_IRI_VALUED = (
    "dct:conformsTo",
    "skos:broader",
    "dpv:hasJurisdiction",
    "dpv:hasApplicableLaw",
    "dpv:hasLegalBasis",
    "dpv:hasProcessing",
    "dpv:hasDataController",
    "dpv:hasRecipient",
    "dpv:isIndicatedBy",
    "dpv:isImplementedByEntity",
    "dpv:hasIndicationMethod",
    "dpv:isExercisedAt",
)
_TIME_VALUED = ("dct:created", "dpv:isIndicatedAtTime", "dcat:startDate", "dcat:endDate")
CONTEXT: dict[str, Any] = {
    "dpv": "https://w3id.org/dpv#",
    "eu-gdpr": "https://w3id.org/dpv/legal/eu/gdpr#",
    "legal-eu": "https://w3id.org/dpv/legal/eu#",
    "loc": "https://w3id.org/dpv/loc#",
    "dct": "http://purl.org/dc/terms/",
    "dcat": "http://www.w3.org/ns/dcat#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "gw": BASE + "vocab#",
    "purpose": BASE + "purposes/",
    "category": BASE + "categories/",
    "form": BASE + "forms/",
    **{term: {"@type": "@id"} for term in _IRI_VALUED},
    **{term: {"@type": "xsd:dateTime"} for term in _TIME_VALUED},
    "rdf:value": {"@type": "xsd:dateTime"},  # only an UntilTimeDuration's end has one here
}

# The gateway's purposes under DPV's where DPV defines what they are: case management,
# labour-market integration and youth welfare provide services to the person
# (dpv:ServiceProvision); a benefit decision determines whether the person may have a service
# (dpv:ServiceAccessDetermination). A residence procedure is neither.
_BROADER_PURPOSES = {
    "case_management": "dpv:ServiceProvision",
    "labour_market_integration": "dpv:ServiceProvision",
    "child_and_youth_welfare": "dpv:ServiceProvision",
    "benefit_entitlement": "dpv:ServiceAccessDetermination",
}
# Who gave the consent. A person's legal guardian (Vormund) and the holder of parental custody
# (Personensorgeberechtigte) are both guardians in DPV's sense; a confiding person (§ 65 SGB
# VIII) has no DPV class.
_GUARDIANS = {GiverRole.LEGAL_GUARDIAN, GiverRole.CUSTODIAN}
# A consent recorded on one of the shipped forms is a decision on that form alone, whatever
# the channel: explicitly expressed, and consent in the sense of Art. 6(1)(a) GDPR (§ 67b SGB X).
_LEGAL_BASIS = ["dpv:ExplicitlyExpressedConsent", "eu-gdpr:A6-1-a"]
_WITHDRAWAL = (
    "In the portal with the portal code, or in person or in writing at any agency party to "
    "the consent; it takes effect at once."
)


# The person's age band when the consent was recorded (None before it was asked): a minor is
# a dpv:Child, whose consent a guardian or custodian gives under 15 (§ 36 SGB I).
_SUBJECT_TYPES: dict[str, str | list[str]] = {
    "adult": ["dpv:DataSubject", "dpv:Adult"],
    "minor_15_to_17": ["dpv:DataSubject", "dpv:Child"],
    "minor_under_15": ["dpv:DataSubject", "dpv:Child"],
}


def record(
    session: Session,
    consent: ConsentRecord,
    *,
    issuer: str,
    now: datetime,
    reference: str | None,
) -> DpvConsentRecord:
    """The consent's record as of ``now``; ``reference`` is how the reader knows the person
    (its own file reference), or None for no identifier at all."""
    versions = repository.versions(session, consent.id)
    agencies = registry.agencies(session, *_parties(consent, _all_grants(versions)))
    return document(consent, versions, agencies, issuer=issuer, now=now, reference=reference)


def document(
    consent: ConsentRecord,
    versions: Sequence[ConsentVersion],
    agencies: dict[str, Registered],
    *,
    issuer: str,
    now: datetime,
    reference: str | None,
) -> DpvConsentRecord:
    """The record built from the consent's stored versions (oldest first)."""
    base = issuer.rstrip("/")
    names = _Names(base, f"{base}/v1/consents/{consent.id}/record")
    first, current = versions[0], versions[-1]
    status = status_at(Status(current.status), current.valid_until, now)
    grants = _all_grants(versions)
    withdrawn_alone = _withdrawn_alone(versions, grants, names)
    portal = f"{base}/portal/"
    return DpvConsentRecord(
        context=CONTEXT,
        id=names.record,
        type="dpv:ConsentRecord",
        identifier=consent.id,
        conforms_to=PROFILE,
        created=consent.created_at,
        version=current.version,
        status=status,
        data_subject=DpvDataSubject(
            id=names.data_subject,
            type=_SUBJECT_TYPES.get(first.subject_age_band or "", "dpv:DataSubject"),
            identifier=reference,
        ),
        jurisdiction="loc:DE",  # German agencies under German law (the agency kinds)
        applicable_law="legal-eu:law-GDPR",
        legal_basis=_LEGAL_BASIS,
        notice=_notice(first.notice),
        consent_control=DpvControl(
            type=["dpv:WithdrawConsent"], exercised_at=portal, description=_WITHDRAWAL
        ),
        rights=[
            DpvControl(
                type=["dpv:DataSubjectRight", "eu-gdpr:A7-3"],
                exercised_at=portal,
                description=_WITHDRAWAL,
            )
        ],
        entities=[
            _agency(agency_id, agencies.get(agency_id), names)
            for agency_id in _parties(consent, grants)
        ],
        processes=[
            DpvProcess(
                id=names.grant(number),
                type="dpv:Process",
                purposes=[_purpose(code) for code in grant["purposes"]],
                personal_data=[
                    DpvTerm(id=f"category:{code}", type="dpv:PersonalData")
                    for code in grant["categories"]
                ],
                processing="dpv:Share",
                controllers=[names.agency(grant["from"]), names.agency(grant["to"])],
                recipients=[names.agency(grant["to"])],
                statuses=withdrawn_alone.get(number),
            )
            for number, grant in enumerate(grants, start=1)
        ],
        statuses=_record_statuses(first, current, status, names),
    )


class _Names:
    """The IRIs of one record's nodes."""

    def __init__(self, base: str, record: str) -> None:
        self.base, self.record = base, record
        self.data_subject = f"{record}#data-subject"

    def grant(self, number: int) -> str:
        return f"{self.record}#grant-{number}"

    def agency(self, agency_id: str) -> str:
        # An IRI naming the agency in this deployment, not an address to fetch.
        return f"{self.base}/agencies/{agency_id}"


def _all_grants(versions: Sequence[ConsentVersion]) -> list[dict[str, Any]]:
    """Every grant the consent ever held, in the order they first appear (a later version
    only ever drops grants, so this is the first version's)."""
    found: list[dict[str, Any]] = []
    for version in versions:
        found += [grant for grant in version.grants if grant not in found]
    return found


def _parties(consent: ConsentRecord, grants: list[dict[str, Any]]) -> list[str]:
    """The agencies the record names: the recorder and every agency of a grant."""
    named = {consent.recorded_by} | {a for grant in grants for a in (grant["from"], grant["to"])}
    return sorted(named)


def _purpose(code: str) -> DpvTerm:
    return DpvTerm(id=f"purpose:{code}", type="dpv:Purpose", broader=_BROADER_PURPOSES.get(code))


def _agency(agency_id: str, agency: Registered | None, names: _Names) -> DpvAgency:
    kinds = [f"gw:{agency.kind}"] if agency is not None else []
    return DpvAgency(
        id=names.agency(agency_id),
        type=["dpv:PublicSectorBody", *kinds],
        identifier=agency_id,
        name=agency.name if agency is not None else agency_id,
    )


def _notice(notice: dict[str, Any]) -> DpvNotice:
    return DpvNotice(
        id=f"form:{notice['form_id']}/{notice['form_version']}/{notice['language']}",
        type="dpv:ConsentNotice",
        language=notice["language"],
        text_sha256=notice.get("form_sha256"),
        interpreter_language=notice.get("interpreter_language"),
    )


def _record_statuses(
    first: ConsentVersion, current: ConsentVersion, status: Status, names: _Names
) -> list[DpvStatus]:
    """Given, then withdrawn or expired if it came to that: the consent as a whole."""
    evidence = first.evidence
    statuses = [
        DpvStatus(
            type="dpv:ConsentGiven",
            at=first.recorded_at,
            indicated_by=[_giver(role, names) for role in first.given_by],
            method=f"gw:{evidence['channel']}",
            implemented_by=names.agency(first.recorded_by),
            duration=DpvUntil(type="dpv:UntilTimeDuration", value=first.valid_until),
            period=DpvPeriod(
                type="dct:PeriodOfTime", start=first.valid_from, end=first.valid_until
            ),
            document_sha256=evidence.get("document_sha256"),
        )
    ]
    if status is Status.WITHDRAWN:
        statuses.append(_withdrawal(current, names))
    elif status is Status.EXPIRED:
        statuses.append(DpvStatus(type="dpv:ConsentExpired", at=current.valid_until))
    return statuses


def _withdrawn_alone(
    versions: Sequence[ConsentVersion], grants: list[dict[str, Any]], names: _Names
) -> dict[int, list[DpvStatus]]:
    """Grant number (its place in ``grants``, from 1) -> its withdrawal, for the grants a
    partial withdrawal took out: in one version, not in the next, whose start ended the
    older one."""
    taken: dict[int, list[DpvStatus]] = {}
    for older, newer in pairwise(versions):
        for grant in older.grants:
            if grant not in newer.grants:
                taken[grants.index(grant) + 1] = [_withdrawal(older, names)]
    return taken


def _withdrawal(ended: ConsentVersion, names: _Names) -> DpvStatus:
    """A version's end by withdrawal: declared by the person in the portal (whoever holds
    their code: the gateway cannot tell), or by an agency on their word, in person or in
    writing (the gateway is not told whose word, the person's or a guardian's)."""
    assert ended.ended_at is not None
    assert ended.ended_by is not None
    by_person = ended.ended_by == PERSON
    return DpvStatus(
        type="dpv:ConsentWithdrawn",
        at=ended.ended_at,
        indicated_by=[names.data_subject if by_person else names.agency(ended.ended_by)],
        method=f"gw:{ended.withdrawal_channel}" if ended.withdrawal_channel else None,
    )


def _giver(role: str, names: _Names) -> str | DpvGiver:
    giver = GiverRole(role)
    if giver is GiverRole.DATA_SUBJECT:
        return names.data_subject
    guardian = ["dpv:GuardianOfDataSubject"] if giver in _GUARDIANS else []
    return DpvGiver(type=[*guardian, f"gw:{giver.value}"])
