"""The staff console under ``/admin``: ``admin_router(app)`` and ``install_admin(web, app)``.

Every route of every sub-router sits behind :func:`~newsletter.web.admin.deps.check_csrf`
(a dependency of the whole router: each non-GET needs the CSRF token) and asks
for a role with ``Depends(staff_for(Role.X))``. Pages render through
:func:`~newsletter.web.admin.render.page`. To add pages, add one
``router.include_router(...)`` line below.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from newsletter.app import App
from newsletter.web.admin.account import account_router
from newsletter.web.admin.assets import assets_router
from newsletter.web.admin.audit_page import audit_router
from newsletter.web.admin.auth import auth_router
from newsletter.web.admin.dashboard import add_dashboard
from newsletter.web.admin.deliverability import deliverability_router
from newsletter.web.admin.deps import (
    CsrfRefused,
    LoginRequired,
    NotAllowed,
    check_csrf,
    login_url,
)
from newsletter.web.admin.hooks_pages import hooks_router
from newsletter.web.admin.lists import lists_router
from newsletter.web.admin.render import page
from newsletter.web.admin.results import results_router
from newsletter.web.admin.schedule import schedule_router
from newsletter.web.admin.sends import sends_router
from newsletter.web.admin.series import series_router
from newsletter.web.admin.staff_pages import staff_router
from newsletter.web.admin.subscriber_import import subscriber_import_router
from newsletter.web.admin.subscribers import subscribers_router
from newsletter.web.admin.tokens_page import tokens_router


def admin_router(app: App) -> APIRouter:
    """Every console route, under /admin, each behind the CSRF check."""
    router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])
    router.include_router(assets_router())
    router.include_router(auth_router(app))
    add_dashboard(router, app)
    router.include_router(staff_router(app))
    router.include_router(audit_router(app))
    router.include_router(account_router(app))
    router.include_router(schedule_router(app))
    router.include_router(sends_router(app))
    router.include_router(series_router(app))
    router.include_router(deliverability_router(app))
    router.include_router(hooks_router(app))
    router.include_router(tokens_router(app))
    # the import's paths first: /admin/subscribers/<id> must never take /import
    router.include_router(subscriber_import_router(app))
    router.include_router(subscribers_router(app))
    router.include_router(lists_router(app))
    router.include_router(results_router(app))
    return router


def install_admin(web: FastAPI, app: App) -> None:
    """Mount the console on ``web`` with its answers for no login, a low role and a bad token."""
    web.include_router(admin_router(app))

    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        target = login_url(exc.next_path)
        if request.headers.get("hx-request"):  # htmx: reload the whole page at the login
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def on_not_allowed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotAllowed)
        return await run_in_threadpool(
            page, request, "forbidden.html", {"need": str(exc.need)}, status=403
        )

    async def on_csrf(request: Request, exc: Exception) -> Response:
        return await run_in_threadpool(page, request, "csrf.html", {}, status=403)

    web.add_exception_handler(LoginRequired, on_login_required)
    web.add_exception_handler(NotAllowed, on_not_allowed)
    web.add_exception_handler(CsrfRefused, on_csrf)
