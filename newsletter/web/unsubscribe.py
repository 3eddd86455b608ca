"""Unsubscribe endpoints: RFC 8058 one-click ``POST`` and a ``GET`` page with a choice.

``POST /unsubscribe/{token}`` with ``List-Unsubscribe=One-Click`` (form-urlencoded
or multipart) is what mail providers send: no cookie, session or CSRF token
(the signed token is the authority), 200 with a short body, never a
redirect, idempotent. The same URL also takes the page's form, whose
``scope`` field chooses this series, this list or everything. ``GET`` only
shows the page: link scanners fetch every URL and must change nothing.
After the page's button, ``POST /unsubscribe/{token}/undo`` with the signed
``undo`` field puts things back for a few minutes (no cookie, no GET).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

from newsletter.app import App
from newsletter.audience.consent import RequestInfo
from newsletter.audience.tokens import TokenError
from newsletter.audience.unsubscribe import (
    UNDO_WINDOW,
    Scope,
    resubscribe,
    unsubscribe,
    unsubscribe_view,
)
from newsletter.web.client import client_ip
from newsletter.web.pages import page_response

NO_INDEX = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer"}
ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"


def unsubscribe_router(app: App) -> APIRouter:
    """The router for the unsubscribe page and the one-click endpoint."""
    router = APIRouter()

    @router.get("/unsubscribe/{token}")
    async def show(token: str) -> Response:
        view = await run_in_threadpool(unsubscribe_view, app, token)
        # What the link was for is chosen: its series (from an issue), else its list.
        chosen = ("series" if view.series_title and not view.left_series else "list"
                  ) if view.subscribed else "everything"
        context = {"list_name": view.list_name, "series_title": view.series_title,
                   "subscribed": view.subscribed, "action": f"/unsubscribe/{token}",
                   "address": view.masked_address, "chosen": chosen}
        return page_response(app, "web/unsubscribe.html", context, headers=NO_INDEX)

    @router.post("/unsubscribe/{token}")
    async def press(token: str, request: Request) -> Response:
        form = await request.form()
        one_click = form.get(ONE_CLICK_FIELD) == ONE_CLICK_VALUE
        chosen = form.get("scope")
        source = RequestInfo(ip=client_ip(request), user_agent=request.headers.get("user-agent"))
        if one_click or not isinstance(chosen, str):
            # RFC 8058: the one-click POST leaves the list the message came from.
            await run_in_threadpool(unsubscribe, app, token, Scope.LIST, method="one-click",
                                    source=source)
            return PlainTextResponse("You are unsubscribed.\n", headers=NO_INDEX)
        try:
            scope = Scope(chosen)
        except ValueError:
            scope = Scope.LIST
        result = await run_in_threadpool(unsubscribe, app, token, scope, method="page",
                                         source=source)
        context = {"list_name": result.list_name, "series_title": result.series_title,
                   "scope": str(result.scope), "undo": result.undo,
                   "undo_action": f"/unsubscribe/{token}/undo",
                   "undo_minutes": int(UNDO_WINDOW.total_seconds() // 60)}
        return page_response(app, "web/unsubscribed.html", context, headers=NO_INDEX)

    @router.post("/unsubscribe/{token}/undo")
    async def undo(token: str, request: Request) -> Response:
        # No GET twin: a scanner fetching URLs must never resubscribe anyone.
        form = await request.form()
        undo_token = form.get("undo")
        if not isinstance(undo_token, str):
            raise TokenError("the resubscribe button's data is missing")
        source = RequestInfo(ip=client_ip(request), user_agent=request.headers.get("user-agent"))
        result = await run_in_threadpool(resubscribe, app, token, undo_token, source=source)
        context = {"list_name": result.list_name, "series_title": result.series_title,
                   "scope": str(result.scope), "action": f"/unsubscribe/{token}"}
        return page_response(app, "web/resubscribed.html", context, headers=NO_INDEX)

    return router
