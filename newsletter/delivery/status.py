"""Per-issue counts by state, open pauses, and resuming (for ``newsletter status``/``resume``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from newsletter.db.models import Delivery, DeliveryStatus, Issue, SendPause, Series

OPEN_STATES = (DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.DEFERRED)


@dataclass
class IssueCounts:
    """One issue's (or the transactional mail's) deliveries by state."""

    label: str
    title: str
    counts: dict[str, int] = field(default_factory=dict)
    paused: str | None = None

    @property
    def audience(self) -> int:
        """Every row: the audience snapshot taken at fan-out (plus later joiners added)."""
        return sum(self.counts.values())

    @property
    def finished(self) -> bool:
        """No row is queued, sending or deferred (RELIABILITY #14)."""
        return not any(self.counts.get(state, 0) for state in OPEN_STATES)


def status_counts(session: Session) -> list[IssueCounts]:
    """Counts per issue (ordered by series and position) and one line for transactional mail."""
    pauses = {row[0]: row[1] for row in session.execute(
        select(SendPause.issue_id, SendPause.reason).where(SendPause.resumed_at.is_(None)))}
    rows = session.execute(
        select(Delivery.issue_id, Series.slug, Issue.position, Issue.title, Delivery.status,
               func.count())
        .outerjoin(Issue, Issue.id == Delivery.issue_id)
        .outerjoin(Series, Series.id == Issue.series_id)
        .group_by(Delivery.issue_id, Series.slug, Issue.position, Issue.title, Delivery.status)
        .order_by(Series.slug, Issue.position)
    )
    result: dict[int | None, IssueCounts] = {}
    for issue_id, slug, position, title, status, count in rows:
        entry = result.get(issue_id)
        if entry is None:
            label = f"{slug}/{position}" if issue_id is not None else "(transactional)"
            entry = IssueCounts(label, title or "confirmation and welcome mail",
                                paused=pauses.get(issue_id) if issue_id is not None else None)
            result[issue_id] = entry
        entry.counts[str(status)] = int(count)
    return list(result.values())


def open_pauses(session: Session) -> list[tuple[int | None, str]]:
    """Open pauses as (issue id or None for everything, reason)."""
    return [(issue_id, reason) for issue_id, reason in session.execute(
        select(SendPause.issue_id, SendPause.reason).where(SendPause.resumed_at.is_(None)))]


def resume(session: Session, now: datetime, issue_id: int | None = None,
           everything: bool = False) -> int:
    """Close open pauses: one issue's, the global one, or (``everything``) all. Returns count."""
    query = update(SendPause).where(SendPause.resumed_at.is_(None))
    if not everything:
        query = query.where(SendPause.issue_id.is_(None) if issue_id is None
                            else SendPause.issue_id == issue_id)
    result = session.execute(query.values(resumed_at=now))
    return int(result.rowcount)  # type: ignore[attr-defined]
