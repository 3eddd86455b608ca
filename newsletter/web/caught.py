"""Pages listing the mail caught by the built-in catcher (local use with ``newsletter run``).

Only mounted when ``transport = "catcher"``: the caught mail holds personal
data and unsubscribe links, so a real deployment never serves it. The HTML of
a message is shown in a sandboxed frame (no scripts, no same-origin; links may
open in a new tab, so the confirm button of a caught mail can be pressed).
The message page allows that one frame from this origin (``frame-src 'self'``)
and the frame allows only this origin to embed it (``frame-ancestors 'self'``).
"""

from __future__ import annotations

from email.message import EmailMessage

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from newsletter.app import App
from newsletter.delivery.catcher import CATCHER_DIR, MailStore
from newsletter.errors import NotFoundError
from newsletter.web.pages import page_response
from newsletter.web.security import PAGE_CSP

FRAME_CSP = (
    "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
    "img-src data: https: http:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)
MESSAGE_PAGE_CSP = PAGE_CSP + "; frame-src 'self'"


def _summary(key: str, message: EmailMessage, caught_at: str) -> dict[str, str]:
    return {"key": key, "to": str(message.get("To", "")),
            "subject": str(message.get("Subject", "")), "date": caught_at}


def _body(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    if part is None:
        return ""
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def caught_router(app: App) -> APIRouter:
    """The router for ``/caught`` (list) and ``/caught/{key}`` (one message)."""
    router = APIRouter()
    store = MailStore(app.settings.var_path / CATCHER_DIR, app.clock)

    def load(key: str) -> EmailMessage:
        found = store.get(key)
        try:
            if found is not None:
                return found.message()
        except OSError:
            pass  # deleted since it was found
        raise NotFoundError("no caught message with that key")

    @router.get("/caught")
    async def index() -> Response:
        def work() -> list[dict[str, str]]:
            return [_summary(mail.key, mail.message(), f"{mail.caught_at:%Y-%m-%d %H:%M:%S} UTC")
                    for mail in store.list()]

        mails = await run_in_threadpool(work)
        return page_response(app, "web/caught.html", {"mails": mails})

    @router.get("/caught/{key}")
    async def show(key: str) -> Response:
        message = await run_in_threadpool(load, key)
        headers = [(name, str(value)) for name, value in message.items()]
        context = {"key": key, "headers": headers, "text": _body(message, "plain"),
                   "subject": str(message.get("Subject", ""))}
        return page_response(app, "web/caught_message.html", context,
                             headers={"Content-Security-Policy": MESSAGE_PAGE_CSP})

    @router.get("/caught/{key}/html")
    async def html(key: str) -> Response:
        message = await run_in_threadpool(load, key)
        return HTMLResponse(_body(message, "html"), headers={
            "Content-Security-Policy": FRAME_CSP, "Cache-Control": "no-store"})

    return router
