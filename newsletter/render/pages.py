"""The web pages' templates (``newsletter/templates/web/``): one strict, autoescaping environment.

Every page extends ``web/base.html``. Subscriber-supplied text is passed as
data and escaped; it is never template source (RELIABILITY #34). The App
holds one :class:`PageRenderer`; :mod:`newsletter.web.pages` turns its output
into responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from newsletter.config import Settings


class PageRenderer:
    """Renders the web templates with what every page may show (base URL, organisation)."""

    def __init__(self, settings: Settings) -> None:
        self._env = Environment(
            loader=PackageLoader("newsletter", "templates"),
            autoescape=select_autoescape(["html", "j2"], default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._globals = {
            "base_url": settings.base_url,
            "organisation": settings.org_name,
            "postal_address": settings.postal_address,
        }

    def render(self, name: str, context: Mapping[str, Any] | None = None) -> str:
        """The HTML of template ``name`` (e.g. ``web/thanks.html``) with ``context``."""
        return self._env.get_template(name).render({**self._globals, **(context or {})})
