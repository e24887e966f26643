"""Request and response shapes of the message API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from consent.vocabulary import Category, Purpose
from gateway.consents.models import AgencyId, Reference


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipient: AgencyId
    subject_ref: Reference = Field(description="The sender's own file reference.")
    category: Category
    purpose: Purpose
    payload: dict[str, Any] | list[Any] = Field(
        description="A document of the category's schema; only the fields the policy flow "
        "releases are kept."
    )


class MessageAccepted(BaseModel):
    message_id: str


class InboxState(StrEnum):
    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    WITHHELD = "withheld"
    EXPIRED = "expired"


class MessageSummary(BaseModel):
    message_id: str
    sender: str
    subject_ref: str | None = Field(description="Your own file reference for the person.")
    category: str
    purpose: str
    state: InboxState
    reason: str | None = Field(default=None, description="Why a message was withheld.")
    created_at: datetime
    expires_at: datetime
    fetched: bool = Field(description="Whether you have fetched it before.")


class MessagePage(BaseModel):
    messages: list[MessageSummary]
    next_cursor: str | None = None


class MessageOut(BaseModel):
    message_id: str
    sender: str
    subject_ref: str = Field(description="Your own file reference for the person.")
    category: str
    purpose: str
    payload: dict[str, Any] | list[Any]
    # The ground of this fetch, decided when it was made (as the ledger and the audit record
    # it): after a partial withdrawal that left the message covered, a newer consent version.
    legal_basis: str = Field(description="The legal basis this fetch released the message on.")
    consent_id: str | None = None
    consent_version: int | None = None
    policy_flow: str
    created_at: datetime
    expires_at: datetime


class MessageAcknowledged(BaseModel):
    message_id: str
    state: InboxState
    acknowledged_at: datetime
