"""ASGI middleware: security headers on every response, a cap on request bodies, a body deadline.

Pages get a strict Content-Security-Policy (RELIABILITY #32): nothing loads
but our own stylesheet, forms post only to us, no framing, no plugins, no
``<base>``. The staff console (``/admin``) gets :data:`ADMIN_CSP`: its own
scripts (the vendored htmx), styles and frames, still nothing inline. A route
that needs another policy (the archive, which shows email HTML) sets its own
``Content-Security-Policy`` header and this one stays away.
"""

from __future__ import annotations

import asyncio
import html
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsletter import wording

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
ADMIN_PREFIX = "/admin"
ADMIN_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'"
)


def is_admin_path(path: str) -> bool:
    """True for ``/admin`` and everything under it."""
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


_FIXED = [
    (b"x-content-type-options", b"nosniff"),
    # Confirm and unsubscribe URLs carry tokens: never leak them to other sites.
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]


class SecurityHeaders:
    """Adds CSP, nosniff, referrer and framing headers unless the response set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        policy = ADMIN_CSP if is_admin_path(scope.get("path", "")) else PAGE_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = list(_FIXED)
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", policy.encode()))
                    extra.append((b"x-frame-options", b"DENY"))
                headers += [(n, v) for n, v in extra if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Exception):
    """The request body is over the configured cap (``limit`` bytes)."""

    def __init__(self, limit: int = 0) -> None:
        super().__init__(limit)
        self.limit = limit

    @property
    def message(self) -> str:
        """What the error page says: the request is too large, and the cap."""
        if not self.limit:
            return "the request is too large"
        return f"the request is too large: this address accepts at most {wording.size(self.limit)}"


class BodyTooSlow(Exception):
    """The request body did not arrive whole within the configured time."""


class BodyDeadline:
    """Refuses a body that has not arrived whole ``seconds`` after the request began.

    A client that trickles its body (slow-loris) would otherwise hold a request
    open for as long as it likes; uvicorn has no such limit of its own. It is
    ASGI middleware, so ``serve`` and ``run`` both get it.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        done = False

        async def timed_receive() -> Message:
            nonlocal done
            if done:  # after the body only the disconnect is left to wait for: no limit
                return await receive()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise BodyTooSlow
            try:
                async with asyncio.timeout(remaining):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        await self.app(scope, timed_receive, send)


class BodyLimit:
    """Refuses bodies over ``max_bytes``: at once by Content-Length, else while reading.

    The console (``/admin``) has its own, larger cap, ``admin_max_bytes``: staff
    paste whole articles there. ``prefixes`` give other paths their own cap
    (provider webhooks: a batch of events is larger than a form).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, admin_max_bytes: int | None = None,
                 prefixes: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.admin_max_bytes = admin_max_bytes or max_bytes
        self.prefixes = prefixes or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = next((size for prefix, size in self.prefixes.items() if path.startswith(prefix)),
                     self.admin_max_bytes if is_admin_path(path) else self.max_bytes)
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, headers, limit, path)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)


API_PREFIX = "/api/"  # the REST API answers every error as an RFC 9457 problem


async def _refuse(send: Send, headers: dict[bytes, bytes], limit: int, path: str) -> None:
    as_json = b"json" in headers.get(b"content-type", b"") or b"json" in headers.get(
        b"accept", b""
    )
    message = BodyTooLarge(limit).message
    # A console form (a CSV upload) gets a way back to the page that holds it.
    back = (f'<p><a href="{html.escape(path)}">Back to the form</a></p>'
            if is_admin_path(path) else "")
    body = (
        json.dumps({"error": message}).encode()
        if as_json
        else (f"<!doctype html><title>Too large</title><h1>Too large</h1>"
              f"<p>{html.escape(message[:1].upper() + message[1:])}.</p>{back}").encode()
    )
    kind = b"application/json" if as_json else b"text/html; charset=utf-8"
    if path.startswith(API_PREFIX):
        body = json.dumps({"type": "/api/problems/too-large", "title": "Request body too large",
                           "status": 413, "detail": "The request body is too large.",
                           "instance": path}).encode()
        kind = b"application/problem+json"
    await send({
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", kind),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    })
    await send({"type": "http.response.body", "body": body})
