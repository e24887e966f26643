"""Problem types of the consent registry."""

from __future__ import annotations

from typing import ClassVar

from gateway.errors import GatewayError, ProblemType, problem_type

CONSENT_NOT_FOUND = problem_type(
    "consent-not-found",
    "Consent not found",
    404,
    "No consent with this id that the calling agency is a party to.",
)
REFERENCE_CONFLICT = problem_type(
    "reference-conflict",
    "References conflict",
    409,
    "The references given do not fit together with the persons the gateway knows (they name "
    "different persons, or yours differs from the one you gave before). Nothing was recorded.",
)
CONSENT_GIVER_MISSING = problem_type(
    "consent-giver-missing",
    "Consent giver missing",
    422,
    "Someone who must give this consent is not among `given_by`, so nothing was recorded. "
    "`reason` names the rule: `guardian_required` (the person is under 15, § 36 SGB I: a "
    "`legal_guardian` or `custodian` must be among `given_by`) or `confiding_person_required` "
    "(a grant covers data the policy marks as confided to the youth welfare office, § 65 SGB "
    "VIII: the `confiding_person` must be among `given_by`); `errors` points at each problem.",
)
CONSENT_NOT_ACTIVE = problem_type(
    "consent-not-active",
    "Consent not active",
    409,
    "The consent is withdrawn, superseded or expired and cannot change any more.",
)
NOTICE_NOT_FOUND = problem_type(
    "notice-not-found", "Notice not found", 404, "No withdrawal notice with this id for you."
)
NOTICE_ANSWERED = problem_type(
    "notice-answered",
    "Notice already answered",
    409,
    "This notice was acknowledged before with a different answer.",
)
UNKNOWN_REFERENCE = problem_type(
    "unknown-reference",
    "Unknown reference",
    404,
    "The gateway knows no person under this reference of the calling agency.",
)


class ConsentNotFound(GatewayError):
    kind: ClassVar[ProblemType] = CONSENT_NOT_FOUND


class ReferenceConflict(GatewayError):
    kind: ClassVar[ProblemType] = REFERENCE_CONFLICT


class ConsentGiverMissing(GatewayError):
    kind: ClassVar[ProblemType] = CONSENT_GIVER_MISSING


class ConsentNotActive(GatewayError):
    kind: ClassVar[ProblemType] = CONSENT_NOT_ACTIVE


class UnknownReference(GatewayError):
    kind: ClassVar[ProblemType] = UNKNOWN_REFERENCE


class NoticeNotFound(GatewayError):
    kind: ClassVar[ProblemType] = NOTICE_NOT_FOUND


class NoticeAnswered(GatewayError):
    kind: ClassVar[ProblemType] = NOTICE_ANSWERED
