"""Rendering: Jinja2 → MJML → HTML plus a plain-text twin; compile once, personalize cheaply.

* ``renderer``   issue files and templates → CompiledEmail (once per issue), archive HTML
* ``compiled``   the compiled email and its cheap per-subscriber personalisation
* ``templates``  the Jinja2 environment (series, project and package templates)
* ``markdown``   Markdown → HTML; ``plaintext`` Markdown → the text part
* ``errors``     Jinja2 and MJML failures → RenderError naming the template line
* ``site``       previews and the browsable folder of every series (no database)
* ``pages``      the web pages' templates (the web app turns them into responses)
"""

from __future__ import annotations

from newsletter.render.compiled import CompiledEmail, PersonalFields, RenderedEmail
from newsletter.render.renderer import Renderer, archive_url

__all__ = ["CompiledEmail", "PersonalFields", "RenderedEmail", "Renderer", "archive_url"]
