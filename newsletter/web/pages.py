"""HTML pages from ``newsletter/templates/web/``: one autoescaping Jinja2 environment.

Every page extends ``web/base.html``. Subscriber-supplied text is passed as
data and escaped; it is never template source (RELIABILITY #34). The
environment only loads the package's templates, so one serves every App; the
settings a page may show (base URL, organisation, postal address) are passed
per render.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from newsletter.app import App
from newsletter.config import Settings


@cache
def _environment() -> Environment:
    # Built on first use and never changed afterwards (Jinja caches compiled templates).
    return Environment(
        loader=PackageLoader("newsletter", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(settings: Settings, name: str, context: Mapping[str, Any] | None = None) -> str:
    """The HTML of template ``name`` (e.g. ``web/thanks.html``) with ``context``."""
    shared = {
        "base_url": settings.base_url,
        "organisation": settings.org_name,
        "postal_address": settings.postal_address,
    }
    return _environment().get_template(name).render({**shared, **(context or {})})


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
    return HTMLResponse(render_page(app.settings, name, context), status_code=status_code,
                        headers={**base, **(headers or {})})
