"""HTTP routes of the policy set (scope policy:read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from gateway.auth.dependencies import INSUFFICIENT_SCOPE, INVALID_TOKEN, Principal, require_scope
from gateway.auth.scopes import Scope
from gateway.errors import problem_responses
from gateway.policy import service
from gateway.policy.models import ExplainIn, Explanation, PolicySetOut, RecordsOfProcessing
from gateway.runtime import RuntimeDep

router = APIRouter(tags=["policies"])
Reader = Annotated[Principal, Depends(require_scope(Scope.POLICY_READ))]
_AUTH = problem_responses(INVALID_TOKEN, INSUFFICIENT_SCOPE)


@router.get(
    "/v1/policies",
    summary="The active policy set and its digest",
    response_model=PolicySetOut,
    responses=_AUTH,
)
def list_policies(reader: Reader, runtime: RuntimeDep) -> PolicySetOut:
    return service.policy_set(runtime.policies)


@router.post(
    "/v1/policies/explain",
    summary="Would this flow be allowed, on what basis, releasing which fields",
    response_model=Explanation,
    responses=_AUTH,
)
def explain_policy(question: ExplainIn, reader: Reader, runtime: RuntimeDep) -> Explanation:
    return service.explain(runtime.policies, question)


@router.get(
    "/v1/records-of-processing",
    summary="The flows as a record of processing activities",
    response_model=RecordsOfProcessing,
    responses=_AUTH,
)
def records_of_processing(reader: Reader, runtime: RuntimeDep) -> RecordsOfProcessing:
    return service.records_of_processing(runtime.policies)
