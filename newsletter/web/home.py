"""``GET /``: a hosted signup page for every declared list, with links to the archives.

It reuses the embeddable form (without its script: pages here allow no
scripts, and the plain form works without one), so what a visitor sees here is
what the clinic pastes into its own site.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from newsletter.app import App
from newsletter.audience.form import form_snippet
from newsletter.content.issuefile import list_series, read_series_config
from newsletter.web.pages import page_response


def home_router(app: App) -> APIRouter:
    """The router for the home page."""
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    def home() -> HTMLResponse:
        lists = app.catalog.lists()
        # Only series.toml is needed here: no issue file is read per request.
        series = [read_series_config(app.settings.issues_path / slug)
                  for slug in list_series(app.settings.issues_path)]
        forms = [
            {"name": known.config.name, "description": known.config.description,
             "form": form_snippet(app.settings.base_url, known.config, script=False),
             "series": [s for s in series if s.list == slug]}
            for slug, known in lists.items()
        ]
        return page_response(app, "web/home.html", {
            "forms": forms,
            "show_caught": (app.settings.transport == "catcher"
                            and app.settings.base_url_is_loopback),
        })

    return router
