"""Security headers. Every response says ``nosniff`` and sends no referrer; the pages (and
their static files) also carry a Content-Security-Policy that allows only this origin's
styles, images and forms, no script (but the portal's receipt: only this origin's script
files, never inline, for its print button ``/static/print.js``), and no framing."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
# The receipt may load this origin's script files (its print button) and nothing else: no
# inline script, no other origin. Every other page runs no script at all, so that a flaw that
# let markup in elsewhere could not load one.
RECEIPT_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "default-src 'none'; ", "default-src 'none'; script-src 'self'; "
)
PAGE_PREFIXES = ("/portal", "/dpo", "/static")
PERSONAL_PREFIXES = ("/portal", "/dpo")  # pages with personal data: never cached
_EVERYWHERE = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_PAGES = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
]
_RECEIPT = re.compile(r"/portal/consents/[^/]+/receipt")
_RECEIPT_PAGE = [
    (b"content-security-policy", RECEIPT_CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
]
_PERSONAL = [(b"cache-control", b"no-store")]


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        extra = list(_EVERYWHERE)
        if _RECEIPT.fullmatch(path):
            extra += _RECEIPT_PAGE
        elif path.startswith(PAGE_PREFIXES):
            extra += _PAGES
        if path.startswith(PERSONAL_PREFIXES):
            extra += _PERSONAL

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(name, value) for name, value in extra if name not in present]
                message["headers"] = list(message.get("headers", [])) + added
            await send(message)

        await self.app(scope, receive, with_headers)
