"""CORS for the signup form's script: only allowed origins, read at run time, never credentials.

Starlette's :class:`CORSMiddleware` with its origin check replaced: an origin
is allowed when :meth:`AllowedOrigins.allowed` holds it, the union of the
``allowed_origins`` setting and the origins staff added in the console
(RELIABILITY #31). The set is cached for a few seconds; when it is stale and a
request carries an ``Origin``, it is read again in a worker thread first, so
the event loop never waits on the database.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from newsletter.audience.origins import AllowedOrigins


class EmbedCORS(CORSMiddleware):
    """CORSMiddleware whose allowed origins are ``origins.allowed()`` at the time of the request."""

    def __init__(self, app: ASGIApp, *, origins: AllowedOrigins, allow_methods: list[str],
                 allow_headers: list[str], max_age: int) -> None:
        super().__init__(app, allow_origins=(), allow_methods=allow_methods,
                         allow_headers=allow_headers, allow_credentials=False, max_age=max_age)
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and self.origins.is_stale()
                and Headers(scope=scope).get("origin")):
            await run_in_threadpool(self.origins.refresh)
        await super().__call__(scope, receive, send)

    def is_allowed_origin(self, origin: str) -> bool:
        """True for an origin in the allowed set (compared in lowercase, as browsers send it)."""
        return origin.lower() in self.origins.allowed()
