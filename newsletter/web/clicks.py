"""``GET /c/{token}`` (and ``/c/{token}/{reader}``): count a click, then go where the link goes.

The target comes from what was stored for the edition when it was sent, never
from the request, so this is no open redirect: a tampered or unknown token gets
the ordinary 404 page and goes nowhere. Only lists with ``click_tracking`` on
have such links (see :mod:`newsletter.delivery.clicks`).
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from newsletter.app import App
from newsletter.delivery.clicks import follow_click

HEADERS = {"X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer",
           "Cache-Control": "no-store"}


def clicks_router(app: App) -> APIRouter:
    """The click redirect."""
    router = APIRouter()

    @router.get("/c/{token}")
    async def follow(token: str) -> Response:
        target = await run_in_threadpool(follow_click, app, token)
        return RedirectResponse(target, status_code=302, headers=HEADERS)

    @router.get("/c/{token}/{reader}")
    async def follow_named(token: str, reader: str) -> Response:
        target = await run_in_threadpool(follow_click, app, token, reader)
        return RedirectResponse(target, status_code=302, headers=HEADERS)

    return router
