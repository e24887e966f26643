"""Request and response shapes of the exchange API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from consent.vocabulary import Category, Purpose
from gateway.consents.models import AgencyId, Reference


class QueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: AgencyId
    subject_ref: Reference = Field(description="The requester's own file reference.")
    categories: list[Category] = Field(min_length=1, max_length=6)
    purpose: Purpose


class Basis(BaseModel):
    legal_basis: str = Field(examples=["consent", "statute: § 87 Abs. 1 AufenthG"])
    consent_id: str | None = None
    consent_version: int | None = None
    policy_flow: str


class QueryOut(BaseModel):
    exchange_id: str
    data: dict[str, Any] = Field(description="Each category, with only the fields released.")
    legal_basis: str
    consent_id: str | None = None
    bases: dict[str, Basis] = Field(description="Per category: what the release rests on.")
