"""``/admin/sends``: every issue's deliveries, one issue's send as it runs, pauses, recipients.

* ``/admin/sends`` — each issue's counts (``newsletter status``), a global
  pause with its Resume button, and the search for one recipient's record.
* ``/admin/sends/<series>/<n>`` — one issue: deliveries by state, refreshed
  by htmx every few seconds while the send runs (``…/counts`` is the
  fragment; without JavaScript the page's Reload link does the same), the
  failure reasons grouped, its pauses with Resume, "Send me a test" (editors)
  and "Send now to the list" (owners, after a confirmation page with the
  audience count).

Resume is ``newsletter resume``'s service, the test is ``newsletter
test-send``'s, send now is ``newsletter send --issue``'s; every action is
written to the audit log.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from newsletter.accounts.staff import list_staff
from newsletter.app import App
from newsletter.delivery.records import issue_sends, recipient_record
from newsletter.delivery.status import lift_pauses, sending_status
from newsletter.delivery.testsend import send_test
from newsletter.errors import NewsletterError
from newsletter.schedule.send_now import audience_count, send_now
from newsletter.web.admin.deps import EditorStaff, FormFields, OwnerStaff, ViewerStaff, audit
from newsletter.web.admin.render import flash, page
from newsletter.web.admin.schedule import sentence

POLL_SECONDS = 2


def issue_url(slug: str, position: int) -> str:
    """The sends page of one issue."""
    return f"/admin/sends/{quote(slug, safe='')}/{position}"


def sends_router(app: App) -> APIRouter:
    """The sends pages."""
    router = APIRouter(prefix="/sends")

    def to_issue(slug: str, position: int) -> Response:
        return RedirectResponse(issue_url(slug, position), status_code=303)

    @router.get("")
    def overview(request: Request, staff: ViewerStaff, email: str = "") -> Response:
        rows, pauses = sending_status(app)
        recipient = None
        search_error = ""
        if email.strip():
            try:
                recipient = recipient_record(app, email)
            except NewsletterError as err:
                search_error = sentence(str(err))
        issues = [row for row in rows if "/" in row.label]
        return page(request, "sends.html", {
            "rows": issues, "states": STATE_ORDER,
            "global_pauses": [reason for issue_id, reason in pauses if issue_id is None],
            "email": email, "recipient": recipient, "search_error": search_error,
            "nav_active": "sends",
        })

    @router.post("/resume")
    def resume_everything(request: Request, staff: EditorStaff, form: FormFields) -> Response:
        lifted = lift_pauses(app)
        audit(request, staff, "send.resume", "all sending", f"{lifted} pause(s) lifted")
        flash(request, "Sending resumed." if lifted else "Nothing was paused.")
        back = form.get("back", "")
        target = back if back.startswith("/admin/sends/") and "//" not in back else "/admin/sends"
        return RedirectResponse(target, status_code=303)

    def _issue(request: Request, slug: str, position: int, template: str) -> Response:
        try:
            sends = issue_sends(app, slug, position)
        except NewsletterError as err:
            return page(request, "sends_missing.html", {
                "message": sentence(str(err)), "slug": slug, "position": position,
            }, status=404)
        return page(request, template, {
            "sends": sends, "states": STATE_ORDER, "poll": POLL_SECONDS,
            "url": issue_url(slug, position), "nav_active": "sends",
            "staff_emails": [s.email for s in list_staff(app)],
        })

    @router.get("/{slug}/{position}")
    def issue_page(request: Request, staff: ViewerStaff, slug: str, position: int) -> Response:
        return _issue(request, slug, position, "sends_issue.html")

    @router.get("/{slug}/{position}/counts")
    def counts_fragment(request: Request, staff: ViewerStaff, slug: str, position: int
                        ) -> Response:
        return _issue(request, slug, position, "sends_counts.html")

    @router.post("/{slug}/{position}/resume")
    def resume_issue(request: Request, staff: EditorStaff, slug: str, position: int
                     ) -> Response:
        try:
            lifted = lift_pauses(app, (slug, position))
        except NewsletterError as err:
            flash(request, sentence(str(err)), "error")
            return to_issue(slug, position)
        audit(request, staff, "send.resume", f"{slug}/{position}", f"{lifted} pause(s) lifted")
        flash(request, "Sending resumed." if lifted else "Nothing was paused.")
        return to_issue(slug, position)

    @router.post("/{slug}/{position}/test")
    def test_send(request: Request, staff: EditorStaff, form: FormFields, slug: str,
                  position: int) -> Response:
        allowed = {s.email for s in list_staff(app)}
        wanted = form.get("to") or staff.email
        if wanted not in allowed:
            flash(request, f"Tests go to staff addresses only; {wanted} is not one.", "error")
            return to_issue(slug, position)
        try:
            result = send_test(app, slug, position, [wanted])
        except NewsletterError as err:
            flash(request, sentence(str(err)), "error")
            return to_issue(slug, position)
        [sent] = result.results
        audit(request, staff, "send.test", f"{slug}/{position}",
              f"to {sent.to}: {'sent' if sent.sent else sent.detail}")
        if sent.sent:
            flash(request, f"Test sent to {sent.to}: “{result.subject}” ({sent.message_id}).")
        else:
            flash(request, f"The test to {sent.to} was not accepted: {sent.detail}.", "error")
        return to_issue(slug, position)

    @router.get("/{slug}/{position}/send-now")
    def confirm_send_now(request: Request, staff: OwnerStaff, slug: str, position: int
                         ) -> Response:
        try:
            count = audience_count(app, slug, position)
            sends = issue_sends(app, slug, position)
        except NewsletterError as err:
            flash(request, sentence(str(err)), "error")
            return to_issue(slug, position)
        return page(request, "send_now.html", {
            "sends": sends, "count": count, "url": issue_url(slug, position),
            "nav_active": "sends",
        })

    @router.post("/{slug}/{position}/send-now")
    def do_send_now(request: Request, staff: OwnerStaff, form: FormFields, slug: str,
                    position: int) -> Response:
        if form.get("confirm") != "yes":
            flash(request, "Nothing was sent: tick the confirmation first.", "error")
            return RedirectResponse(issue_url(slug, position) + "/send-now", status_code=303)
        try:
            sent = send_now(app, slug, position)
        except NewsletterError as err:
            flash(request, sentence(str(err)), "error")
            return to_issue(slug, position)
        audit(request, staff, "send.now", f"{slug}/{position}",
              f"{sent.added} queued (confirmed for {form.get('count', '?')})")
        flash(request, f"Queued {slug} #{position} for {sent.added} people; it is going out now.")
        return to_issue(slug, position)

    return router


STATE_ORDER = ("queued", "sending", "sent", "deferred", "failed", "suppressed", "unknown")
