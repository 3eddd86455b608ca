"""Bounces and complaints in, decisions out: the pure core (no database, network or web).

``parse_report(raw, verp=...)`` reads any incoming message into a
:class:`Report`; ``decide(report, ...)`` applies the policy. Phase 2's
``record_feedback`` looks up the delivery (by ``report.delivery_id``, else the
original Message-ID), loads the address's soft-bounce streak, calls
``decide`` and acts on the :class:`Decision` in one transaction.
"""

from newsletter.feedback.parse import parse_report
from newsletter.feedback.policy import Action, Decision, Policy, SoftBounce, decide
from newsletter.feedback.report import Kind, Report, classify
from newsletter.feedback.verp import Verp, verp_from_settings

__all__ = ["Action", "Decision", "Kind", "Policy", "Report", "SoftBounce", "Verp", "classify",
           "decide", "parse_report", "verp_from_settings"]
