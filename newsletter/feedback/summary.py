"""What feedback did, for ``newsletter status`` and the staff console: one read, plain values.

:func:`feedback_status` gives bounces and complaints per issue, the events
kept for staff (not understood, or matching no delivery), and the
suppression list with each address's reason and the latest evidence. The
suppression list keeps only a hash of each address (erased people stay
unnamed); the address is shown when a person or a feedback event still
names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from newsletter.audience.addresses import address_hash
from newsletter.db.models import (
    Delivery,
    DeliveryStatus,
    FeedbackEvent,
    Issue,
    Series,
    Subscriber,
    Suppression,
)
from newsletter.feedback.policy import Action

if TYPE_CHECKING:
    from newsletter.app import App


@dataclass
class IssueFeedback:
    """One issue's feedback events by kind (``hard_bounce``, ``complaint``...)."""

    label: str
    title: str
    counts: dict[str, int] = field(default_factory=dict)
    sent: int = 0  # the issue's deliveries marked sent (0 for transactional or unmatched)

    def rate(self, kind: str) -> float | None:
        """Events of ``kind`` per sent message, or None when nothing was sent."""
        return self.counts.get(kind, 0) / self.sent if self.sent else None


@dataclass(frozen=True)
class SuppressedAddress:
    """One suppression: the address when still known, the reason, when, and the evidence."""

    address: str | None
    reason: str
    since: datetime
    detail: str | None  # the latest feedback event's status and diagnostic, if any


@dataclass(frozen=True)
class HeldEvent:
    """A feedback event kept for staff: not understood, or matching no delivery."""

    received_at: datetime
    source: str
    kind: str
    address: str | None
    reason: str
    raw_ref: str | None


@dataclass
class FeedbackStatus:
    """Everything ``status`` and the console show about bounces and complaints."""

    issues: list[IssueFeedback]
    suppressed: list[SuppressedAddress]
    held: list[HeldEvent]
    suppressed_total: int


def feedback_status(app: App, *, limit: int = 50) -> FeedbackStatus:
    """Per-issue counts, the newest ``limit`` suppressions and held events."""
    with app.db.read("reading bounces and complaints") as session:
        per_issue: dict[int | None, IssueFeedback] = {}
        rows = session.execute(
            select(FeedbackEvent.issue_id, Series.slug, Issue.position, Issue.title,
                   FeedbackEvent.kind, func.count())
            .outerjoin(Issue, Issue.id == FeedbackEvent.issue_id)
            .outerjoin(Series, Series.id == Issue.series_id)
            .group_by(FeedbackEvent.issue_id, Series.slug, Issue.position, Issue.title,
                      FeedbackEvent.kind)
            .order_by(Series.slug, Issue.position))
        for issue_id, slug, position, title, kind, count in rows:
            entry = per_issue.get(issue_id)
            if entry is None:
                label = f"{slug}/{position}" if issue_id is not None else "(no issue)"
                entry = IssueFeedback(label, title or "transactional mail or unmatched")
                per_issue[issue_id] = entry
            entry.counts[str(kind)] = int(count)
        issue_ids = [issue_id for issue_id in per_issue if issue_id is not None]
        if issue_ids:
            for issue_id, sent in session.execute(
                    select(Delivery.issue_id, func.count()).where(
                        Delivery.issue_id.in_(issue_ids), Delivery.status == DeliveryStatus.SENT)
                    .group_by(Delivery.issue_id)):
                per_issue[issue_id].sent = int(sent)
        total = session.scalar(select(func.count()).select_from(Suppression)) or 0
        newest = list(session.scalars(
            select(Suppression).order_by(Suppression.created_at.desc(), Suppression.id.desc())
            .limit(limit)))
        hashes = {row.email_hash for row in newest}
        names: dict[str, str] = {}
        evidence: dict[str, str] = {}
        events = session.execute(
            select(FeedbackEvent.address, FeedbackEvent.status_code, FeedbackEvent.diagnostic,
                   FeedbackEvent.kind)
            .where(FeedbackEvent.address.is_not(None),
                   FeedbackEvent.action.in_([Action.SUPPRESS, Action.UNSUBSCRIBE_ALL]))
            .order_by(FeedbackEvent.received_at))
        for address, status, diagnostic, kind in events:
            if address is None:
                continue
            digest = address_hash(address)
            if digest in hashes:
                names[digest] = address
                evidence[digest] = " ".join(p for p in (str(kind), status, diagnostic) if p)
        missing = hashes - names.keys()
        if missing:
            # People whose rows remain (e.g. a bounce at RCPT time, no event): hash to match.
            for email in session.scalars(select(Subscriber.email)):
                digest = address_hash(email)
                if digest in missing:
                    names[digest] = email
        suppressed = [SuppressedAddress(names.get(row.email_hash), row.reason, row.created_at,
                                        evidence.get(row.email_hash)) for row in newest]
        held = [HeldEvent(e.received_at, e.source, e.kind, e.address, e.reason, e.raw_ref)
                for e in session.scalars(
                    select(FeedbackEvent).where(FeedbackEvent.action == Action.HOLD)
                    .order_by(FeedbackEvent.received_at.desc()).limit(limit))]
        return FeedbackStatus(list(per_issue.values()), suppressed, held, int(total))
