"""Problem types of the indicators API."""

from __future__ import annotations

from typing import ClassVar

from gateway.errors import GatewayError, ProblemType, problem_type

NOT_ACCEPTABLE = problem_type(
    "not-acceptable",
    "Not acceptable",
    406,
    "The indicators come as application/json or text/csv; the Accept header allows neither, "
    "or not the format the query asks for.",
)


class NotAcceptable(GatewayError):
    kind: ClassVar[ProblemType] = NOT_ACCEPTABLE
