"""Bounces and complaints in, decisions out, acted on.

The pure core, exported here: ``parse_report(raw, verp=...)`` reads any
incoming message into a :class:`Report`; ``decide(report, ...)`` applies the
policy; :mod:`~newsletter.feedback.providers` checks and reads provider
webhooks. The I/O around it (import them by module, not from here):
:mod:`~newsletter.feedback.intake` (``record_feedback``, the one function that
records and acts), :mod:`~newsletter.feedback.inbound` (SMTP listener),
:mod:`~newsletter.feedback.mailbox` (IMAP), :mod:`~newsletter.feedback.webhooks`
and :mod:`~newsletter.feedback.summary` (what ``status`` shows).
"""

from newsletter.feedback.parse import parse_report
from newsletter.feedback.policy import Action, Decision, Policy, SoftBounce, decide
from newsletter.feedback.report import Kind, Report, classify
from newsletter.feedback.verp import Verp, verp_from_settings

__all__ = ["Action", "Decision", "Kind", "Policy", "Report", "SoftBounce", "Verp", "classify",
           "decide", "parse_report", "verp_from_settings"]
