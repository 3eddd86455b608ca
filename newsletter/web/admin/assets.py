"""``/admin/assets/…``: the console's stylesheet and the vendored htmx (no CDN, no build step).

Only the files named here are served, read once from the package.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from starlette.responses import Response

from newsletter.errors import NotFoundError

FILES = {
    "admin.css": "text/css; charset=utf-8",
    "series.css": "text/css; charset=utf-8",  # the series, import and editor pages
    "htmx.min.js": "text/javascript; charset=utf-8",
    "htmx-LICENSE.txt": "text/plain; charset=utf-8",
    "favicon.svg": "image/svg+xml",
    "sending.css": "text/css; charset=utf-8",  # calendar, schedule and sends pages
    "hooks.css": "text/css; charset=utf-8",  # the webhook pages
    "results.css": "text/css; charset=utf-8",  # the results pages and their charts
    "import.css": "text/css; charset=utf-8",  # the subscribers' CSV import
    "viewer-zone.js": "text/javascript; charset=utf-8",  # the viewer's zone, for those pages
    "subscribers.css": "text/css; charset=utf-8",  # the subscriber pages
    "lists.css": "text/css; charset=utf-8",  # the list pages and the form builder
    "lists.js": "text/javascript; charset=utf-8",  # the form builder's Copy buttons
}


def assets_router() -> APIRouter:
    """The static files of the console."""
    router = APIRouter()
    folder = resources.files("newsletter").joinpath("templates/admin/assets")
    loaded = {name: folder.joinpath(name).read_bytes() for name in FILES}

    @router.get("/assets/{name}")
    async def asset(name: str) -> Response:
        if name not in loaded:
            raise NotFoundError("there is no such file")
        return Response(loaded[name], media_type=FILES[name],
                        headers={"Cache-Control": "public, max-age=3600"})

    return router
