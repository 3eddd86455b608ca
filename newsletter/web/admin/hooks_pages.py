"""``/admin/hooks`` (owners only): outbound webhook endpoints, their delivery log, test, retry.

Owners only, because an endpoint receives subscribers' addresses: adding one
hands personal data to another system. Each action calls
:mod:`newsletter.hooks.endpoints`, which writes the audit entry in the
change's own transaction. (Not the inbound provider webhooks of
``newsletter/web/webhooks.py``.)
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from newsletter.app import App
from newsletter.errors import NewsletterError, NotFoundError
from newsletter.hooks import endpoints as hooks
from newsletter.hooks.events import EVENT_TYPES
from newsletter.web.admin.deps import FormFields, OwnerStaff, actor_of
from newsletter.web.admin.render import flash, page

BACK = "/admin/hooks"


def _chosen(form: dict[str, str]) -> list[str]:
    return [name for name in EVENT_TYPES if form.get(f"event:{name}")]


def _sentence(message: str) -> str:
    text = message[:1].upper() + message[1:]
    return text if text.endswith(".") else text + "."


def hooks_router(app: App) -> APIRouter:
    """The webhook pages."""
    router = APIRouter(prefix="/hooks")

    def to(endpoint_id: int) -> Response:
        return RedirectResponse(f"{BACK}/{endpoint_id}", status_code=303)

    def list_page(request: Request, *, form: dict[str, str] | None = None,
                  error: str | None = None) -> Response:
        return page(request, "hooks.html", {
            "endpoints": hooks.list_endpoints(app), "event_types": EVENT_TYPES,
            "form": form or {}, "error": error,
            "allow_private": app.settings.hooks_allow_private_targets,
        }, status=400 if error else 200)

    @router.get("")
    def index(request: Request, staff: OwnerStaff) -> Response:
        return list_page(request)

    @router.post("/add")
    def add(request: Request, form: FormFields, staff: OwnerStaff) -> Response:
        try:
            made = hooks.create_endpoint(app, form.get("url", ""), _chosen(form),
                                         description=form.get("description", ""),
                                         actor=actor_of(request, staff))
        except NewsletterError as err:
            return list_page(request, form=form, error=_sentence(str(err)))
        flash(request, "Endpoint added. Give its signing secret (below) to the receiver.")
        return to(made)

    @router.get("/{endpoint_id}")
    def detail(request: Request, endpoint_id: int, staff: OwnerStaff) -> Response:
        try:
            endpoint = hooks.get_endpoint(app, endpoint_id)
        except NotFoundError as err:
            return page(request, "not_found.html", {"message": _sentence(str(err))}, status=404)
        return page(request, "hook.html", {
            "endpoint": endpoint, "log": hooks.delivery_log(app, endpoint_id),
            "event_types": EVENT_TYPES,
        })

    @router.post("/{endpoint_id}/edit")
    def edit(request: Request, endpoint_id: int, form: FormFields,
             staff: OwnerStaff) -> Response:
        try:
            hooks.update_endpoint(app, endpoint_id, url=form.get("url", ""),
                                  events=_chosen(form),
                                  description=form.get("description", ""),
                                  enabled=bool(form.get("enabled")),
                                  actor=actor_of(request, staff))
        except NewsletterError as err:
            flash(request, _sentence(str(err)), "error")
            return to(endpoint_id)
        flash(request, "Saved.")
        return to(endpoint_id)

    @router.post("/{endpoint_id}/test")
    def test(request: Request, endpoint_id: int, staff: OwnerStaff) -> Response:
        try:
            event_id = hooks.send_test(app, endpoint_id, actor=actor_of(request, staff))
        except NewsletterError as err:
            flash(request, _sentence(str(err)), "error")
            return RedirectResponse(BACK, status_code=303)
        flash(request, f"Test event {event_id} queued: it appears in the log below once sent.")
        return to(endpoint_id)

    @router.post("/{endpoint_id}/retry")
    def retry(request: Request, endpoint_id: int, form: FormFields,
              staff: OwnerStaff) -> Response:
        raw = form.get("delivery_id", "")
        try:
            if not raw.isdigit():
                raise NotFoundError(f"{raw!r} is not a delivery number")
            hooks.retry_now(app, int(raw), actor=actor_of(request, staff))
        except NewsletterError as err:
            flash(request, _sentence(str(err)), "error")
            return to(endpoint_id)
        flash(request, f"Delivery {raw} will be tried again in a moment.")
        return to(endpoint_id)

    @router.get("/{endpoint_id}/delete")
    def confirm_delete(request: Request, endpoint_id: int, staff: OwnerStaff) -> Response:
        try:
            endpoint = hooks.get_endpoint(app, endpoint_id)
        except NotFoundError as err:
            return page(request, "not_found.html", {"message": _sentence(str(err))}, status=404)
        return page(request, "hook_delete.html", {"endpoint": endpoint})

    @router.post("/{endpoint_id}/delete")
    def delete(request: Request, endpoint_id: int, staff: OwnerStaff) -> Response:
        try:
            url = hooks.delete_endpoint(app, endpoint_id, actor=actor_of(request, staff))
        except NewsletterError as err:
            flash(request, _sentence(str(err)), "error")
            return RedirectResponse(BACK, status_code=303)
        flash(request, f"Removed {url} and its delivery log.")
        return RedirectResponse(BACK, status_code=303)

    return router
