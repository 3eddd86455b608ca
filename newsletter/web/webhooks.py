"""``POST /webhooks/<provider>``: bounces and complaints from SES, Postmark, Mailgun, SendGrid.

Thin: the raw body and headers go to
:func:`~newsletter.feedback.webhooks.receive_webhook`. A provider that is not
configured is 404; a forged, missing or stale signature (or wrong Postmark
credentials) is 401 for Postmark (basic auth) and 403 for the others, and
changes nothing; an unreadable payload is 400; a busy database is 503, so the
provider retries. JSON answers only: providers read status codes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from newsletter.app import App
from newsletter.errors import FeedbackError, NotFoundError, SignatureError
from newsletter.feedback.webhooks import receive_webhook

WEBHOOKS = "/webhooks/"


def webhooks_router(app: App) -> APIRouter:
    """The router for provider webhooks."""
    router = APIRouter()

    @router.post(WEBHOOKS + "{provider}")
    async def receive(provider: str, request: Request) -> Response:
        body = await request.body()
        try:
            result = await run_in_threadpool(receive_webhook, app, provider, body,
                                             dict(request.headers))
        except NotFoundError:
            return JSONResponse({"error": "no such webhook"}, status_code=404)
        except SignatureError:
            if provider == "postmark":
                return JSONResponse({"error": "unauthorized"}, status_code=401,
                                    headers={"WWW-Authenticate": 'Basic realm="webhooks"'})
            return JSONResponse({"error": "signature refused"}, status_code=403)
        except FeedbackError as err:
            return JSONResponse({"error": f"unreadable payload: {err}"[:300]}, status_code=400)
        return JSONResponse({"recorded": len(result.recorded), "confirmed": result.confirmed})

    return router
