"""RFC 9457 problem details: the one shape of every API error, and the handlers that make it.

Every error the API answers is ``application/problem+json`` with ``type``,
``title``, ``status``, ``detail`` and ``instance`` (the request's path), plus
``errors`` (one entry per bad field) on a 422. ``type`` is a URI reference
``/api/problems/<name>``: the names are listed in docs/api.md and never change
meaning. A stack trace or an internal message never reaches the body.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response

from newsletter.errors import (
    AccountError,
    DatabaseError,
    NewsletterError,
    NotFoundError,
    SubscriptionError,
)
from newsletter.web.errors import RETRY_AFTER_BUSY, CrashGuard
from newsletter.web.security import BodyTooLarge, BodyTooSlow

log = logging.getLogger("newsletter.web.api")
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/api/problems/"

_NAMES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    408: ("request-timeout", "Request body too slow"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-request", "Invalid request"),
    429: ("rate-limited", "Too many requests"),
    500: ("server-error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


class FieldProblem(BaseModel):
    """One field that was missing or wrong."""

    pointer: str = Field(description="JSON Pointer into the body (`#/email`), or "
                         "`query.<name>`, `path.<name>`, `header.<name>` for parameters")
    detail: str = Field(description="What is wrong with it")


class Problem(BaseModel):
    """An error, as RFC 9457 describes it (`application/problem+json`)."""

    type: str = Field(description="What kind of problem: `/api/problems/<name>`")
    title: str = Field(description="A short summary of the kind, the same for every instance")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What went wrong this time, for a person to read")
    instance: str = Field(description="The path of the request that failed")
    errors: list[FieldProblem] | None = Field(
        default=None, description="The fields that were missing or wrong (422 only)")


class ApiProblem(Exception):
    """Raised by a route to answer with a problem (``name`` overrides the status's own)."""

    def __init__(self, status: int, detail: str, *, name: str | None = None,
                 title: str | None = None, errors: Sequence[FieldProblem] = (),
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.name = name
        self.title = title
        self.errors = list(errors)
        self.headers = dict(headers or {})


def problem_response(request: Request, status: int, detail: str, *, name: str | None = None,
                     title: str | None = None, errors: Sequence[FieldProblem] = (),
                     headers: Mapping[str, str] | None = None) -> Response:
    """The problem+json response for ``status`` with ``detail``."""
    default_name, default_title = _NAMES.get(status, ("error", "Error"))
    body = Problem(type=TYPE_BASE + (name or default_name), title=title or default_title,
                   status=status, detail=_sentence(detail), instance=request.url.path,
                   errors=list(errors) or None)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status,
                        media_type=MEDIA_TYPE, headers=dict(headers or {}))


def _sentence(text: str) -> str:
    text = text.strip() or "no detail"
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _pointer(loc: Sequence[Any]) -> str:
    if loc and loc[0] == "body":
        return "#/" + "/".join(str(part).replace("~", "~0").replace("/", "~1")
                               for part in loc[1:])
    return ".".join(str(part) for part in loc)


def install_problem_handlers(api: FastAPI) -> None:
    """Make every error of ``api`` a problem: routes', FastAPI's, the middleware's, crashes."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiProblem)
        return problem_response(request, exc.status, exc.detail, name=exc.name,
                                title=exc.title, errors=exc.errors, headers=exc.headers)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [FieldProblem(pointer=_pointer(err.get("loc", ())),
                               detail=str(err.get("msg", "not valid")))
                  for err in exc.errors()]
        return problem_response(request, 422, "the request has missing or invalid fields; "
                                "see errors", errors=errors)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        # FastAPI turns any failure while reading a JSON body into a 400: find the real one.
        if isinstance(exc.__cause__, BodyTooLarge):
            return await on_too_large(request, exc.__cause__)
        if isinstance(exc.__cause__, BodyTooSlow):
            return await on_too_slow(request, exc.__cause__)
        if isinstance(exc.__cause__, ClientDisconnect):
            return await on_disconnect(request, exc.__cause__)
        messages = {404: "there is nothing at this address",
                    405: f"this address does not accept {request.method}"}
        detail = messages.get(exc.status_code, str(exc.detail))
        return problem_response(request, exc.status_code, detail, headers=exc.headers)

    async def on_not_found(request: Request, exc: Exception) -> Response:
        return problem_response(request, 404, str(exc))

    async def on_refused(request: Request, exc: Exception) -> Response:
        return problem_response(request, 409, str(exc), name="refused", title="Refused")

    async def on_database(request: Request, exc: Exception) -> Response:
        log.warning("database unavailable: %s", exc.__cause__ or exc)
        return problem_response(request, 503, "the database is busy; try again in a few "
                                "seconds", headers={"Retry-After": RETRY_AFTER_BUSY})

    async def on_newsletter(request: Request, exc: Exception) -> Response:
        return problem_response(request, 400, str(exc))

    async def on_too_large(request: Request, exc: Exception) -> Response:
        return problem_response(request, 413, "the request body is too large")

    async def on_too_slow(request: Request, exc: Exception) -> Response:
        return problem_response(request, 408, "the request body arrived too slowly",
                                headers={"Connection": "close"})

    async def on_disconnect(request: Request, exc: Exception) -> Response:
        log.info("API client went away during %s %s", request.method, request.url.path)
        return Response(status_code=400)

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(request, 500, "something went wrong on our side; it has "
                                "been logged")

    api.add_exception_handler(ApiProblem, on_problem)
    api.add_exception_handler(RequestValidationError, on_validation)
    api.add_exception_handler(HTTPException, on_http)
    api.add_exception_handler(NotFoundError, on_not_found)
    api.add_exception_handler(SubscriptionError, on_refused)
    api.add_exception_handler(AccountError, on_refused)
    api.add_exception_handler(DatabaseError, on_database)
    api.add_exception_handler(NewsletterError, on_newsletter)
    api.add_exception_handler(BodyTooLarge, on_too_large)
    api.add_exception_handler(BodyTooSlow, on_too_slow)
    api.add_exception_handler(ClientDisconnect, on_disconnect)
    api.add_middleware(CrashGuard, on_crash=on_crash)
