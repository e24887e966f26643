"""Problem types of exchanges."""

from __future__ import annotations

from typing import ClassVar

from gateway.errors import GatewayError, ProblemType, problem_type

EXCHANGE_DENIED = problem_type(
    "exchange-denied",
    "Exchange denied",
    403,
    "No policy flow and legal basis cover this exchange now; `reason` says why.",
)
PROVIDER_FAILED = problem_type(
    "provider-failed",
    "Provider failed",
    502,
    "The providing agency's system did not answer usefully; nothing was passed on.",
)
PROVIDER_TIMEOUT = problem_type(
    "provider-timeout",
    "Provider timed out",
    504,
    "The providing agency's system did not answer in time; nothing was passed on.",
)


class ExchangeDenied(GatewayError):
    kind: ClassVar[ProblemType] = EXCHANGE_DENIED


class ProviderFailed(GatewayError):
    kind: ClassVar[ProblemType] = PROVIDER_FAILED


class ProviderTimedOut(GatewayError):
    kind: ClassVar[ProblemType] = PROVIDER_TIMEOUT
