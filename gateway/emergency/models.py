"""Request and response shapes of emergency queries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gateway.consents.models import Reference
from gateway.exchange.models import QueryIn, QueryOut
from gateway.texts import PLAIN_TEXT

JUSTIFICATION_LIMIT = 1000  # characters of the free text


class JustificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{2,62}$")] = Field(
        description="A reason code the emergency flow lists (e.g. `acute_child_endangerment`); "
        "a code it does not list is refused with reason `emergency_reason_not_listed`.",
        examples=["acute_child_endangerment"],
    )
    case_number: Reference = Field(
        description="The asking office's own case number for the risk assessment (§ 8a SGB VIII)."
    )
    text: Annotated[
        str, StringConstraints(min_length=10, max_length=JUSTIFICATION_LIMIT, pattern=PLAIN_TEXT)
    ] = Field(
        description="Why this cannot wait for consent, in a few sentences. Stored sealed, read "
        "only by a data-protection officer (and that reading is audited); the audit log keeps "
        "only its keyed digest."
    )


class EmergencyQueryIn(QueryIn):
    justification: JustificationIn


class EmergencyWindowOut(BaseModel):
    id: str
    opened_at: datetime
    closes_at: datetime = Field(
        description="Until then this office may ask about this person in an emergency again "
        "(each time justified); after it, ordinary rules apply."
    )
    review_due_at: datetime = Field(description="A data-protection officer reviews it by then.")


class EmergencyQueryOut(QueryOut):
    emergency_window: EmergencyWindowOut
