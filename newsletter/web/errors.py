"""Exception handlers: every NewsletterError becomes a friendly page or a JSON 4xx/503.

No handler ever shows a stack trace or an internal message: unexpected errors
are logged once and answered with a generic 500. That answer comes from
:class:`CrashGuard`, a middleware inside the security headers, not from
Starlette's outermost error middleware, so a 500 carries the same CSP and
framing rules as every other page (and the CORS headers an embedded form needs
to read it). A client that hangs up mid-body is not a crash: one info line.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from newsletter.app import App
from newsletter.audience.signup import ConfirmRefused
from newsletter.audience.tokens import TokenError
from newsletter.errors import DatabaseError, NotFoundError, SubscriptionError
from newsletter.web.forms import FormError, wants_json
from newsletter.web.pages import page_response
from newsletter.web.security import BodyTooLarge, BodyTooSlow

log = logging.getLogger("newsletter.web")
RETRY_AFTER_BUSY = "5"
_HEADINGS = {
    400: "That did not work",
    404: "Not found",
    405: "Not allowed",
    408: "Too slow",
    413: "Too large",
    415: "Unsupported form",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Busy right now",
}


def error_response(
    app: App,
    request: Request,
    status: int,
    message: str,
    *,
    heading: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A JSON ``{"error": ...}`` or an error page, as the client prefers."""
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status, headers=dict(headers or {}))
    back_url, back_label = _way_back(app, request)
    context = {
        "heading": heading or _HEADINGS.get(status, "That did not work"),
        "paragraphs": [_sentence(message)],
        "css_class": "error",
        "back_url": back_url,
        "back_label": back_label,
    }
    return page_response(app, "web/message.html", context, status_code=status, headers=headers)


def _way_back(app: App, request: Request) -> tuple[str, str]:
    """Where the error page's link leads: the page that holds the form, else our home page.

    The page a form was posted from is only trusted when it is ours or one of
    allowed origins (a link, never a redirect, but still never a stranger's).
    """
    home = app.settings.base_url + "/"
    if request.url.path != "/subscribe":
        return home, "Go to the home page"
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    origin = f"{parts.scheme}://{parts.netloc}"
    base = urlsplit(app.settings.base_url)
    trusted = {f"{base.scheme}://{base.netloc}".lower(), *app.origins.allowed()}
    if parts.scheme in ("http", "https") and origin.lower() in trusted:
        return referer, "Back to the form"
    return home, "Back to the signup form"


def _sentence(message: str) -> str:
    text = message.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def install_error_handlers(web: FastAPI, app: App) -> None:
    """Register the handlers on ``web``."""

    async def on_token(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TokenError | ConfirmRefused)
        heading = "This link has expired" if exc.expired else "This link does not work"
        advice = (
            " Sign up again with the form to get a fresh link."
            if exc.expired
            else " Copy the whole link from the email, or sign up again with the form."
        )
        return error_response(app, request, 400, str(exc) + "." + advice, heading=heading)

    async def on_subscription(request: Request, exc: Exception) -> Response:
        return error_response(app, request, 400, str(exc))

    async def on_not_found(request: Request, exc: Exception) -> Response:
        return error_response(app, request, 404, str(exc))

    async def on_database(request: Request, exc: Exception) -> Response:
        log.warning("database unavailable: %s", exc.__cause__ or exc)
        return error_response(
            app, request, 503, "we are busy right now; please try again in a few seconds",
            headers={"Retry-After": RETRY_AFTER_BUSY},
        )

    async def on_form(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FormError)
        return error_response(app, request, exc.status, exc.message)

    async def on_too_large(request: Request, exc: Exception) -> Response:
        message = exc.message if isinstance(exc, BodyTooLarge) else "the request is too large"
        return error_response(app, request, 413, message)

    async def on_too_slow(request: Request, exc: Exception) -> Response:
        # Close the connection: the rest of the body may still be trickling in.
        return error_response(app, request, 408, "the request body arrived too slowly",
                              headers={"Connection": "close"})

    async def on_disconnect(request: Request, exc: Exception) -> Response:
        log.info("client went away during %s %s", request.method, request.url.path)
        return Response(status_code=400)  # nobody is left to read it

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404 and (moved := _without_slash(web, request)) is not None:
            return RedirectResponse(app.settings.base_url + moved, status_code=307)
        messages = {404: "there is no page at this address", 405: "this address does not "
                    "accept that method"}
        message = messages.get(exc.status_code, "the request could not be handled")
        return error_response(app, request, exc.status_code, message, headers=exc.headers)

    async def on_validation(request: Request, exc: Exception) -> Response:
        return error_response(app, request, 400, "the request is missing a field or has a bad one")

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(app, request, 500, "something went wrong on our side")

    web.add_exception_handler(TokenError, on_token)
    web.add_exception_handler(ConfirmRefused, on_token)
    web.add_exception_handler(SubscriptionError, on_subscription)
    web.add_exception_handler(NotFoundError, on_not_found)
    web.add_exception_handler(DatabaseError, on_database)
    web.add_exception_handler(FormError, on_form)
    web.add_exception_handler(BodyTooLarge, on_too_large)
    web.add_exception_handler(BodyTooSlow, on_too_slow)
    web.add_exception_handler(ClientDisconnect, on_disconnect)
    web.add_exception_handler(HTTPException, on_http)
    web.add_exception_handler(RequestValidationError, on_validation)
    # Not add_exception_handler(Exception, ...): that one runs outside every middleware.
    web.add_middleware(CrashGuard, on_crash=on_crash)


def _without_slash(web: FastAPI, request: Request) -> str | None:
    """``/archive/x`` for ``/archive/x/`` when that is a page (with the query kept), else None.

    Starlette's own slash redirect builds its Location from the Host header, which
    a client chooses; ours starts from ``base_url`` (see ``on_http``).
    """
    path = request.url.path
    if len(path) < 2 or not path.endswith("/"):
        return None
    stripped = path.rstrip("/") or "/"
    scope = {**request.scope, "path": stripped}
    if not any(route.matches(scope)[0] is Match.FULL for route in web.router.routes):
        return None
    return stripped + (f"?{request.url.query}" if request.url.query else "")


class CrashGuard:
    """Answers an unexpected exception with the generic 500 from ``on_crash``.

    Installed inside the security-header and CORS middleware, so the 500 gets
    their headers. The exception is logged once (by ``on_crash``) and not
    re-raised, so uvicorn does not log a second traceback.
    """

    def __init__(
        self, app: ASGIApp, on_crash: Callable[[Request, Exception], Awaitable[Response]]
    ) -> None:
        self.app = app
        self.on_crash = on_crash

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:
            request = Request(scope, receive)
            response = await self.on_crash(request, exc)
            if not started:  # else half a response is out: uvicorn closes the connection
                await response(scope, receive, send)
