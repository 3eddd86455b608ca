"""HTML pages from ``newsletter/templates/web/``: one autoescaping Jinja2 environment per App.

Every page extends ``web/base.html``. Subscriber-supplied text is passed as
data and escaped; it is never template source (RELIABILITY #34).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from newsletter.app import App

_EXTRA_KEY = "web.pages"


class Pages:
    """Renders the web templates with the settings every page may need (base URL, sender)."""

    def __init__(self, app: App) -> None:
        self._env = Environment(
            loader=PackageLoader("newsletter", "templates"),
            autoescape=select_autoescape(["html", "j2"], default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._globals = {
            "base_url": app.settings.base_url,
            "organisation": _organisation(app.settings.sender),
            "postal_address": app.settings.postal_address,
        }

    def render(self, name: str, context: Mapping[str, Any] | None = None) -> str:
        """The HTML of template ``name`` (e.g. ``web/thanks.html``) with ``context``."""
        return self._env.get_template(name).render({**self._globals, **(context or {})})

    def response(
        self,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """An HTML response of template ``name``; no cookies, no caching of personal pages."""
        base = {"Cache-Control": "no-store"}
        return HTMLResponse(
            self.render(name, context), status_code=status_code, headers={**base, **(headers or {})}
        )


def get_pages(app: App) -> Pages:
    """The App's page renderer, built on first use and kept in ``app.extras``."""
    pages = app.extras.get(_EXTRA_KEY)
    if not isinstance(pages, Pages):
        pages = Pages(app)
        app.extras[_EXTRA_KEY] = pages
    return pages


def page_response(
    app: App,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Shortcut: render ``name`` with the App's pages (``web/<page>.html``)."""
    return get_pages(app).response(name, context, status_code=status_code, headers=headers)


def _organisation(sender: str) -> str:
    from email.utils import parseaddr

    name, address = parseaddr(sender)
    return name or address
