"""Request and response shapes of the consent API (PRODUCT.md §4.2, Consents)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from consent.model import EvidenceChannel, GiverRole, Status, WithdrawalChannel
from consent.vocabulary import Category, Purpose
from gateway.dates import DAY

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
    given_by: list[Giver] = Field(min_length=1, max_length=4)
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
    legal_reason: Annotated[str, StringConstraints(min_length=3, max_length=500)] | None = Field(
        default=None, description="Required when the data is retained: on what legal ground."
    )


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
