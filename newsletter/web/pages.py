"""HTML responses of the web pages (templates rendered by the App's PageRenderer)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import HTMLResponse

from newsletter.app import App


def page_response(
    app: App,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """An HTML response of template ``name``; no cookies, no caching of personal pages."""
    base = {"Cache-Control": "no-store"}
    return HTMLResponse(app.pages.render(name, context), status_code=status_code,
                        headers={**base, **(headers or {})})
