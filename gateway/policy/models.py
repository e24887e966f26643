"""Response shapes of the policy API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from consent.vocabulary import AgencyKind, Category, Purpose


class FlowOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    id: str
    policy_id: str
    provider_kind: str = Field(serialization_alias="from")
    recipient_kind: str = Field(serialization_alias="to")
    fields: dict[str, list[str]]
    purposes: list[str]
    legal_basis: str
    retention_days: int
    cross_municipality: bool


class PolicySetOut(BaseModel):
    digest: str
    files: list[str]
    flows: list[FlowOut]


class ExplainIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    provider_kind: AgencyKind = Field(alias="from")
    recipient_kind: AgencyKind = Field(alias="to")
    category: Category
    purpose: Purpose
    # A JSON boolean, as the document says: not 0, "yes" or "off" (pydantic's lax reading).
    cross_municipality: StrictBool = False


class Explanation(BaseModel):
    allowed: bool
    explanation: str
    released_fields: list[str]
    flows: list[FlowOut]


class ProcessingActivity(BaseModel):
    """One entry of the record of processing activities (Art. 30 GDPR), from one flow."""

    activity: str
    description: str | None = None
    disclosing_kind: str
    receiving_kind: str
    data: dict[str, list[str]]
    purposes: list[str]
    legal_basis: str
    retention_days: int
    within_municipality_only: bool


class RecordsOfProcessing(BaseModel):
    policy_set_digest: str
    activities: list[ProcessingActivity]
