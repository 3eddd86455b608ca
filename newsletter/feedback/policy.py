"""What to do about a report: the bounce and complaint policy as one pure function.

Rules (RELIABILITY #47, documented in docs/deliverability.md):

* hard bounce → suppress the address at once (subscriptions become "bounced");
* soft bounce → suppress once ``soft_limit`` soft bounces for different
  messages fall within ``soft_window`` (this one included), counting only the
  streak the caller passes (soft bounces after the address last took mail);
* complaint → unsubscribe from every list with method "complaint", suppress;
* blocked (policy refusal, DMARC failure report) → no change to anyone; alert staff,
  matched to a delivery or not;
* delayed, auto-reply → nothing;
* unknown, or any bounce/complaint that matched no delivery → keep it for staff.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from newsletter.config import Settings
from newsletter.feedback.report import Kind, Report


class Action(enum.StrEnum):
    """What the caller does with the address (and the event record)."""

    SUPPRESS = "suppress"  # suppression list + subscriptions "bounced"
    UNSUBSCRIBE_ALL = "unsubscribe_all"  # every subscription unsubscribed ("complaint") + suppress
    COUNT = "count"  # a soft bounce under the limit: record it, nothing else
    ALERT = "alert"  # blocked by policy: tell staff, leave the person alone
    IGNORE = "ignore"  # auto-reply, delay notice
    HOLD = "hold"  # not understood or not matched: keep and show, never guess


@dataclass(frozen=True)
class Policy:
    """The thresholds for soft bounces."""

    soft_limit: int = 3
    soft_window: timedelta = timedelta(days=60)

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """``bounce_soft_limit`` and ``bounce_soft_window_days``."""
        return cls(settings.bounce_soft_limit, timedelta(days=settings.bounce_soft_window_days))


@dataclass(frozen=True)
class SoftBounce:
    """An earlier soft bounce of the same address."""

    at: datetime
    delivery_id: int | None


@dataclass(frozen=True)
class Decision:
    """The action and why, in words staff can read."""

    action: Action
    reason: str
    suppression_reason: str | None = None  # "bounced" | "complained"
    unsubscribe_method: str | None = None  # "complaint"


def decide(report: Report, *, matched: bool, now: datetime, policy: Policy,
           earlier_soft: Sequence[SoftBounce] = ()) -> Decision:
    """The decision for ``report``; ``matched`` says whether its delivery was found."""
    kind = report.kind
    if kind in (Kind.AUTO_REPLY, Kind.DELAYED):
        return Decision(Action.IGNORE, f"{kind}: nothing to do")
    if kind == Kind.UNKNOWN:
        return Decision(Action.HOLD, "not a recognisable bounce or complaint: kept for staff")
    if kind == Kind.BLOCKED:
        # About us, not the person: staff hear of it even when it names no delivery of ours
        # (a DMARC failure report about mail forged in our name); nobody's state changes.
        return Decision(Action.ALERT, f"refused by the receiver's policy {report.status or ''}"
                        .strip() + ": check DNS, content and reputation; the person stays")
    if not matched:
        return Decision(Action.HOLD, f"{kind} that matches no delivery we sent: kept for staff")
    if kind == Kind.HARD_BOUNCE:
        return Decision(Action.SUPPRESS, f"hard bounce {report.status or ''}".strip(),
                        suppression_reason="bounced")
    if kind == Kind.COMPLAINT:
        return Decision(Action.UNSUBSCRIBE_ALL, "marked as spam by the recipient",
                        suppression_reason="complained", unsubscribe_method="complaint")
    since = now - policy.soft_window
    recent = {bounce.delivery_id if bounce.delivery_id is not None else f"at:{bounce.at}"
              for bounce in earlier_soft
              if bounce.at >= since and bounce.delivery_id != report.delivery_id}
    count = len(recent) + 1
    if count >= policy.soft_limit:
        return Decision(Action.SUPPRESS, f"{count} soft bounces in a row within "
                        f"{policy.soft_window.days} days", suppression_reason="bounced")
    return Decision(Action.COUNT, f"soft bounce {count} of {policy.soft_limit}")
