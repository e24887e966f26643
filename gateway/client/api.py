"""The gateway's HTTP API for agency systems: consents, queries, notices, with typed errors."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.client.auth import TokenSource


class GatewayProblem(Exception):
    """An RFC 9457 problem the gateway answered with."""

    def __init__(self, status: int, problem: dict[str, Any]):
        self.status = status
        self.type = str(problem.get("type", ""))
        self.title = str(problem.get("title", ""))
        self.detail = problem.get("detail")
        self.reason: str | None = problem.get("reason")
        self.errors: list[dict[str, str]] = problem.get("errors") or []
        self.request_id = problem.get("request_id")
        super().__init__(f"{status} {self.title}" + (f" ({self.reason})" if self.reason else ""))


class ExchangeDenied(GatewayProblem):
    """403: no policy flow and legal basis cover the exchange; ``reason`` says why."""


class NotFound(GatewayProblem):
    """404: unknown, or not visible to this agency."""


class InvalidRequest(GatewayProblem):
    """422: the request does not hold together; ``errors`` lists each problem."""


class ProviderFailed(GatewayProblem):
    """502 or 504: the providing agency's system failed; nothing was passed on."""


_BY_STATUS: dict[int, type[GatewayProblem]] = {
    403: ExchangeDenied,
    404: NotFound,
    422: InvalidRequest,
    502: ProviderFailed,
    504: ProviderFailed,
}


class GatewayClient:
    """Calls the gateway as one agency, with a token from ``tokens`` (refreshed as needed)."""

    def __init__(self, base_url: str, tokens: TokenSource, *, caseworker: str | None = None):
        self._tokens = tokens
        self._caseworker = caseworker
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=30)

    def record_consent(self, consent: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/v1/consents", json=consent)

    def consents(self, subject_ref: str) -> list[dict[str, Any]]:
        found = self._call("GET", "/v1/consents", params={"subject_ref": subject_ref})
        return list(found["consents"])

    def withdraw(
        self, consent_id: str, channel: str, grants: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"channel": channel}
        if grants is not None:
            body["grants"] = grants
        return self._call("POST", f"/v1/consents/{consent_id}/withdraw", json=body)

    def query(
        self, provider: str, subject_ref: str, categories: list[str], purpose: str
    ) -> dict[str, Any]:
        body = {
            "provider": provider,
            "subject_ref": subject_ref,
            "categories": categories,
            "purpose": purpose,
        }
        return self._call("POST", "/v1/exchanges", json=body)

    def notices(self, *, include_answered: bool = False) -> list[dict[str, Any]]:
        state = "all" if include_answered else "open"
        return list(self._call("GET", "/v1/notices", params={"state": state})["notices"])

    def acknowledge(
        self, notice_id: str, outcome: str, legal_reason: str | None = None
    ) -> dict[str, Any]:
        body = {"outcome": outcome, "legal_reason": legal_reason}
        return self._call("POST", f"/v1/notices/{notice_id}/ack", json=body)

    def close(self) -> None:
        self._http.close()
        self._tokens.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._tokens.token()}"}
        if self._caseworker:
            headers["X-Caseworker"] = self._caseworker
        response = self._http.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": response.reason_phrase}
            raise _BY_STATUS.get(response.status_code, GatewayProblem)(
                response.status_code, problem
            )
        answer: dict[str, Any] = response.json()
        return answer
