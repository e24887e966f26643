"""Request and response shapes of the consent API (PRODUCT.md §4.2, Consents)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from consent.model import AgeBand, EvidenceChannel, GiverRole, Status, WithdrawalChannel
from consent.vocabulary import Category, Purpose
from gateway.dates import DAY
from gateway.texts import PLAIN_TEXT

AgencyId = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$|^[a-z0-9]$")
]
# A file reference (Aktenzeichen) as agencies write them: letters (with German umlauts and ß),
# digits, and space - _ . / : # between them; it starts and ends with a letter or digit.
# Nothing invisible, nothing another script could make look like another reference; never
# echoed in errors or logs.
Reference = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9ÄÖÜäöüß]([A-Za-z0-9ÄÖÜäöüß _./:#-]*[A-Za-z0-9ÄÖÜäöüß])?$",
    ),
]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# An RFC 3339 time with its offset, or a plain date (YYYY-MM-DD) as the signed form says it,
# meaning that whole day in the deployment's time zone; only days the calendar has. A pattern,
# not pydantic's datetime, which would also read a bare number as seconds since 1970.
TimeOrDay = Annotated[
    str,
    StringConstraints(
        pattern=rf"^{DAY}"
        r"(T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))?$"
    ),
]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubjectIn(Strict):
    references: dict[AgencyId, Reference] = Field(
        min_length=1,
        max_length=16,
        description="Each agency involved, with its own file reference for the person.",
    )
    age_band: AgeBand = Field(
        description="How old the person is when the consent is recorded, as far as who may "
        "consent depends on it (no birth date): `adult`; `minor_15_to_17`, who may consent "
        "alone (§ 36 SGB I); `minor_under_15`, for whom a `legal_guardian` or `custodian` must "
        "be among `given_by` (otherwise 422 `consent-giver-missing`, reason "
        "`guardian_required`). Stored with the consent; a birthday later changes nothing "
        "recorded."
    )


class Giver(Strict):
    role: GiverRole


class GrantIn(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    provider: AgencyId = Field(alias="from")
    recipient: AgencyId = Field(alias="to")
    categories: list[Category] = Field(min_length=1, max_length=6)
    purposes: list[Purpose] = Field(min_length=1, max_length=5)


class NoticeIn(Strict):
    form_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    form_version: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
    language: LanguageCode
    interpreter_language: LanguageCode | None = None


class EvidenceIn(Strict):
    channel: EvidenceChannel
    document_sha256: Sha256 | None = None


class ConsentIn(Strict):
    subject: SubjectIn
    given_by: list[Giver] = Field(
        min_length=1,
        max_length=4,
        description="Who gave the consent. For a person under 15 (`subject.age_band`) a "
        "`legal_guardian` or `custodian` must be among them; where a grant covers data the "
        "policy marks as confided to the youth welfare office (§ 65 SGB VIII), the "
        "`confiding_person`. Otherwise 422 `consent-giver-missing` with the rule as `reason`.",
    )
    grants: list[GrantIn] = Field(min_length=1, max_length=32)
    valid_from: TimeOrDay = Field(
        description="From this time, or from the start of this day (the deployment's time zone)."
    )
    valid_until: TimeOrDay = Field(
        description="Until this time, or to the end of this day (the deployment's time zone)."
    )
    notice: NoticeIn
    evidence: EvidenceIn


class GrantOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    provider: str = Field(serialization_alias="from")
    recipient: str = Field(serialization_alias="to")
    categories: list[str]
    purposes: list[str]


class Recorded(BaseModel):
    consent_id: str
    version: int
    status: Status
    receipt: str = Field(description="Compact JWS (EdDSA, with kid), verifiable with the JWKS.")
    portal_code: str = Field(description="Shown once: lets the person into the portal.")


class VersionOut(BaseModel):
    version: int
    status: Status
    recorded_at: datetime
    ended_at: datetime | None = None


class ConsentOut(BaseModel):
    consent_id: str
    version: int
    status: Status
    subject_ref: str | None = Field(description="The caller's own reference for the person.")
    subject_age_band: AgeBand | None = Field(
        description="The person's age band when the consent was recorded; null for consents "
        "recorded before the gateway asked for it."
    )
    given_by: list[GiverRole]
    grants: list[GrantOut]
    valid_from: datetime
    valid_until: datetime
    notice: dict[str, str | None]
    evidence: dict[str, str | None]
    recorded_at: datetime
    recorded_by: str
    versions: list[VersionOut]


class ConsentList(BaseModel):
    consents: list[ConsentOut]


class WithdrawIn(Strict):
    channel: WithdrawalChannel
    grants: list[GrantIn] | None = Field(
        default=None,
        min_length=1,
        description="Withdraw only these grants (a new version without them); all if absent.",
    )


class ReferenceIn(Strict):
    reference: Reference = Field(description="The calling agency's own file reference.")


class Receipt(BaseModel):
    consent_id: str
    version: int
    receipt: str


class PortalCode(BaseModel):
    consent_id: str
    portal_code: str


class NoticeOut(BaseModel):
    notice_id: str
    consent_id: str
    consent_version: int
    created_at: datetime
    exchanges: list[str] = Field(description="Exchanges that released data to you under it.")
    messages: list[str] = Field(description="Messages delivered to you under it.")
    acknowledged_at: datetime | None = None
    outcome: str | None = None
    legal_reason: str | None = None


class NoticeList(BaseModel):
    notices: list[NoticeOut]


class NoticeAck(Strict):
    # The rule the service holds (retained needs its legal ground), stated in the document too.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"outcome": {"const": "retained"}}, "required": ["outcome"]},
            "then": {
                "required": ["legal_reason"],
                "properties": {"legal_reason": {"type": "string"}},
            },
        }
    )

    outcome: Annotated[str, StringConstraints(pattern=r"^(deleted|retained)$")]
    legal_reason: (
        Annotated[str, StringConstraints(min_length=3, max_length=500, pattern=PLAIN_TEXT)] | None
    ) = Field(default=None, description="Required when the data is retained: on what legal ground.")


class ConsentFormText(BaseModel):
    language: str = Field(description="The value for `notice.language`.")
    title: str | None = Field(description="The form's title in this language.")
    sha256: Sha256 = Field(
        description="SHA-256 (hex) of `text` encoded as UTF-8: the `form_sha256` a consent "
        "recorded with this form, version and language stores and its receipt carries."
    )
    text: str = Field(description="The text the person is shown (Markdown), exactly as hashed.")


class ConsentForm(BaseModel):
    form_id: str = Field(description="The value for `notice.form_id`.")
    form_version: str = Field(description="The value for `notice.form_version`.")
    languages: list[str] = Field(description="The languages the form is shipped in.")
    texts: list[ConsentFormText] = Field(description="One per language, in that order.")


class ConsentFormList(BaseModel):
    forms: list[ConsentForm]


# -- the consent record as W3C DPV JSON-LD (built by ``dpv.py``) ----------------------------


class LinkedNode(BaseModel):
    """A JSON-LD node: each field is a property named by its compact IRI (the alias)."""

    model_config = ConfigDict(extra="forbid", serialize_by_alias=True)


class DpvTerm(LinkedNode):
    """A purpose or a data category: the gateway's own term, of DPV's class, and the DPV
    concept it falls under where there is one."""

    id: str = Field(serialization_alias="@id")
    type: str = Field(serialization_alias="@type")
    broader: str | None = Field(default=None, serialization_alias="skos:broader")


class DpvAgency(LinkedNode):
    id: str = Field(serialization_alias="@id")
    type: list[str] = Field(
        serialization_alias="@type", description="dpv:PublicSectorBody and its kind."
    )
    identifier: str = Field(serialization_alias="dpv:hasIdentifier", description="The agency's id.")
    name: str = Field(serialization_alias="dpv:hasName")


class DpvDataSubject(LinkedNode):
    id: str = Field(serialization_alias="@id")
    type: str | list[str] = Field(
        serialization_alias="@type",
        description="dpv:DataSubject, with dpv:Adult or dpv:Child where the recording stated "
        "the person's age band.",
    )
    identifier: str | None = Field(
        default=None,
        serialization_alias="dct:identifier",
        description="The calling agency's own reference for the person (never another's).",
    )


class DpvGiver(LinkedNode):
    """Someone other than the person who gave the consent (a guardian, a confiding person)."""

    type: list[str] = Field(serialization_alias="@type")


class DpvUntil(LinkedNode):
    type: str = Field(serialization_alias="@type")  # dpv:UntilTimeDuration
    value: datetime = Field(serialization_alias="rdf:value")


class DpvPeriod(LinkedNode):
    type: str = Field(serialization_alias="@type")  # dct:PeriodOfTime
    start: datetime = Field(serialization_alias="dcat:startDate")
    end: datetime = Field(serialization_alias="dcat:endDate")


class DpvStatus(LinkedNode):
    """A consent event: given, withdrawn or expired."""

    type: str = Field(serialization_alias="@type")
    at: datetime = Field(serialization_alias="dpv:isIndicatedAtTime")
    indicated_by: list[str | DpvGiver] | None = Field(
        default=None, serialization_alias="dpv:isIndicatedBy"
    )
    method: str | None = Field(default=None, serialization_alias="dpv:hasIndicationMethod")
    implemented_by: str | None = Field(
        default=None, serialization_alias="dpv:isImplementedByEntity"
    )
    duration: DpvUntil | None = Field(default=None, serialization_alias="dpv:hasDuration")
    period: DpvPeriod | None = Field(default=None, serialization_alias="dct:temporal")
    document_sha256: Sha256 | None = Field(default=None, serialization_alias="gw:documentSha256")


class DpvProcess(LinkedNode):
    """One grant: what one agency may give another, for what."""

    id: str = Field(serialization_alias="@id")
    type: str = Field(serialization_alias="@type")
    purposes: list[DpvTerm] = Field(serialization_alias="dpv:hasPurpose")
    personal_data: list[DpvTerm] = Field(serialization_alias="dpv:hasPersonalData")
    processing: str = Field(serialization_alias="dpv:hasProcessing")
    controllers: list[str] = Field(serialization_alias="dpv:hasDataController")
    recipients: list[str] = Field(serialization_alias="dpv:hasRecipient")
    statuses: list[DpvStatus] | None = Field(
        default=None,
        serialization_alias="dpv:hasConsentStatus",
        description="Only for a grant withdrawn on its own; the others share the record's.",
    )


class DpvNotice(LinkedNode):
    id: str = Field(serialization_alias="@id")
    type: str = Field(serialization_alias="@type")
    language: str = Field(serialization_alias="dct:language")
    text_sha256: Sha256 | None = Field(default=None, serialization_alias="gw:textSha256")
    interpreter_language: str | None = Field(
        default=None, serialization_alias="gw:interpreterLanguage"
    )


class DpvControl(LinkedNode):
    type: list[str] = Field(serialization_alias="@type")
    exercised_at: str = Field(serialization_alias="dpv:isExercisedAt")
    description: str = Field(serialization_alias="dct:description")


class DpvConsentRecord(LinkedNode):
    """The consent record in the W3C Data Privacy Vocabulary's profile of ISO/IEC TS 27560
    (https://w3id.org/dpv/guides/consent-27560), JSON-LD with its context inline."""

    context: dict[str, Any] = Field(serialization_alias="@context")
    id: str = Field(serialization_alias="@id")
    type: str = Field(serialization_alias="@type")
    identifier: str = Field(serialization_alias="dct:identifier", description="The consent's id.")
    conforms_to: str = Field(serialization_alias="dct:conformsTo")
    created: datetime = Field(serialization_alias="dct:created")
    version: int = Field(
        serialization_alias="gw:version", description="The consent's current version."
    )
    status: Status = Field(serialization_alias="gw:status")
    data_subject: DpvDataSubject = Field(serialization_alias="dpv:hasDataSubject")
    jurisdiction: str = Field(serialization_alias="dpv:hasJurisdiction")
    applicable_law: str = Field(serialization_alias="dpv:hasApplicableLaw")
    legal_basis: list[str] = Field(serialization_alias="dpv:hasLegalBasis")
    notice: DpvNotice = Field(serialization_alias="dpv:hasNotice")
    consent_control: DpvControl = Field(serialization_alias="dpv:hasConsentControl")
    rights: list[DpvControl] = Field(serialization_alias="dpv:hasRight")
    entities: list[DpvAgency] = Field(serialization_alias="dpv:hasEntity")
    processes: list[DpvProcess] = Field(serialization_alias="dpv:hasProcess")
    statuses: list[DpvStatus] = Field(serialization_alias="dpv:hasConsentStatus")
