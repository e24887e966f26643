"""Request and response shapes of rectification notices."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gateway.rectifications.tables import Outcome
from gateway.texts import PLAIN_TEXT

TEXT_LIMIT = 500  # characters of the person's text, and of a provider's reason


class RectificationOut(BaseModel):
    rectification_id: str
    subject_ref: str | None = Field(
        description="Your own file reference for the person (null if you no longer have one)."
    )
    category: str = Field(description="The information the person says is wrong.")
    recipient: str = Field(description="The agency you released it to, in the release flagged.")
    released_at: datetime = Field(description="When that release was.")
    flagged_at: datetime = Field(description="When the person flagged it as wrong.")
    text: str | None = Field(
        description="What the person wrote (plain text, at most 500 characters; null when they "
        "wrote nothing, and once the notice is answered: it is deleted then)."
    )
    answered_at: datetime | None = None
    outcome: Outcome | None = None
    reason: str | None = None


class RectificationList(BaseModel):
    rectifications: list[RectificationOut]


class RectificationAck(BaseModel):
    # The rule the service holds (not corrected needs a reason), stated in the document too.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "if": {"properties": {"outcome": {"const": "not_corrected"}}, "required": ["outcome"]},
            "then": {"required": ["reason"], "properties": {"reason": {"type": "string"}}},
        },
    )

    outcome: Outcome = Field(
        description="`corrected`: the information is corrected in your records; "
        "`not_corrected`: it stays as it is, and `reason` says why (the person is shown it)."
    )
    reason: (
        Annotated[str, StringConstraints(min_length=3, max_length=TEXT_LIMIT, pattern=PLAIN_TEXT)]
        | None
    ) = Field(
        default=None,
        description="Required when not corrected: why, in words the person can understand.",
    )
