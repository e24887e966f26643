"""Problem types of queries (a refusal is the release core's: ``gateway.release.errors``)."""

from __future__ import annotations

from typing import ClassVar

from gateway.errors import GatewayError, ProblemType, problem_type

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


class ProviderFailed(GatewayError):
    kind: ClassVar[ProblemType] = PROVIDER_FAILED


class ProviderTimedOut(GatewayError):
    kind: ClassVar[ProblemType] = PROVIDER_TIMEOUT
