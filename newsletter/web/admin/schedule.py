"""``/admin/calendar`` and ``/admin/series/<slug>/schedule``: when issues go out.

The calendar (anyone logged in) shows the coming weeks per list; the schedule
page of a series shows its settings, every issue's broadcast with forms to
schedule, move and cancel (editors), and the schedule preview. Each action
calls the same service as ``newsletter schedule …`` (add, move, cancel,
settings, preview, calendar) and is written to the audit log. Times are
shown in the series' zone and in the viewer's: ``?tz=``, else the zone the
browser reported (``viewer-zone.js`` keeps it in a cookie), else the
``time_zone`` setting.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from newsletter.app import App
from newsletter.clock import find_zone
from newsletter.errors import NewsletterError
from newsletter.schedule import agenda, broadcasts_admin, series_schedule
from newsletter.schedule.calendar import WEEKDAYS
from newsletter.web.admin.deps import EditorStaff, FormFields, ViewerStaff, audit
from newsletter.web.admin.render import flash, page

ZONE_COOKIE = "newsletter_tz"
SETTING_FIELDS = series_schedule.SETTING_KEYS


def viewer_zone(request: Request, app: App) -> str:
    """The viewer's IANA zone: ``?tz=``, the browser's (cookie), or the setting."""
    cookie = unquote(request.cookies.get(ZONE_COOKIE, ""))  # viewer-zone.js encodes the "/"
    for candidate in (request.query_params.get("tz"), cookie):
        if candidate and len(candidate) <= 64 and find_zone(candidate) is not None:
            return candidate
    return app.settings.time_zone


def sentence(message: str) -> str:
    """An error message as a sentence for a flash."""
    text = message[:1].upper() + message[1:]
    return text if text.endswith(".") else text + "."


def schedule_url(slug: str) -> str:
    """The schedule page of a series."""
    return f"/admin/series/{quote(slug, safe='')}/schedule"


def schedule_router(app: App) -> APIRouter:
    """The calendar and the per-series schedule pages."""
    router = APIRouter()

    def back(slug: str) -> Response:
        return RedirectResponse(schedule_url(slug), status_code=303)

    @router.get("/calendar")
    def calendar_page(request: Request, staff: ViewerStaff, days: int = agenda.DEFAULT_DAYS
                      ) -> Response:
        zone = viewer_zone(request, app)
        found = agenda.agenda(app, zone, days)
        return page(request, "calendar.html", {
            "agenda": found, "viewer_zone": zone, "days": max(1, min(days, agenda.MAX_DAYS)),
            "nav_active": "calendar",
        })

    @router.get("/series/{slug}/schedule")
    def schedule_page(request: Request, staff: ViewerStaff, slug: str, signup: str = "",
                      signup_tz: str = "") -> Response:
        zone = viewer_zone(request, app)
        try:
            view = series_schedule.schedule_view(app, slug)
        except NewsletterError as err:
            return page(request, "schedule_missing.html", {"message": sentence(str(err))},
                        status=404)
        preview: list[broadcasts_admin.PreviewRow] | None = None
        preview_error = ""
        if signup:
            try:
                preview = broadcasts_admin.preview(app, slug, signup, signup_tz or None)
            except NewsletterError as err:
                preview_error = sentence(str(err))
        now = app.clock.now()
        return page(request, "schedule.html", {
            "view": view, "viewer_zone": zone, "nav_active": "series",
            "viewer_time": lambda moment: series_schedule.viewer_time(moment, zone),
            "signup": signup, "signup_tz": signup_tz, "preview": preview,
            "preview_error": preview_error,
            "suggested": f"{now.astimezone(find_zone(view.settings.time_zone)):%Y-%m-%d}T09:00",
            "weekdays": WEEKDAYS,
        })

    # Before the {position} routes: "settings" would match {position} and fail as a number.
    @router.post("/series/{slug}/schedule/settings")
    def save_settings(request: Request, staff: EditorStaff, form: FormFields, slug: str
                      ) -> Response:
        changes: dict[str, str | list[str]] = {
            key: form[key] for key in SETTING_FIELDS if key in form and key != "send_weekdays"}
        changes["send_weekdays"] = [day for day in WEEKDAYS if form.get(f"day_{day}")]
        try:
            saved = series_schedule.update_settings(app, slug, changes,
                                                 expected_hash=form.get("file_hash") or None)
        except NewsletterError as err:
            flash(request, sentence(str(err)), "error")
            return back(slug)
        audit(request, staff, "schedule.settings", slug,
              f"{saved.mode}, {saved.time_zone}, every {saved.cadence_days} days at "
              f"{saved.send_time} on {','.join(saved.send_weekdays)}")
        flash(request, f"Saved the schedule settings of {slug}.")
        return back(slug)

    @router.post("/series/{slug}/schedule/{position}")
    def schedule_issue(request: Request, staff: EditorStaff, form: FormFields, slug: str,
                       position: int) -> Response:
        moving = form.get("action") == "move"
        try:
            view = broadcasts_admin.schedule_issue(
                app, slug, position, form.get("at", ""), form.get("tz") or None,
                must_exist=moving)
        except NewsletterError as err:
            flash(request, sentence(str(err)), "error")
            return back(slug)
        verb = "moved" if moving else "scheduled"
        detail = f"{view.local_time} {view.time_zone}"
        audit(request, staff, f"schedule.{'move' if moving else 'add'}", f"{slug}/{position}",
              detail)
        note = f" {view.note}." if view.note else ""
        was = f" (was {view.previous})" if moving and view.previous else ""
        flash(request, f"{slug} #{position} {verb} for {detail}{was}.{note}")
        for warning in view.warnings:  # the same warnings `newsletter schedule` prints
            flash(request, f"Warning: {sentence(warning)}", "info")
        return back(slug)

    @router.post("/series/{slug}/schedule/{position}/cancel")
    def cancel_issue(request: Request, staff: EditorStaff, slug: str, position: int
                     ) -> Response:
        try:
            view = broadcasts_admin.cancel_issue(app, slug, position)
        except NewsletterError as err:
            flash(request, sentence(str(err)), "error")
            return back(slug)
        audit(request, staff, "schedule.cancel", f"{slug}/{position}",
              f"was {view.local_time} {view.time_zone}")
        flash(request, f"{slug} #{position} cancelled: nothing will be sent.")
        return back(slug)

    return router
