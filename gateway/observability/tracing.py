"""W3C Trace Context (https://www.w3.org/TR/trace-context/) across agency systems.

An agency system may send ``traceparent`` with its call; the gateway continues that trace: the
trace id goes into the request's log line and its audit entries, and the call to the provider's
system carries the same trace id with the gateway's own span id. So an agency's support desk,
the gateway's DPO and the provider's operators can follow one case across their systems by one
id that says nothing about the person (the Dutch municipal logging standard "Logboek
Dataverwerkingen" works the same way). A call without a valid ``traceparent`` starts a trace of
its own, as the recommendation asks, so a provider can still tie its log to the gateway's audit.

``tracestate`` (and ``baggage``) are never passed on: they are free text of the caller's, and
the gateway passes nothing from one agency to another that a policy does not name.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

HEADER = "traceparent"
_HEADER = HEADER.encode()
# version-trace_id-parent_id-flags, lower-case hex only (§ 3.2.2). A later version may append
# fields after a dash; version ff is forbidden.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_SAMPLED = 0x01


@dataclass(frozen=True, slots=True)
class Trace:
    """The trace a request belongs to: the caller's, or one the gateway started for it."""

    trace_id: str  # 32 lower-case hex digits, never all zero
    sampled: bool = False  # the caller's sampling decision, passed on unchanged

    @classmethod
    def start(cls) -> Trace:
        return cls(secrets.token_hex(16))

    def outgoing(self) -> str:
        """``traceparent`` for a call the gateway makes in this trace: the same trace id, a
        new span id of the gateway's own, the caller's sampling flag."""
        return f"00-{self.trace_id}-{secrets.token_hex(8)}-{'01' if self.sampled else '00'}"


def parse(value: str) -> Trace | None:
    """The trace a ``traceparent`` value names, or None where the recommendation says to
    ignore it (malformed, version ff, a zero trace or parent id, extra fields in version 00)."""
    match = _TRACEPARENT.fullmatch(value)
    if match is None:
        return None
    version, trace_id, parent_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return Trace(trace_id, bool(int(flags, 16) & _SAMPLED))


def trace_of(headers: list[tuple[bytes, bytes]]) -> Trace:
    """The request's trace: the caller's ``traceparent`` if it sent exactly one valid header,
    otherwise a new trace (two headers are as invalid as a malformed one, § 3.2)."""
    values = [value for name, value in headers if name == _HEADER]
    found = parse(values[0].decode("latin-1")) if len(values) == 1 else None
    return found or Trace.start()


def _request_trace(
    request: Request,
    traceparent: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description="W3C Trace Context: the caller's trace, continued in the call to the "
            "provider's system and recorded (its trace id only) in the audit entry and the "
            "request log. An invalid value is ignored and a new trace started, as the "
            "recommendation says.",
            examples=["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
        ),
    ] = None,
) -> Trace:
    # The request envelope parsed the header for the log line already; the parameter is here
    # so the OpenAPI document declares it.
    trace: Trace | None = getattr(request.state, "trace", None)
    return trace if trace is not None else trace_of(request.headers.raw)


RequestTrace = Annotated[Trace, Depends(_request_trace)]
