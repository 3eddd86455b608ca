"""What every console route depends on: the logged-in staff member, the role check, CSRF, audit.

* ``staff: EditorStaff`` (or ``ViewerStaff``, ``OwnerStaff``; the same as
  ``Annotated[Staff, Depends(staff_for(Role.EDITOR))]``) in a route: not logged
  in → 303 to ``/admin/login?next=…``; a role too low → the 403 page.
* :func:`check_csrf` is a dependency of the whole ``/admin`` router, so every
  request other than GET/HEAD/OPTIONS under it needs the session's token in
  the form field ``csrf_token`` or the header ``X-CSRF-Token`` (htmx sends the
  header: ``admin/base.html`` sets ``hx-headers``), else 403 before the route
  runs. Before login the token is a double-submit cookie set by the login page.
* :func:`audit` appends to the audit log with who, from where, and when.

RELIABILITY #53 (CSRF, sessions) and #55 (roles checked on the server for
every action). Session lookups touch the database; they are cached on ``request.state`` so a
request looks its session up once.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, cast
from urllib.parse import quote

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from newsletter.accounts.audit import Actor, record_action
from newsletter.accounts.roles import Role, allows
from newsletter.accounts.sessions import SessionView, current_session
from newsletter.web.client import client_ip

if TYPE_CHECKING:
    from newsletter.app import App

SESSION_COOKIE = "newsletter_console"
LOGIN_COOKIE = "newsletter_console_login"  # the CSRF token of the login form (double submit)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_UNSET = object()


@dataclass(frozen=True)
class Staff:
    """The staff member making the request."""

    id: int
    email: str
    role: Role


class LoginRequired(Exception):
    """No valid session: the handler sends the browser to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class NotAllowed(Exception):
    """Logged in, but the role is too low for this page or action."""

    def __init__(self, need: Role) -> None:
        super().__init__(need)
        self.need = need


class CsrfRefused(Exception):
    """A state-changing request without the right CSRF token: answered 403, nothing done."""


def the_app(request: Request) -> App:
    """The App the web app was built with."""
    return cast("App", request.app.state.app)


async def session_of(request: Request) -> SessionView | None:
    """The request's valid session (looked up once per request), or None."""
    cached = getattr(request.state, "console_session", _UNSET)
    if cached is not _UNSET:
        return cast("SessionView | None", cached)
    token = request.cookies.get(SESSION_COOKIE)
    view = await run_in_threadpool(current_session, the_app(request), token) if token else None
    request.state.console_session = view
    if view is not None:  # pages (even the 403 ones) show who is logged in
        request.state.console_staff = Staff(view.staff_id, view.email, view.role)
    return view


def session_id_of(request: Request) -> int | None:
    """The id of the request's session, once a dependency has looked it up (else None)."""
    view = cast("SessionView | None", getattr(request.state, "console_session", None))
    return view.session_id if view is not None else None


def login_token(request: Request) -> str:
    """The login form's CSRF token: the browser's cookie, or a new one (set by the login page)."""
    token = request.cookies.get(LOGIN_COOKIE, "")
    if not (20 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum()):
        token = secrets.token_urlsafe(32)
    request.state.console_login_token = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse (CsrfRefused → 403) a non-GET request whose token is missing or wrong."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and _is_form(request):
        try:
            form = await request.form()
        except Exception:  # an unreadable body carries no token
            raise CsrfRefused from None
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    view = await session_of(request)
    expected = view.csrf_token if view is not None else request.cookies.get(LOGIN_COOKIE, "")
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind in ("application/x-www-form-urlencoded", "multipart/form-data")


def staff_for(need: Role) -> Callable[[Request], Awaitable[Staff]]:
    """A dependency giving the logged-in :class:`Staff` whose role allows ``need``."""

    async def dependency(request: Request) -> Staff:
        view = await session_of(request)
        if view is None:
            path = request.url.path
            if request.method in SAFE_METHODS and request.url.query:
                path += "?" + request.url.query
            raise LoginRequired(path if request.method in SAFE_METHODS else "/admin")
        staff = Staff(view.staff_id, view.email, view.role)
        request.state.console_staff = staff
        if not allows(view.role, need):
            raise NotAllowed(need)
        return staff

    return dependency


# Route parameters: ``def route(request: Request, staff: EditorStaff) -> Response``.
ViewerStaff = Annotated[Staff, Depends(staff_for(Role.VIEWER))]
EditorStaff = Annotated[Staff, Depends(staff_for(Role.EDITOR))]
OwnerStaff = Annotated[Staff, Depends(staff_for(Role.OWNER))]


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form's text fields (the last of repeated ones; files left out)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def login_url(next_path: str) -> str:
    """``/admin/login`` with a ``next`` that leads back (only ever to a console page)."""
    if next_path in ("", "/admin") or not is_console_path(next_path):
        return "/admin/login"
    return "/admin/login?next=" + quote(next_path, safe="/")


_CONSOLE_PATH = re.compile(r"/admin(/[A-Za-z0-9._~-]+)*/?(\?[A-Za-z0-9._~=&%+-]*)?")


def is_console_path(path: str) -> bool:
    """True for a plain path of ours under /admin: never another host, never ``..``."""
    if not _CONSOLE_PATH.fullmatch(path):
        return False
    segments = path.split("?", 1)[0].split("/")
    return not any(segment in (".", "..") for segment in segments)


def audit(request: Request, staff: Staff, action: str, target: str, detail: str = "") -> None:
    """Append to the audit log: ``staff`` did ``action`` to ``target``, now, from the client IP.

    Blocking (one short write): call it from a plain ``def`` route, which
    FastAPI runs in a thread.
    """
    record_action(the_app(request), Actor(staff.email, client_ip(request)), action, target,
                  detail)


def actor_of(request: Request, staff: Staff) -> Actor:
    """The :class:`Actor` for services that write the audit entry in their own transaction."""
    return Actor(staff.email, client_ip(request))
