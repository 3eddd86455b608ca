"""Rendering: Jinja2 → MJML → HTML plus a plain-text twin; compile once, personalize cheaply."""

from __future__ import annotations

from newsletter.render.compiled import CompiledEmail, PersonalFields, RenderedEmail
from newsletter.render.renderer import Renderer, archive_url

__all__ = ["CompiledEmail", "PersonalFields", "RenderedEmail", "Renderer", "archive_url"]
