"""Console pages: ``page(...)`` renders ``templates/admin/<template>`` inside ``admin/base.html``.

Every page's context has ``staff`` (a :class:`~newsletter.web.admin.deps.Staff`,
or None on the login page), ``csrf_token``, ``csrf_field()`` (the hidden input
for a form), ``now`` (the App's clock), ``nav_active`` (which menu entry is
current: the first path segment after /admin unless the context says),
``flashes`` (messages kept by :func:`flash` before a redirect), and
``when(dt)`` (a time as staff read it: the configured zone, day and minute).
Templates are Jinja2 with autoescape and StrictUndefined.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from newsletter.accounts.sessions import SessionView, add_flash, take_flashes
from newsletter.clock import find_zone
from newsletter.web.admin.deps import CSRF_FIELD, Staff, the_app

NO_STORE = {"Cache-Control": "no-store"}


def csrf_token_of(request: Request) -> str:
    """The token forms on this page must send back (the session's, or the login form's)."""
    view = cast("SessionView | None", getattr(request.state, "console_session", None))
    if view is not None:
        return view.csrf_token
    return str(getattr(request.state, "console_login_token", ""))


def page(
    request: Request, template: str, context: dict[str, object], *, status: int = 200
) -> HTMLResponse:
    """The HTML response of console template ``template`` (e.g. ``"dashboard.html"``).

    A template that does not extend ``admin/base.html`` is a fragment (for htmx).

    Blocking when there are kept messages to show (one short write): call it
    from a plain ``def`` route.
    """
    app = the_app(request)
    view = cast("SessionView | None", getattr(request.state, "console_session", None))
    staff = cast("Staff | None", getattr(request.state, "console_staff", None))
    token = csrf_token_of(request)
    # htmx fragments (polling, previews) leave the kept messages for the next whole page.
    wants_flashes = view is not None and view.has_flashes and not request.headers.get("hx-request")
    flashes = take_flashes(app, view.session_id) if view is not None and wants_flashes else []
    zone = find_zone(app.settings.time_zone)

    def csrf_field() -> Markup:
        return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)

    def when(moment: datetime | None) -> str:
        if moment is None:
            return "never"
        local = moment.astimezone(zone) if zone is not None else moment
        return f"{local:%a %d %b %Y, %H:%M} {local.tzname() or ''}".strip()

    segments = request.url.path.removeprefix("/admin").strip("/").split("/")
    values: dict[str, object] = {
        "staff": staff,
        "csrf_token": token,
        "csrf_field": csrf_field,
        "now": app.clock.now(),
        "nav_active": segments[0] or "dashboard",
        "flashes": flashes,
        "when": when,
        **context,
    }
    html = app.pages.render(f"admin/{template}", values)
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """Keep ``message`` for the next page of this session (after a POST → 303 → GET).

    ``kind`` is ``ok``, ``error`` or ``info`` (it picks the colour and the
    role: errors are announced to screen readers at once). Blocking: call it
    from a plain ``def`` route.
    """
    view = cast("SessionView | None", getattr(request.state, "console_session", None))
    if view is not None:
        add_flash(the_app(request), view.session_id, message, kind)
