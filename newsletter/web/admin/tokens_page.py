"""``/admin/tokens`` (owners only): the REST API's bearer tokens — list, create, revoke.

Each action calls the same service as ``newsletter staff token …``
(newsletter.accounts.api_tokens), which writes the audit entry in the change's
own transaction. A new token is shown once, on the answer to the create POST
(never kept in the session, a cookie or a redirect).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from newsletter.accounts import api_tokens
from newsletter.accounts.roles import Role, parse_role
from newsletter.app import App
from newsletter.errors import AccountError, NotFoundError
from newsletter.web.admin.deps import FormFields, OwnerStaff, actor_of
from newsletter.web.admin.render import flash, page

BACK = "/admin/tokens"


def tokens_router(app: App) -> APIRouter:
    """The API token pages."""
    router = APIRouter(prefix="/tokens")

    def back() -> Response:
        return RedirectResponse(BACK, status_code=303)

    @router.get("")
    def list_page(request: Request, staff: OwnerStaff) -> Response:
        return page(request, "tokens.html", {
            "tokens": api_tokens.list_tokens(app), "roles": [role.value for role in Role],
        })

    @router.post("/create")
    def create(request: Request, form: FormFields, staff: OwnerStaff) -> Response:
        try:
            made = api_tokens.create_token(app, form.get("name", ""),
                                           parse_role(form.get("role", "")),
                                           actor=actor_of(request, staff))
        except AccountError as err:
            flash(request, _sentence(str(err)), "error")
            return back()
        response = page(request, "token_created.html", {"made": made})
        response.headers["Cache-Control"] = "no-store"  # the secret is in this page only
        return response

    @router.post("/revoke")
    def revoke(request: Request, form: FormFields, staff: OwnerStaff) -> Response:
        try:
            revoked = api_tokens.revoke_token(app, form.get("id", ""),
                                              actor=actor_of(request, staff))
        except (AccountError, NotFoundError) as err:
            flash(request, _sentence(str(err)), "error")
            return back()
        flash(request, f"Revoked the token {revoked.name}: its next request is refused.")
        return back()

    return router


def _sentence(message: str) -> str:
    text = message[:1].upper() + message[1:]
    return text if text.endswith(".") else text + "."
