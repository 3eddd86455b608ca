"""``/admin/login`` (GET the form, POST ``email`` + ``password``) and ``POST /admin/logout``.

A wrong password and an unknown address get the same page, status and
message; too many failures get 429 with Retry-After (RELIABILITY: console).
The session cookie is HttpOnly, SameSite=Lax, limited to /admin, and Secure
whenever base_url is https.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from newsletter.accounts.sessions import LoginRefused, log_in, log_out
from newsletter.app import App
from newsletter.web.admin.deps import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    is_console_path,
    login_token,
    session_of,
)
from newsletter.web.admin.render import page
from newsletter.web.client import client_ip

MAX_FIELD = 1024


def auth_router(app: App) -> APIRouter:
    """Login and logout."""
    router = APIRouter()
    secure = app.settings.base_url.startswith("https://")
    lifetime = app.settings.console_session_max_hours * 3600

    def login_page(request: Request, *, email: str = "", next_path: str = "", error: str = "",
                   status: int = 200, headers: dict[str, str] | None = None) -> Response:
        token = login_token(request)
        response = page(request, "login.html", {
            "email": email, "next_path": next_path if is_console_path(next_path) else "",
            "error": error, "logged_out": request.query_params.get("bye") == "1",
            "nav_active": "login",
        }, status=status)
        response.set_cookie(LOGIN_COOKIE, token, path="/admin", httponly=True, samesite="lax",
                            secure=secure)
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response

    @router.get("/login")
    async def get_login(request: Request, next: str = "") -> Response:
        if await session_of(request) is not None:
            return RedirectResponse(next if is_console_path(next) else "/admin", 303)
        return await run_in_threadpool(login_page, request, next_path=next)

    @router.post("/login")
    async def post_login(request: Request) -> Response:
        form = await request.form()
        email = _text(form.get("email"))
        password = _text(form.get("password"))
        next_path = _text(form.get("next"))
        try:
            started = await run_in_threadpool(
                log_in, app, email, password, ip=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
            )
        except LoginRefused as refused:
            status, headers = (429, {"Retry-After": str(refused.retry_after)}) \
                if refused.retry_after else (401, {})
            error = _sentence(str(refused))
            return await run_in_threadpool(
                lambda: login_page(request, email=email.strip(), next_path=next_path,
                                   error=error, status=status, headers=headers)
            )
        target = next_path if is_console_path(next_path) and next_path != "/admin/login" \
            else "/admin"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, started.token, path="/admin", httponly=True,
                            samesite="lax", secure=secure, max_age=lifetime)
        response.delete_cookie(LOGIN_COOKIE, path="/admin", httponly=True, samesite="lax",
                               secure=secure)
        return response

    @router.post("/logout")
    async def post_logout(request: Request) -> Response:
        await run_in_threadpool(log_out, app, request.cookies.get(SESSION_COOKIE),
                                ip=client_ip(request))
        response = RedirectResponse("/admin/login?bye=1", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/admin", httponly=True, samesite="lax",
                               secure=secure)
        return response

    return router


def _text(value: object) -> str:
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def _sentence(message: str) -> str:
    text = message[:1].upper() + message[1:]
    return text if text.endswith(".") else text + "."
