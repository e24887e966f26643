"""The envelope around every request: request id, trace, body-size limit, access log and
metrics.

Written as plain ASGI middleware so it adds almost nothing to the hot path.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import INTERNAL_ERROR, PAYLOAD_TOO_LARGE, PROBLEM_MEDIA_TYPE, ProblemType
from gateway.observability.metrics import Metrics
from gateway.observability.tracing import trace_of

log = logging.getLogger("gateway.access")

REQUEST_ID_HEADER = "x-request-id"
# Only a UUID is taken from a client: the id goes into audit entries and every log line, and a
# freer form let agency systems build ids from a person's file reference (JC-4711-0001).
_ACCEPTABLE_REQUEST_ID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE
)


class BodyTooLarge(StarletteHTTPException):
    """Raised while the body is read; an HTTP exception so FastAPI's body parsing passes it on
    and the error handlers answer 413 problem+json."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


class RequestEnvelope:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        request_id = _request_id(scope)
        trace = trace_of(scope.get("headers", []))
        state = scope.setdefault("state", {})
        state["request_id"], state["trace"] = request_id, trace
        status_holder = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                await self._too_large(scope, send_with_id, request_id)
            else:
                await self.app(scope, self._limited(receive), send_with_id)
        except BodyTooLarge:
            if status_holder["started"]:
                raise
            await self._too_large(scope, send_with_id, request_id)
        except Exception:
            # The unexpected: logged here once (type and code locations only, see
            # observability.logging), answered as a 500 problem that carries the request id.
            log.error(
                "unhandled error",
                exc_info=True,
                extra={"request_id": request_id, "trace_id": trace.trace_id},
            )
            if status_holder["started"]:
                raise
            await self._problem(scope, send_with_id, request_id, INTERNAL_ERROR)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            status = int(status_holder["status"])
            self.metrics.observe(route, method, status, elapsed)
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "trace_id": trace.trace_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "client_id": scope["state"].get("client_id"),
                },
            )

    def _limited(self, receive: Receive) -> Receive:
        received = 0
        limit = self.max_body_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        return limited_receive

    async def _too_large(self, scope: Scope, send: Send, request_id: str) -> None:
        detail = f"The request body exceeds {self.max_body_bytes} bytes."
        await self._problem(scope, send, request_id, PAYLOAD_TOO_LARGE, detail)

    @staticmethod
    async def _problem(
        scope: Scope, send: Send, request_id: str, kind: ProblemType, detail: str | None = None
    ) -> None:
        problem = {"type": kind.uri, "title": kind.title, "status": kind.status}
        if detail:
            problem["detail"] = detail
        problem |= {"instance": scope["path"], "request_id": request_id}
        body = json.dumps(problem).encode()
        await send(
            {
                "type": "http.response.start",
                "status": kind.status,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            if _ACCEPTABLE_REQUEST_ID.fullmatch(candidate):
                return candidate.lower()
            break
    return str(uuid.uuid4())


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _route_template(scope: Scope) -> str:
    """The matched route's template; never the concrete path, which may carry identifiers."""
    route: Any = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return str(route.path)
    app = scope.get("app")
    router = getattr(app, "router", None)
    for candidate in getattr(router, "routes", []):
        match, _ = candidate.matches(scope)
        if match == Match.FULL:
            return str(getattr(candidate, "path", "unmatched"))
    return "unmatched"
