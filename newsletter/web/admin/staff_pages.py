"""``/admin/staff`` (owners only): list, add, change role, reset password, remove.

Each action calls the same service as ``newsletter staff …`` (newsletter.accounts.staff),
which writes the audit entry in the change's own transaction. A password left
empty is generated and shown once, on the answer to that POST (never kept in
the session or a redirect).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from newsletter.accounts import staff as accounts
from newsletter.accounts.passwords import MIN_LENGTH, generate_password
from newsletter.accounts.roles import Role, parse_role
from newsletter.app import App
from newsletter.errors import AccountError, NotFoundError
from newsletter.web.admin.deps import FormFields, OwnerStaff, actor_of
from newsletter.web.admin.render import flash, page

BACK = "/admin/staff"


def staff_router(app: App) -> APIRouter:
    """The staff management pages."""
    router = APIRouter(prefix="/staff")

    def back() -> Response:
        return RedirectResponse(BACK, status_code=303)

    @router.get("")
    def list_page(request: Request, staff: OwnerStaff) -> Response:
        return page(request, "staff.html", {
            "accounts": accounts.list_staff(app), "roles": [role.value for role in Role],
            "min_length": MIN_LENGTH,
        })

    @router.post("/add")
    def add(request: Request, form: FormFields,
            staff: OwnerStaff) -> Response:
        password = form.get("password", "")
        generated = not password
        password = password or generate_password()
        try:
            added = accounts.add_staff(app, form.get("email", ""),
                                       parse_role(form.get("role", "")), password,
                                       actor=actor_of(request, staff))
        except (AccountError, NotFoundError) as err:
            flash(request, _sentence(str(err)), "error")
            return back()
        if generated:
            return page(request, "password.html", {
                "email": added.email, "password": password, "added": True,
            })
        flash(request, f"Added {added.email} as {added.role}.")
        return back()

    @router.post("/role")
    def role(request: Request, form: FormFields,
             staff: OwnerStaff) -> Response:
        try:
            changed = accounts.change_role(app, form.get("email", ""),
                                           parse_role(form.get("role", "")),
                                           actor=actor_of(request, staff))
        except (AccountError, NotFoundError) as err:
            flash(request, _sentence(str(err)), "error")
            return back()
        flash(request, f"{changed.email} is now {changed.role}.")
        return back()

    @router.post("/password")
    def password(request: Request, form: FormFields,
                 staff: OwnerStaff) -> Response:
        if form.get("email", "").strip().lower() == staff.email:
            flash(request, "Change your own password under Your account.", "info")
            return RedirectResponse("/admin/account", status_code=303)
        new = form.get("password", "")
        generated = not new
        new = new or generate_password()
        try:
            changed = accounts.reset_password(app, form.get("email", ""), new,
                                              actor=actor_of(request, staff))
        except (AccountError, NotFoundError) as err:
            flash(request, _sentence(str(err)), "error")
            return back()
        if generated:
            return page(request, "password.html", {
                "email": changed.email, "password": new, "added": False,
            })
        flash(request, f"New password set for {changed.email}; their sessions have ended.")
        return back()

    @router.get("/remove")
    def confirm_remove(request: Request, staff: OwnerStaff, email: str = "") -> Response:
        try:
            found = accounts.get_staff(app, email)
        except (AccountError, NotFoundError) as err:
            flash(request, _sentence(str(err)), "error")
            return back()
        return page(request, "staff_remove.html", {"account": found})

    @router.post("/remove")
    def remove(request: Request, form: FormFields,
               staff: OwnerStaff) -> Response:
        email = form.get("email", "")
        try:
            accounts.remove_staff(app, email, actor=actor_of(request, staff))
        except (AccountError, NotFoundError) as err:
            flash(request, _sentence(str(err)), "error")
            return back()
        if email.strip().lower() == staff.email:
            return RedirectResponse("/admin/login", status_code=303)
        flash(request, f"Removed {email.strip().lower()}.")
        return back()

    return router


def _sentence(message: str) -> str:
    text = message[:1].upper() + message[1:]
    return text if text.endswith(".") else text + "."
