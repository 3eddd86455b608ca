"""``POST /subscribe``: the public form's target (HTML form post or JSON).

Every acceptable submission gets the same answer whatever the address's state
(RELIABILITY #25): the same status, body and headers, and the same work done:
validate, append one ``signups`` row (group-committed by
:class:`~newsletter.web.intake.SignupWriter`), answer. No lookup of the
address happens here; the signup processor (a worker, or ``serve``'s own
thread) does the rest within a fraction of a second. The answer for form posts
is rendered once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from newsletter.app import App
from newsletter.audience.consent import RequestInfo
from newsletter.audience.intake import (
    SignupRequest,
    signup_row,
    store_signups,
    store_signups_if_free,
)
from newsletter.catalog import KnownList
from newsletter.errors import NotFoundError
from newsletter.web.client import client_ip
from newsletter.web.errors import error_response
from newsletter.web.forms import FormError, read_fields, wants_json
from newsletter.web.intake import SignupWriter
from newsletter.web.limits import SignupLimiter
from newsletter.web.pages import page_response
from newsletter.web.way_back import WayBack, way_back

log = logging.getLogger("newsletter.web.signup")
HONEYPOT = "website"
ACCEPTED_MESSAGE = "Thank you. Please check your inbox and confirm your subscription."
MAX_FIELD_CHARS = 4096


def signup_router(app: App) -> APIRouter:
    """The router for ``POST /subscribe``."""
    router = APIRouter()
    settings = app.settings
    per_ip = SignupLimiter(
        settings.signup_rate_limit, timedelta(seconds=settings.signup_rate_window_seconds)
    )
    overall = SignupLimiter(settings.signup_global_per_hour, timedelta(hours=1))
    # Storing from the event loop is for SQLite only (PostgreSQL: always the writer thread).
    writer = SignupWriter(lambda rows: store_signups(app, rows),
                          (lambda rows: store_signups_if_free(app, rows)) if app.db.sqlite
                          else None)
    thanks: dict[WayBack, Response] = {}  # one page per way back (allowed origins + home)

    def accepted(request: Request, known: KnownList) -> Response:
        if wants_json(request):
            return JSONResponse({"status": "accepted", "message": ACCEPTED_MESSAGE}, 202)
        if known.config.thank_you_url:
            # Only the list's configured URL, never one from the request (RELIABILITY #33).
            return RedirectResponse(known.config.thank_you_url, status_code=303)
        back = way_back(settings, request, app.origins.allowed())
        if back not in thanks:  # the page is the same for everyone who came from there
            thanks[back] = page_response(app, "web/thanks.html", {"back": back})
        page = thanks[back]
        return Response(page.body, status_code=200, headers=dict(page.headers))

    async def post_subscribe(request: Request) -> Response:
        now = app.clock.now()
        wait = per_ip.hit(client_ip(request), now)
        if wait is None:
            wait = overall.hit("*", now)
            if wait is not None:
                log.warning("global signup cap reached (%s per hour)", overall.limit)
        if wait is not None:
            return error_response(
                app, request, 429, "too many signups from here; please try again later",
                headers={"Retry-After": str(wait)},
            )
        fields = await read_fields(request)
        if app.origins.is_stale() and not wants_json(request):  # the thank-you page's way back
            await run_in_threadpool(app.origins.refresh)  # a query: not on the event loop
        email, slug = fields.get("email", ""), fields.get("list", "")
        if not email.strip() or not slug.strip():
            raise FormError(400, "please give an email address and a list")
        if any(len(value) > MAX_FIELD_CHARS for value in fields.values()):
            raise FormError(400, "a field of the form is far too long")
        try:
            # The catalog's cache: a stat of lists.toml, no query unless the file changed.
            known = app.catalog.find_list(slug.strip())
        except NotFoundError:
            # Staff get the list's name and file from the CLI; visitors need neither.
            raise NotFoundError("there is no such list") from None
        if fields.get(HONEYPOT):
            # A bot filled the invisible field: drop it, answer as usual (RELIABILITY #27).
            log.info("honeypot signup dropped from %s", client_ip(request))
            return accepted(request, known)
        signup = SignupRequest(
            email=email,
            list_slug=known.config.slug,
            name=fields.get("name"),
            time_zone=fields.get("time_zone"),
            consent_hash=fields.get("consent"),
            source=RequestInfo(
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
                page_url=fields.get("page") or request.headers.get("referer"),
                origin=request.headers.get("origin"),
                form=fields.get("form") or "direct",
            ),
        )
        # Validation only (no I/O): AddressError becomes the usual 400 page or JSON.
        await writer.append(signup_row(app, signup, now))
        return accepted(request, known)

    # A plain Starlette route: the body is read by hand anyway, and FastAPI's per-request
    # dependency machinery was a good part of the cost of a signup.
    router.add_route("/subscribe", post_subscribe, methods=["POST"], include_in_schema=False)
    return router
