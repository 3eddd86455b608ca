"""``GET /confirm/{token}`` shows a button; ``POST`` to it confirms (RELIABILITY #4, #30).

Link scanners fetch every URL in an email, so the GET changes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from newsletter.app import App
from newsletter.audience.consent import RequestInfo
from newsletter.audience.signup import confirm, inspect_confirm
from newsletter.web.client import client_ip
from newsletter.web.pages import page_response

NO_INDEX = {"X-Robots-Tag": "noindex, nofollow"}

def confirm_router(app: App) -> APIRouter:
    """The router for the confirm page and its button."""
    router = APIRouter()

    @router.get("/confirm/{token}")
    async def show(token: str) -> Response:
        view = await run_in_threadpool(inspect_confirm, app, token)
        if view.already_confirmed:
            return page_response(
                app, "web/confirmed.html", {"list_name": view.list_name}, headers=NO_INDEX
            )
        context = {"list_name": view.list_name, "action": f"/confirm/{token}"}
        return page_response(app, "web/confirm.html", context, headers=NO_INDEX)

    @router.post("/confirm/{token}")
    async def press(token: str, request: Request) -> Response:
        source = RequestInfo(
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            origin=request.headers.get("origin"),
        )
        result = await run_in_threadpool(confirm, app, token, source)
        context = {"list_name": result.list_name}
        return page_response(app, "web/confirmed.html", context, headers=NO_INDEX)

    return router
