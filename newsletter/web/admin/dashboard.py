"""``GET /admin``: the dashboard, a start page linking to every part of the console."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from newsletter.app import App
from newsletter.web.admin.deps import ViewerStaff
from newsletter.web.admin.render import page


def add_dashboard(router: APIRouter, app: App) -> None:
    """Add ``GET /admin`` to the console router (a sub-router cannot have an empty path)."""

    def dashboard(request: Request, staff: ViewerStaff) -> Response:
        return page(request, "dashboard.html", {"nav_active": "dashboard"})

    router.add_api_route("", dashboard, methods=["GET"], name="dashboard")
