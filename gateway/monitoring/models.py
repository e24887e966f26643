"""Response shapes of the indicators API: tidy rows (one figure each) that a page can chart as
they come, e.g. a line per municipality over the months of one indicator."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class IndicatorOut(BaseModel):
    name: str
    title: str
    unit: str = Field(description="What a value counts: consents, persons, days, a share, ...")
    dimensions: list[str] = Field(
        description="The figure fields it is broken down by, besides month and municipality."
    )


class MonthOut(BaseModel):
    month: str
    status: Literal["published", "pending"] = Field(
        description="pending: not computed yet (the month is not over, or not reached yet)."
    )
    threshold: int | None = Field(
        default=None, description="The fewest persons any published figure of it stands for."
    )
    computed_at: datetime | None = None


class FigureOut(BaseModel):
    """One number. A dimension that is null is summed over (municipality null: all of them),
    or does not apply to the indicator."""

    month: str
    indicator: str
    municipality: str | None
    agency_kind: str | None = None
    flow: str | None = None
    category: str | None = None
    reason: str | None = None
    min_kinds: int | None = None
    value: int | float | None = Field(description="null unless status is published.")
    status: Literal["published", "suppressed", "empty"] = Field(
        description="suppressed: withheld by disclosure control; empty: a median or share of "
        "nobody."
    )


class IndicatorsOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    first: str = Field(alias="from")
    last: str = Field(alias="to")
    municipality: str | None
    indicators: list[IndicatorOut]
    months: list[MonthOut]
    figures: list[FigureOut]
