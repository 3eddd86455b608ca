"""``/admin/account``: anyone logged in changes their own password (current one first).

The session they use stays; every other login of the account ends.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from newsletter.accounts.passwords import MIN_LENGTH
from newsletter.accounts.staff import change_own_password
from newsletter.app import App
from newsletter.errors import AccountError, NotFoundError
from newsletter.web.admin.deps import FormFields, ViewerStaff, actor_of, session_id_of
from newsletter.web.admin.render import flash, page

BACK = "/admin/account"


def account_router(app: App) -> APIRouter:
    """The own-password page."""
    router = APIRouter(prefix="/account")

    @router.get("")
    def account_page(request: Request, staff: ViewerStaff) -> Response:
        return page(request, "account.html", {"min_length": MIN_LENGTH})

    @router.post("/password")
    def change(request: Request, staff: ViewerStaff, form: FormFields) -> Response:
        new, again = form.get("new_password", ""), form.get("new_password_again", "")
        if new != again:
            flash(request, "The two new passwords are not the same.", "error")
            return RedirectResponse(BACK, status_code=303)
        try:
            change_own_password(app, staff.id, form.get("current_password", ""), new,
                                actor=actor_of(request, staff),
                                keep_session=session_id_of(request))
        except (AccountError, NotFoundError) as err:
            message = str(err)
            flash(request, message[:1].upper() + message[1:] + ".", "error")
            return RedirectResponse(BACK, status_code=303)
        flash(request, "Your password is changed; your other logins have ended.")
        return RedirectResponse(BACK, status_code=303)

    return router
