"""Exception handlers: every NewsletterError becomes a friendly page or a JSON 4xx/503.

No handler ever shows a stack trace or an internal message: unexpected errors
are logged and answered with a generic 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from newsletter.app import App
from newsletter.audience.signup import ConfirmRefused
from newsletter.audience.tokens import TokenError
from newsletter.errors import DatabaseError, NotFoundError, SubscriptionError
from newsletter.web.forms import FormError, wants_json
from newsletter.web.pages import page_response
from newsletter.web.security import BodyTooLarge

log = logging.getLogger("newsletter.web")
RETRY_AFTER_BUSY = "5"
_HEADINGS = {
    400: "That did not work",
    404: "Not found",
    405: "Not allowed",
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
    context = {
        "heading": heading or _HEADINGS.get(status, "That did not work"),
        "paragraphs": [_sentence(message)],
        "css_class": "error",
    }
    return page_response(app, "web/message.html", context, status_code=status, headers=headers)


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
        return error_response(app, request, 413, "the request is too large")

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        messages = {404: "there is no page at this address", 405: "this address does not "
                    "accept that method"}
        message = messages.get(exc.status_code, "the request could not be handled")
        return error_response(app, request, exc.status_code, message, headers=exc.headers)

    async def on_validation(request: Request, exc: Exception) -> Response:
        return error_response(app, request, 400, "the request is missing a field or has a bad one")

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(app, request, 500, "something went wrong on our side")

    web.add_exception_handler(TokenError, on_token)
    web.add_exception_handler(ConfirmRefused, on_token)
    web.add_exception_handler(SubscriptionError, on_subscription)
    web.add_exception_handler(NotFoundError, on_not_found)
    web.add_exception_handler(DatabaseError, on_database)
    web.add_exception_handler(FormError, on_form)
    web.add_exception_handler(BodyTooLarge, on_too_large)
    web.add_exception_handler(HTTPException, on_http)
    web.add_exception_handler(RequestValidationError, on_validation)
    web.add_exception_handler(Exception, on_crash)
