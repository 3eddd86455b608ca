"""``/admin/deliverability``: bounces, complaints, suppressions, and ``doctor`` on request.

The page reads :func:`~newsletter.feedback.summary.feedback_status` (the same
service ``newsletter status`` prints) for any staff. The DNS and TLS checks of
:func:`~newsletter.delivery.doctor.diagnose` reach the network, so they run
only when an editor or owner presses "Run the checks" (a POST, audited), never
on page load.
"""

from __future__ import annotations

import ssl

import dns.exception
from fastapi import APIRouter, Request
from starlette.responses import Response

from newsletter.app import App
from newsletter.delivery.doctor import Finding, diagnose, resolver_for
from newsletter.errors import NewsletterError
from newsletter.feedback.report import Kind
from newsletter.feedback.summary import feedback_status
from newsletter.web.admin.deps import EditorStaff, ViewerStaff, audit
from newsletter.web.admin.render import page

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def run_checks(app: App) -> list[Finding]:
    """``newsletter doctor``'s checks with the settings' DNS server and CA file."""
    settings = app.settings
    context = (ssl.create_default_context(cafile=str(settings.doctor_ca_file))
               if settings.doctor_ca_file else None)
    return diagnose(settings, resolver=resolver_for(settings.doctor_dns_server),
                    tls_context=context, now=app.clock.now())


def deliverability_router(app: App) -> APIRouter:
    """The deliverability page and its "Run the checks" form."""
    router = APIRouter(prefix="/deliverability")

    def render(request: Request, limit: int, extra: dict[str, object],
               status: int = 200) -> Response:
        shown = max(1, min(limit, MAX_LIMIT))
        feedback = feedback_status(app, limit=shown)
        return page(request, "deliverability.html", {
            "feedback": feedback, "limit": shown, "more_limit": min(shown * 4, MAX_LIMIT),
            "kinds": [(Kind.HARD_BOUNCE.value, "Hard bounces"),
                      (Kind.SOFT_BOUNCE.value, "Soft bounces"),
                      (Kind.COMPLAINT.value, "Complaints")],
            "findings": None, "checks_error": None, **extra,
        }, status=status)

    @router.get("")
    def deliverability(request: Request, staff: ViewerStaff,
                       limit: int = DEFAULT_LIMIT) -> Response:
        return render(request, limit, {})

    @router.post("/checks")
    def run_the_checks(request: Request, staff: EditorStaff) -> Response:
        try:
            findings = run_checks(app)
        except (NewsletterError, dns.exception.DNSException, OSError, ValueError) as err:
            audit(request, staff, "deliverability.checks", "doctor", f"could not run: {err}")
            return render(request, DEFAULT_LIMIT, {"checks_error": str(err)})
        counts = {status: sum(f.status == status for f in findings)
                  for status in ("ok", "warn", "fail")}
        audit(request, staff, "deliverability.checks", "doctor",
              ", ".join(f"{n} {status}" for status, n in counts.items()))
        return render(request, DEFAULT_LIMIT, {"findings": findings})

    return router
