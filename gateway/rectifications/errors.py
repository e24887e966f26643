"""Problem types of rectification notices."""

from __future__ import annotations

from typing import ClassVar

from gateway.errors import GatewayError, ProblemType, problem_type

RECTIFICATION_NOT_FOUND = problem_type(
    "rectification-not-found",
    "Rectification notice not found",
    404,
    "No rectification notice with this id addressed to you.",
)
RECTIFICATION_ANSWERED = problem_type(
    "rectification-answered",
    "Rectification notice already answered",
    409,
    "This rectification notice was answered before with a different answer.",
)


class RectificationNotFound(GatewayError):
    kind: ClassVar[ProblemType] = RECTIFICATION_NOT_FOUND


class RectificationAnswered(GatewayError):
    kind: ClassVar[ProblemType] = RECTIFICATION_ANSWERED


RELEASE_NOT_FOUND = problem_type(
    "release-not-found",
    "Release not found",
    404,
    "No information passed on about you under this id.",
)


class ReleaseNotFound(GatewayError):
    kind: ClassVar[ProblemType] = RELEASE_NOT_FOUND
