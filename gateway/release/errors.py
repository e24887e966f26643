"""Problem types of releases."""

from __future__ import annotations

from typing import ClassVar

from gateway.errors import GatewayError, ProblemType, problem_type

EXCHANGE_DENIED = problem_type(
    "exchange-denied",
    "Exchange denied",
    403,
    "No policy flow and legal basis cover this exchange or message now; `reason` says why.",
)


class ExchangeDenied(GatewayError):
    kind: ClassVar[ProblemType] = EXCHANGE_DENIED
