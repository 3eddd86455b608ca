"""``create_web_app(app) -> FastAPI``: the public HTTP app, composed from routers.

Middleware, outermost first: proxy headers (only from ``trusted_proxies``) →
security headers → CORS (only the allowed origins, never credentials) →
body deadline → body-size cap → crash guard (the generic 500, so it too gets
the headers). No cookies outside the staff console (``/admin``, see web/admin/); the docs
pages are off. The REST API (``/api``, web/api/) is an app of its own inside this one, with its
own OpenAPI document at ``/api/openapi.json`` and RFC 9457 error bodies. Starlette's
slash redirect is off: ours (web/errors.py) builds Location from ``base_url``.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, FastAPI
from starlette.responses import Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from newsletter.app import App
from newsletter.config import Settings, is_loopback_host
from newsletter.web.admin import install_admin
from newsletter.web.admin.subscriber_import import FORM_SLACK, IMPORT_UPLOAD
from newsletter.web.api import install_api
from newsletter.web.archive import archive_router
from newsletter.web.caught import caught_router
from newsletter.web.clicks import clicks_router
from newsletter.web.confirm import confirm_router
from newsletter.web.cors import EmbedCORS
from newsletter.web.errors import install_error_handlers
from newsletter.web.home import home_router
from newsletter.web.security import BodyDeadline, BodyLimit, SecurityHeaders
from newsletter.web.signup import signup_router
from newsletter.web.unsubscribe import unsubscribe_router
from newsletter.web.webhooks import WEBHOOKS, webhooks_router


def caught_pages_allowed(settings: Settings, host: str) -> bool:
    """Whether the catcher's pages may exist: its transport, a loopback bind and base_url.

    Caught mail holds every confirm link; behind a proxy (a public ``base_url``)
    or on a public interface anyone could read it and confirm for others.
    """
    return (settings.transport == "catcher" and is_loopback_host(host)
            and settings.base_url_is_loopback)


def create_web_app(app: App, *, host: str = "127.0.0.1") -> FastAPI:
    """The FastAPI app: the public pages, webhooks, the staff console (and caught mail locally).

    ``host`` is the interface the server binds; the caught-mail pages exist only
    when :func:`caught_pages_allowed` says so.
    """
    app.catalog.lists()  # sync lists.toml now: a broken file fails at start, not on a visitor
    # No OpenTelemetry: asking whether it is configured cost environment lookups per request.
    web = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    web.state.app = app
    install_error_handlers(web, app)
    web.include_router(home_router(app))
    web.include_router(signup_router(app))
    web.include_router(confirm_router(app))
    web.include_router(archive_router(app))
    web.include_router(unsubscribe_router(app))
    web.include_router(webhooks_router(app))
    web.include_router(clicks_router(app))
    if caught_pages_allowed(app.settings, host):  # caught mail is local-only, never public
        web.include_router(caught_router(app))
    web.include_router(_assets_router())
    install_admin(web, app)  # the staff console under /admin
    install_api(web, app)  # the REST API under /api (its own OpenAPI document)
    web.add_middleware(BodyLimit, max_bytes=app.settings.max_request_bytes,
                       admin_max_bytes=app.settings.console_max_request_bytes,
                       prefixes={WEBHOOKS: app.settings.webhook_max_request_bytes,
                                 IMPORT_UPLOAD: app.settings.console_import_max_bytes + FORM_SLACK})
    web.add_middleware(BodyDeadline, seconds=app.settings.request_body_timeout_seconds)
    web.add_middleware(
        EmbedCORS,  # allowed_origins plus the console's embedding origins, read at run time
        origins=app.origins,
        allow_methods=["POST"],
        allow_headers=["Content-Type", "Accept"],
        max_age=600,
    )
    web.add_middleware(SecurityHeaders)
    if app.settings.trusted_proxies:
        # X-Forwarded-For counts only from these peers (the right-most untrusted hop is
        # the visitor); uvicorn's own header handling is off in serve and run.
        web.add_middleware(ProxyHeadersMiddleware,
                           trusted_hosts=list(app.settings.trusted_proxies))
    return web


def _assets_router() -> APIRouter:
    router = APIRouter()
    css = resources.files("newsletter").joinpath("templates/web/site.css").read_bytes()

    @router.get("/assets/site.css")
    async def stylesheet() -> Response:
        return Response(
            css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
        )

    return router

