"""The FastAPI application: routers of every feature, error handling and the request envelope."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from gateway import __doc__ as description
from gateway.audit.log_routes import router as audit_log_router
from gateway.audit.publisher import Publisher
from gateway.audit.routes import router as audit_router
from gateway.audit.witnessing import Witnessing
from gateway.auth.models import TOKEN_REQUEST
from gateway.auth.routes import router as auth_router
from gateway.consents.openapi import state_shipped_forms
from gateway.consents.routes import forms_router, notices_router
from gateway.consents.routes import router as consents_router
from gateway.consents.service import sweep_expiries
from gateway.demo.providers import mount_demo_providers
from gateway.dpo.emergency_pages import router as dpo_emergency_router
from gateway.dpo.person_pages import router as dpo_person_router
from gateway.dpo.routes import router as dpo_router
from gateway.emergency.review import record_ended_deferrals
from gateway.emergency.routes import router as emergency_router
from gateway.errors import PROBLEM_MEDIA_TYPE, ProblemDetail, install_error_handlers
from gateway.exchange.routes import router as exchange_router
from gateway.keys.routes import router as keys_router
from gateway.lifecycle.chore import LifecycleChore
from gateway.lifecycle.periods import Periods
from gateway.messages import service as messages
from gateway.messages.openapi import state_payload_schemas
from gateway.messages.routes import router as messages_router
from gateway.meta.routes import router as meta_router
from gateway.monitoring.aggregation import aggregate_due
from gateway.monitoring.routes import router as monitoring_router
from gateway.observability.logging import configure_logging
from gateway.observability.middleware import RequestEnvelope
from gateway.policy.routes import router as policy_router
from gateway.portal.routes import router as portal_router
from gateway.rectifications.routes import router as rectifications_router
from gateway.runtime import Runtime
from gateway.schemas.routes import router as schemas_router
from gateway.settings import Settings
from gateway.web import sessions as page_sessions
from gateway.web.pages import STATIC, SignInRequired, page_errors, sign_in_required
from gateway.web.security import SecurityHeaders

API_VERSION = "1.0.0"


def _operation_id(route: APIRoute) -> str:
    """A route's operationId is its function's name (``record_consent``...): short, stable
    across releases (not built from its path and method), the method name a generated client
    gives it. ``tests/test_openapi.py`` holds them unique."""
    return route.name


def _witnessing(runtime: Runtime) -> Witnessing | None:
    """The thread that submits each checkpoint to the witnesses; None without witnesses."""
    settings = runtime.settings
    if not settings.witnesses:
        return None
    metrics = runtime.metrics
    witnessing = Witnessing(
        runtime.database,
        settings.witnesses,
        timeout=settings.witness_timeout,
        interval=settings.audit_checkpoint_interval or 5.0,
        on_failure=lambda name, reason: metrics.witness_failures.labels(name, reason).inc(),
    )
    witnessing.start()
    return witnessing


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    if runtime is None:
        runtime = Runtime.start(settings or Settings())
    owns_runtime = settings is not None or runtime is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = runtime.settings
        witnessing = _witnessing(runtime)
        app.state.witnessing = witnessing
        publisher = None
        if settings.audit_checkpoint_interval > 0:
            publisher = Publisher(
                runtime.audit,
                runtime.database,
                settings.audit_checkpoint_interval,
                settings.audit_retention_days,
                chores=[
                    lambda: sweep_expiries(runtime.database, runtime.audit),
                    lambda: messages.expire(runtime.database, runtime.audit),
                    lambda: page_sessions.sweep(runtime.database, runtime.settings),
                    lambda: record_ended_deferrals(
                        runtime.database, runtime.audit, datetime.now(UTC)
                    ),
                    lambda: aggregate_due(
                        runtime.database,
                        runtime.audit,
                        runtime.policies,
                        settings.monitoring_min_cell,
                    ),
                    LifecycleChore(
                        runtime.database,
                        runtime.audit,
                        Periods.of(settings, runtime.policies),
                        interval=settings.lifecycle_interval,
                        batch=settings.lifecycle_batch,
                        pause=settings.lifecycle_pause,
                    ),
                ],
                after_publish=witnessing.nudge if witnessing else None,
            )
            publisher.start()
        try:
            yield
        finally:
            try:
                await runtime.close_loop()
            finally:
                if publisher is not None:
                    publisher.stop()
                if witnessing is not None:
                    witnessing.stop()
                if owns_runtime:
                    runtime.close()

    app = FastAPI(
        title="Consent gateway",
        version=API_VERSION,
        description=(description or "").strip(),
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.runtime = runtime
    app.state.schemas = runtime.schemas
    install_error_handlers(app)
    # The busiest route first: routes are matched in this order, and the exchange route
    # behind all the others was ~30 µs of matching per query (~4 µs first).
    routers = (
        exchange_router,
        emergency_router,
        meta_router,
        auth_router,
        keys_router,
        consents_router,
        notices_router,
        rectifications_router,
        forms_router,
        policy_router,
        schemas_router,
        messages_router,
        audit_router,
        audit_log_router,
        monitoring_router,
        portal_router,
        dpo_router,
        dpo_person_router,
        dpo_emergency_router,
    )
    for router in routers:
        app.include_router(router)
    app.add_middleware(
        RequestEnvelope,
        max_body_bytes=runtime.settings.max_body_bytes,
        metrics=runtime.metrics,
    )
    app.add_middleware(SecurityHeaders)
    app.state.page_errors = page_errors
    app.add_exception_handler(SignInRequired, sign_in_required)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if runtime.settings.demo:
        mount_demo_providers(app, runtime)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """Factory for uvicorn (``--factory``): each worker builds its app from GATEWAY_* settings."""
    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with every error documented as RFC 9457 problem+json."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    # Named though no route's signature declares them: every error's body, the token form.
    schemas["ProblemDetail"] = ProblemDetail.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    schemas["TokenRequest"] = TOKEN_REQUEST
    problem = {
        "description": "Problem details (RFC 9457)",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}},
    }
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, response in list(responses.items()):
                if _is_fastapi_validation(response):
                    responses[status] = problem
            # Anything undeclared (405, 413, 500, ...) is a problem document too.
            responses.setdefault("default", problem)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    state_payload_schemas(document, app.state.schemas)
    state_shipped_forms(document)
    app.openapi_schema = document
    return document


def _is_fastapi_validation(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref", "").endswith("/HTTPValidationError")
