"""``/admin/results``: how each issue did, and where in a series people leave (viewers and up).

* ``/admin/results`` — the series that have sent something.
* ``/admin/results/<series>`` — its issues side by side: delivered, left
  after it, complaints, bounces, clicks; a bar chart and the same numbers as a table.
* ``/admin/results/<series>/<n>`` — one issue: deliveries by state, bounces,
  complaints, who left after it and how, clicks per link (lists that count
  them), and a chart of the send over time with its table.

Reads only (no state change, so nothing for the audit log). The numbers come
from :mod:`newsletter.feedback.results`; the charts are inline SVG from
:mod:`newsletter.web.admin.charts`.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.responses import Response

from newsletter.app import App
from newsletter.errors import NotFoundError
from newsletter.feedback.results import (
    IssueResults,
    SeriesResults,
    issue_results,
    results_overview,
    series_results,
)
from newsletter.web.admin.charts import bar_chart, line_chart, lines
from newsletter.web.admin.deps import ViewerStaff
from newsletter.web.admin.render import page
from newsletter.web.admin.schedule import sentence
from newsletter.web.admin.sends import STATE_ORDER, issue_url

METHODS = {
    "one-click": "One-click button of the mail program (List-Unsubscribe header)",
    "page": "Unsubscribe page, from the link in the footer",
    "series": "Unsubscribe page: this series only",
    "complaint": "Reported as spam",
    "staff": "Removed by staff",
}


def results_url(slug: str, position: int | None = None) -> str:
    """The results page of a series, or of one of its issues."""
    base = f"/admin/results/{quote(slug, safe='')}"
    return base if position is None else f"{base}/{position}"


def timeline_chart(result: IssueResults) -> Markup:
    """The issue's send over time as a line chart."""
    unit = "hour" if result.step == "hour" else "day"
    labels = [f"+{n}{'h' if unit == 'hour' else 'd'}" for n in range(len(result.timeline))]
    data = lines([
        ("delivered", [b.delivered for b in result.timeline]),
        ("bounced", [b.bounced for b in result.timeline]),
        ("unsubscribed", [b.unsubscribed for b in result.timeline]),
        ("complained", [b.complained for b in result.timeline]),
    ])
    desc = (f"Per {unit} since the send started: {result.delivered} delivered, "
            f"{result.bounced} bounced, {result.unsubscribed} unsubscribed, "
            f"{result.complained} complained. The table below has every {unit}.")
    return line_chart("timeline-chart", f"{result.sends.series} #{result.sends.position} "
                      f"per {unit}", desc, labels, data)


def comparison_chart(result: SeriesResults) -> Markup:
    """Unsubscribes (and clicks, when counted) per issue of a series, as grouped bars."""
    labels = [f"#{row.position}" for row in result.issues]
    named = [("unsubscribed after it", [row.unsubscribed for row in result.issues])]
    if result.click_mode != "off" or any(row.clicks for row in result.issues):
        named.append(("clicks", [row.clicks for row in result.issues]))
    worst = max(result.issues, key=lambda row: row.unsubscribed, default=None)
    where = (f" Most people left after #{worst.position} ({worst.unsubscribed})."
             if worst is not None and worst.unsubscribed else " Nobody has left yet.")
    desc = (f"Unsubscribes per issue of {result.title}"
            f"{' and clicks per issue' if len(named) > 1 else ''}.{where} "
            "The table below has every number.")
    return bar_chart("series-chart", f"Where people leave: {result.title}", desc, labels,
                     lines(named))


def results_router(app: App) -> APIRouter:
    """The results pages."""
    router = APIRouter(prefix="/results")

    def missing(request: Request, message: str, slug: str) -> Response:
        return page(request, "results_missing.html", {
            "message": sentence(message), "slug": slug}, status=404)

    @router.get("")
    def overview(request: Request, staff: ViewerStaff) -> Response:
        return page(request, "results.html", {"series": results_overview(app)})

    @router.get("/{slug}")
    def series_page(request: Request, staff: ViewerStaff, slug: str) -> Response:
        try:
            result = series_results(app, slug)
        except NotFoundError as err:
            return missing(request, str(err), slug)
        return page(request, "results_series.html", {
            "result": result, "chart": comparison_chart(result) if result.issues else None,
            "issue_link": lambda position: results_url(slug, position)})

    @router.get("/{slug}/{position}")
    def issue_page(request: Request, staff: ViewerStaff, slug: str, position: int) -> Response:
        try:
            result = issue_results(app, slug, position)
        except NotFoundError as err:
            return missing(request, str(err), slug)
        return page(request, "results_issue.html", {
            "result": result, "sends": result.sends, "states": STATE_ORDER,
            "methods": METHODS, "sends_url": issue_url(slug, position),
            "series_url": results_url(slug),
            "chart": timeline_chart(result) if result.timeline else None})

    return router
