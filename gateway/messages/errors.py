"""Problem types of messages."""

from __future__ import annotations

from typing import ClassVar

from gateway.errors import GatewayError, ProblemType, problem_type

MESSAGE_NOT_FOUND = problem_type(
    "message-not-found", "Message not found", 404, "No message with this id in your inbox."
)
MESSAGE_GONE = problem_type(
    "message-gone",
    "Message gone",
    410,
    "The message's payload is no longer held: `reason` says whether it was acknowledged, "
    "expired, or withheld because its consent or grant no longer holds.",
)
MESSAGE_UNREADABLE = problem_type(
    "message-unreadable",
    "Message unreadable",
    500,
    "The stored message does not decrypt with its key and metadata; nothing was delivered.",
)


class MessageNotFound(GatewayError):
    kind: ClassVar[ProblemType] = MESSAGE_NOT_FOUND


class MessageGone(GatewayError):
    kind: ClassVar[ProblemType] = MESSAGE_GONE


class MessageUnreadable(GatewayError):
    kind: ClassVar[ProblemType] = MESSAGE_UNREADABLE
