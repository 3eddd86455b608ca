"""Where the thank-you page sends a visitor back to, after a form post took them off a site.

Only an origin staff allowed (``allowed_origins`` or the console) earns a link (from the
request's ``Origin``, else its ``Referer``): a page nobody allowed must not
get a link on our domain. Otherwise the link leads to the newsletter's own page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

from newsletter.config import Settings


@dataclass(frozen=True)
class WayBack:
    """A link for the thank-you page."""

    url: str
    label: str


def _origin(value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def way_back(settings: Settings, request: Request, allowed: frozenset[str]) -> WayBack:
    """A link back to the allowed site the visitor came from, else to our home page.

    ``allowed``: every allowed origin (``app.origins.allowed()``), lowercase.
    """
    for header in ("origin", "referer"):
        origin = _origin(request.headers.get(header))
        if origin is not None and origin in allowed:
            return WayBack(origin + "/", f"Back to {urlsplit(origin).hostname}")
    return WayBack(settings.base_url + "/", "Back to the newsletter's page")
