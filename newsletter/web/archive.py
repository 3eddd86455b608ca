"""``GET /archive/{series}`` and ``/archive/{series}/{n}``: the public web edition.

"Published" rule: an issue is public once at least one delivery of it has been
sent. Drafts and scheduled issues stay private even though their files exist;
the web edition of an email is therefore always reachable by whoever got it.
The pages hold no personal data (the renderer builds them without any).

The part right after a published one answers before it is out too: every
issue links to it, so instead of "not found" it says which part comes and when
(schedule/coming.py). Positions are plain ASCII digits: ``²`` or ``١`` are not part
numbers, however ``str.isdigit`` sees them. Error messages never repeat what
the address said.
"""

from __future__ import annotations

import re

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from newsletter.app import App
from newsletter.content.issuefile import find_series
from newsletter.delivery.status import PublishedIssue, published_issues
from newsletter.errors import ContentError, NotFoundError
from newsletter.schedule.coming import ComingPart, coming_part
from newsletter.web.pages import page_response

_POSITION = re.compile(r"[0-9]{1,6}")


def archive_csp(app: App) -> str:
    """The archive's policy: email HTML needs inline styles and remote images; no scripts."""
    ancestors = " ".join(["'self'", *sorted(app.origins.allowed())])
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; font-src https:; "
        f"frame-ancestors {ancestors}; base-uri 'none'; object-src 'none'; form-action 'self'"
    )


def archive_router(app: App) -> APIRouter:
    """The router for the public archive."""
    router = APIRouter()

    def index(slug: str) -> tuple[str, list[PublishedIssue]]:
        return published_issues(app, slug)

    def issue_html(slug: str, position: int) -> str | tuple[str, ComingPart]:
        title, issues = index(slug)
        published = {issue.position for issue in issues}
        if position not in published:
            coming = coming_part(app, slug, position) if position - 1 in published else None
            if coming is None:
                raise NotFoundError("this part of the series has not been published")
            return title, coming
        try:
            doc = find_series(app.settings.issues_path, slug)
            return app.renderer.archive_html(doc, position)
        except ContentError as err:
            raise NotFoundError("this part of the series is not available") from err

    @router.get("/archive/{series}")
    async def series_page(series: str) -> Response:
        title, issues = await run_in_threadpool(index, series)
        context = {"series_title": title, "series_slug": series, "issues": issues}
        return page_response(app, "web/archive_index.html", context)

    @router.get("/archive/{series}/{position}")
    async def issue_page(series: str, position: str) -> Response:
        if not _POSITION.fullmatch(position):
            raise NotFoundError("there is no such part of this series")
        found = await run_in_threadpool(issue_html, series, int(position))
        if isinstance(found, tuple):
            series_title, coming = found
            context = {"series_title": series_title, "series_slug": series, "coming": coming}
            # Not for search engines: it changes into the part itself once that goes out.
            return page_response(app, "web/coming.html", context,
                                 headers={"X-Robots-Tag": "noindex"})
        # The allowed origins are cached; reading them again is a query: not on the event loop.
        csp = (await run_in_threadpool(archive_csp, app) if app.origins.is_stale()
               else archive_csp(app))
        return HTMLResponse(found, headers={"Content-Security-Policy": csp})

    return router
