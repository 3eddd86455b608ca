"""``GET /admin/audit`` (owners only): the audit log, newest first, a hundred entries a page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from newsletter.accounts.audit import recent_actions
from newsletter.app import App
from newsletter.web.admin.deps import OwnerStaff
from newsletter.web.admin.render import page

PER_PAGE = 100


def audit_router(app: App) -> APIRouter:
    """The audit log page."""
    router = APIRouter()

    @router.get("/audit")
    def audit_log(request: Request, staff: OwnerStaff, before: int | None = None) -> Response:
        lines = recent_actions(app, limit=PER_PAGE + 1, before_id=before)
        more = len(lines) > PER_PAGE
        lines = lines[:PER_PAGE]
        return page(request, "audit.html", {
            "lines": lines, "older": lines[-1].id if more and lines else None,
            "first_page": before is None,
        })

    return router
