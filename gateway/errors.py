"""One exception hierarchy and its rendering as RFC 9457 problem details.

Every error the gateway answers with is ``application/problem+json`` with a stable ``type``.
The types are relative URIs (``/problems/<slug>``) that the gateway itself documents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

if TYPE_CHECKING:
    from gateway.audit.events import AuditEvent

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    title: str
    status: int
    description: str

    @property
    def uri(self) -> str:
        return PROBLEM_BASE + self.slug


PROBLEM_TYPES: dict[str, ProblemType] = {}


def problem_type(slug: str, title: str, status: int, description: str) -> ProblemType:
    kind = ProblemType(slug, title, status, description)
    PROBLEM_TYPES[slug] = kind
    return kind


NOT_FOUND = problem_type("not-found", "Not found", 404, "No resource at this address.")
METHOD_NOT_ALLOWED = problem_type(
    "method-not-allowed", "Method not allowed", 405, "This address does not accept the method."
)
INVALID_REQUEST = problem_type(
    "invalid-request",
    "Invalid request",
    422,
    "The request's parameters or body do not match what the endpoint accepts; "
    "`errors` lists each problem with its location.",
)
MALFORMED_REQUEST = problem_type(
    "malformed-request", "Malformed request", 400, "The request could not be read."
)
PAYLOAD_TOO_LARGE = problem_type(
    "payload-too-large", "Payload too large", 413, "The request body exceeds the size limit."
)
UNSUPPORTED_MEDIA_TYPE = problem_type(
    "unsupported-media-type",
    "Unsupported media type",
    415,
    "The body's media type is not accepted.",
)
INTERNAL_ERROR = problem_type(
    "internal-error",
    "Internal error",
    500,
    "The gateway failed unexpectedly. Nothing was released; quote the request id when reporting.",
)
NOT_READY = problem_type(
    "not-ready", "Not ready", 503, "The gateway cannot serve yet (database or keys unavailable)."
)
DATABASE_UNAVAILABLE = problem_type(
    "database-unavailable",
    "Database unavailable",
    503,
    "The gateway cannot reach its database, or the database takes no writes (read-only, disk "
    "full). Nothing was released; try again after the `Retry-After` seconds. Only if the "
    "connection broke while a change was being committed may that change have been recorded: "
    "look before making it again.",
)
# Seconds a client is asked to wait before trying again when the database is unavailable:
# long enough not to hammer a recovering server, short enough to notice it is back.
DATABASE_RETRY_AFTER = 5


class ProblemDetail(BaseModel):
    """RFC 9457 problem details, as every error response of the gateway carries them."""

    type: str = Field(description="A stable URI reference naming the kind of problem.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    reason: str | None = Field(default=None, description="Machine-readable reason of a denial.")
    errors: list[dict[str, str]] | None = Field(
        default=None, description="Each validation problem: `path` and `message`."
    )


class GatewayError(Exception):
    """Base of every error the gateway answers deliberately.

    ``audited``: a refusal that belongs in the audit log. The request's transaction is rolled
    back (nothing it did stays), and the session dependency then records this event in a
    transaction of its own before the answer goes out (``gateway.db.session``)."""

    kind: ClassVar[ProblemType] = INTERNAL_ERROR

    def __init__(
        self,
        detail: str | None = None,
        *,
        reason: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        audited: AuditEvent | None = None,
    ):
        super().__init__(detail or self.kind.title)
        self.detail = detail
        self.reason = reason
        self.errors = errors
        self.headers = dict(headers or {})
        self.audited = audited


class NotFound(GatewayError):
    kind = NOT_FOUND


class InvalidRequest(GatewayError):
    kind = INVALID_REQUEST


class PayloadTooLarge(GatewayError):
    kind = PAYLOAD_TOO_LARGE


class NotReady(GatewayError):
    kind = NOT_READY


class DatabaseUnavailable(GatewayError):
    """The database is out of reach or takes no writes (see ``gateway.db.faults``).

    ``database`` (its URL, the password hidden) and ``cause`` (fixed words) are for the
    operator's command line; an HTTP answer carries neither."""

    kind = DATABASE_UNAVAILABLE

    def __init__(self, *, database: str = "", cause: str = "is unavailable") -> None:
        super().__init__(headers={"Retry-After": str(DATABASE_RETRY_AFTER)})
        self.database = database
        self.cause = cause


def problem_response(
    kind: ProblemType,
    request: Request | None,
    *,
    detail: str | None = None,
    reason: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": kind.uri, "title": kind.title, "status": kind.status}
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    if reason:
        body["reason"] = reason
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(
        body, status_code=kind.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def problem_responses(
    *kinds: ProblemType, validation: bool = True, database: bool = True
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for a route's error answers (500 always, 422 by default, and
    503 database-unavailable unless the route does without the database)."""
    responses: dict[int | str, dict[str, Any]] = {}
    standard: tuple[ProblemType, ...] = (INTERNAL_ERROR,)
    if validation:
        standard = (INVALID_REQUEST, *standard)
    if database:
        standard += (DATABASE_UNAVAILABLE,)
    for kind in (*kinds, *standard):
        entry = responses.setdefault(
            kind.status,
            {
                "description": kind.title,
                "content": {
                    PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}
                },
            },
        )
        if kind.title not in entry["description"]:
            entry["description"] += f"; {kind.title}"
    return responses


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return "/" + "/".join(str(part) for part in loc)


# The people's pages answer their errors as pages; this renders one, or says None for the API.
PageErrors = Callable[[Request, ProblemType], Response | None]


def _page_error(request: Request, kind: ProblemType) -> Response | None:
    pages: PageErrors | None = getattr(request.app.state, "page_errors", None)
    return pages(request, kind) if pages is not None else None


async def _gateway_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, GatewayError)
    if (page := _page_error(request, error.kind)) is not None:
        page.headers.update(error.headers)  # Retry-After, say: browsers and proxies read it too
        return page
    return problem_response(
        error.kind,
        request,
        detail=error.detail,
        reason=error.reason,
        errors=error.errors,
        headers=error.headers,
    )


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    if (page := _page_error(request, INVALID_REQUEST)) is not None:
        return page
    # Messages only, never the offending input: it may be personal data.
    errors = [
        {"path": _location(item.get("loc", ())), "message": str(item.get("msg", "invalid"))}
        for item in error.errors()
    ]
    return problem_response(INVALID_REQUEST, request, errors=errors)


_HTTP_KINDS = {
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    413: PAYLOAD_TOO_LARGE,
    400: MALFORMED_REQUEST,
    415: UNSUPPORTED_MEDIA_TYPE,
}


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    kind = _HTTP_KINDS.get(error.status_code)
    if kind is None:
        phrase = HTTPStatus(error.status_code).phrase
        slug = phrase.lower().replace(" ", "-").replace("'", "")
        kind = ProblemType(slug, phrase, error.status_code, phrase)
    if (page := _page_error(request, kind)) is not None:
        return page
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(kind, request, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path takes: Starlette's 405 names only those of the
    first route that matched the path (POST for /v1/consents, which also has a GET). Asked
    of the routes themselves, as the router asks them."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _takes(route: BaseRoute, request: Request, method: str) -> bool:
    return route.matches({**request.scope, "method": method})[0] is Match.FULL


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Unexpected exceptions are answered by the request envelope (observability.middleware),
    # which sits inside Starlette's error middleware and so can attach the request id.
