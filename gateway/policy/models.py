"""Response shapes of the policy API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from consent.vocabulary import AgencyKind, Category, Purpose


class ConfidedOut(BaseModel):
    """Data confided to the youth welfare office for personal and educational help (§ 65 SGB
    VIII): it passes only with the consent of the person who confided it."""

    citation: str = Field(description="The rule, as the policy names it.")
    categories: list[str] = Field(
        description="The flow's categories the mark covers: a consent covers them only when "
        "`confiding_person` is among its `given_by`, when it is recorded and at every exchange "
        "(otherwise refused with reason `confiding_person_required`)."
    )


class EmergencyOut(BaseModel):
    """Emergency access for child protection (§ 8a SGB VIII): the flow decides only emergency
    queries, each justified and reviewed by a DPO afterwards."""

    reasons: list[str] = Field(
        description="The reason codes an emergency query's justification may give, sorted."
    )
    max_window_hours: int = Field(
        description="How long, at most, one use keeps emergency access open for that person "
        "and recipient."
    )


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
    confided: ConfidedOut | None = Field(
        default=None, description="Set when the flow carries data confided (§ 65 SGB VIII)."
    )
    emergency: EmergencyOut | None = Field(
        default=None,
        description="Set when the flow is for emergency access in child protection (§ 8a SGB "
        "VIII): it decides only emergency queries (scope `exchange:emergency`), never an "
        "ordinary query, message or consent grant.",
    )


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
    emergency: StrictBool = Field(
        default=False,
        description="Ask about an emergency query (§ 8a SGB VIII): answered over emergency flows "
        "only. Without it, over ordinary flows only.",
    )


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
    confided: ConfidedOut | None = Field(
        default=None,
        description="Set when the activity discloses data confided to the youth welfare office "
        "(§ 65 SGB VIII), which needs the consent of the person who confided it.",
    )
    emergency: EmergencyOut | None = Field(
        default=None,
        description="Set when the activity is emergency access in child protection (§ 8a SGB "
        "VIII): each use justified with one of the reason codes and reviewed by a DPO.",
    )


class RecordsOfProcessing(BaseModel):
    policy_set_digest: str
    activities: list[ProcessingActivity]
