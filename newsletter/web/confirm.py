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
from newsletter.audience.tokens import TokenError
from newsletter.web.pages import page_response
from newsletter.web.signup import client_ip

NO_INDEX = {"X-Robots-Tag": "noindex, nofollow"}
MAX_TOKEN_CHARS = 512


def _check_length(token: str) -> None:
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError("the confirmation link is damaged or not one of ours")


def confirm_router(app: App) -> APIRouter:
    """The router for the confirm page and its button."""
    router = APIRouter()

    @router.get("/confirm/{token}")
    async def show(token: str) -> Response:
        _check_length(token)
        view = await run_in_threadpool(inspect_confirm, app, token)
        if view.already_confirmed:
            return page_response(
                app, "web/confirmed.html", {"list_name": view.list_name}, headers=NO_INDEX
            )
        context = {"list_name": view.list_name, "action": f"/confirm/{token}"}
        return page_response(app, "web/confirm.html", context, headers=NO_INDEX)

    @router.post("/confirm/{token}")
    async def press(token: str, request: Request) -> Response:
        _check_length(token)
        source = RequestInfo(
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            origin=request.headers.get("origin"),
        )
        result = await run_in_threadpool(confirm, app, token, source)
        context = {"list_name": result.list_name}
        return page_response(app, "web/confirmed.html", context, headers=NO_INDEX)

    return router
