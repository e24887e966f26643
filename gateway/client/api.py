"""The gateway's HTTP API for agency systems: consents, queries, messages, notices, with typed
errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


class MessageGone(GatewayProblem):
    """410: the message's payload is no longer held; ``reason`` says why (``consent_withdrawn``
    and the other refusal reasons when it was withheld, ``message_acknowledged``,
    ``message_expired``)."""


class PayloadTooLarge(GatewayProblem):
    """413: the request body or the message's payload is larger than the gateway accepts."""


_BY_STATUS: dict[int, type[GatewayProblem]] = {
    403: ExchangeDenied,
    404: NotFound,
    410: MessageGone,
    413: PayloadTooLarge,
    422: InvalidRequest,
    502: ProviderFailed,
    504: ProviderFailed,
}


class GatewayClient:
    """Calls the gateway as one agency, with a token from ``tokens`` (refreshed as needed).

    Answers are the gateway's JSON as dicts; problems raise a ``GatewayProblem`` subclass.
    ``caseworker`` (a pseudonymous id) is sent as ``X-Caseworker`` and recorded in the audit.
    ``traceparent`` gives the W3C Trace Context of the caller's current trace (for example
    from OpenTelemetry's propagator), sent with each call: the gateway continues it to the
    provider's system and records its trace id in the audit entry.
    """

    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        *,
        caseworker: str | None = None,
        traceparent: Callable[[], str | None] | None = None,
    ):
        self._tokens = tokens
        self._caseworker = caseworker
        self._traceparent = traceparent
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

    def emergency_query(
        self,
        provider: str,
        subject_ref: str,
        categories: list[str],
        purpose: str,
        *,
        reason: str,
        case_number: str,
        text: str,
    ) -> dict[str, Any]:
        """Ask for data in a child-protection emergency, without consent (§ 8a SGB VIII).

        Only for an agency registered for emergency access, with a ``TokenSource`` made with
        ``scope="exchange:emergency"`` (a token carries it only when asked for by name).
        ``reason`` is a code the policy's emergency flow lists, ``case_number`` your own case
        number, ``text`` why it cannot wait (stored sealed; a DPO reviews every use). The
        answer has ``emergency_window`` besides what ``query`` returns.
        """
        body = {
            "provider": provider,
            "subject_ref": subject_ref,
            "categories": categories,
            "purpose": purpose,
            "justification": {"reason": reason, "case_number": case_number, "text": text},
        }
        return self._call("POST", "/v1/exchanges/emergency", json=body)

    # -- messages ---------------------------------------------------------------------------

    def send_message(
        self,
        recipient: str,
        subject_ref: str,
        category: str,
        purpose: str,
        payload: dict[str, Any] | list[Any],
    ) -> str:
        """Send a message about a shared client to another agency; returns its ``message_id``.

        ``subject_ref`` is your own file reference; the recipient sees its own. The gateway
        decides it like a query (you are the provider of the data) and keeps only the fields
        the policy flow releases. Raises ``ExchangeDenied`` with a ``reason`` (``no_consent``,
        ``unknown_subject``, ``consent_withdrawn``, ...), ``InvalidRequest`` for a payload that
        does not match the category's schema, ``PayloadTooLarge``.
        """
        body = {
            "recipient": recipient,
            "subject_ref": subject_ref,
            "category": category,
            "purpose": purpose,
            "payload": payload,
        }
        return str(self._call("POST", "/v1/messages", json=body)["message_id"])

    def inbox(self, state: str = "pending", *, limit: int = 50) -> Iterator[dict[str, Any]]:
        """Your messages in ``state`` (``pending``, ``acknowledged``, ``withheld``,
        ``expired``), oldest first: summaries (``message_id``, ``sender``, ``subject_ref`` (your
        own reference), ``category``, ``purpose``, ``state``, ``reason``, ``created_at``,
        ``expires_at``, ``fetched``) without payloads.

        Follows ``next_cursor`` through every page, ``limit`` (1 to 200) messages a request,
        as you iterate; acknowledging messages meanwhile skips none.
        """
        params: dict[str, Any] = {"state": state, "limit": limit}
        while True:
            page = self._call("GET", "/v1/messages", params=params)
            yield from page["messages"]
            if not page.get("next_cursor"):
                return
            params["cursor"] = page["next_cursor"]

    def fetch_message(self, message_id: str) -> dict[str, Any]:
        """The message with its ``payload``, ``subject_ref`` being your own reference.

        Fetch it as often as you need until you acknowledge it (at-least-once delivery). Raises
        ``MessageGone`` (``reason``: ``message_acknowledged``, ``message_expired``, or why it
        was withheld, e.g. ``consent_withdrawn``) and ``NotFound``.
        """
        return self._call("GET", f"/v1/messages/{message_id}")

    def ack_message(self, message_id: str) -> dict[str, Any]:
        """Acknowledge a message once it is safely stored on your side: the gateway deletes
        its payload. Answers ``{message_id, state, acknowledged_at}``, the same when repeated.
        Raises ``MessageGone`` when it was withheld or expired first, and ``NotFound``."""
        return self._call("POST", f"/v1/messages/{message_id}/ack")

    # -- withdrawal notices -------------------------------------------------------------------

    def notices(self, *, include_answered: bool = False) -> list[dict[str, Any]]:
        state = "all" if include_answered else "open"
        return list(self._call("GET", "/v1/notices", params={"state": state})["notices"])

    def acknowledge(
        self, notice_id: str, outcome: str, legal_reason: str | None = None
    ) -> dict[str, Any]:
        body = {"outcome": outcome, "legal_reason": legal_reason}
        return self._call("POST", f"/v1/notices/{notice_id}/ack", json=body)

    def rectifications(self, *, include_answered: bool = False) -> list[dict[str, Any]]:
        """Rectification notices: information this agency provided that the person says is
        wrong, each with this agency's own reference and the person's text (while open)."""
        state = "all" if include_answered else "open"
        answer = self._call("GET", "/v1/rectifications", params={"state": state})
        return list(answer["rectifications"])

    def acknowledge_rectification(
        self, rectification_id: str, outcome: str, reason: str | None = None
    ) -> dict[str, Any]:
        """``outcome`` is ``corrected``, or ``not_corrected`` with the ``reason`` the person is
        shown."""
        body = {"outcome": outcome} | ({"reason": reason} if reason is not None else {})
        return self._call("POST", f"/v1/rectifications/{rectification_id}/ack", json=body)

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
        if self._traceparent is not None and (traceparent := self._traceparent()):
            headers["traceparent"] = traceparent
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
