"""What was sent: per-issue counts by state, pauses and resuming, the published issues.

For ``newsletter status`` and ``newsletter resume``, and the public archive
("published" rule: an issue is public once at least one delivery of it has
been sent, so the web edition of an email is reachable by whoever got it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from newsletter.db.models import OPEN_STATES, Delivery, DeliveryStatus, Issue, SendPause, Series
from newsletter.db.transactions import rowcount
from newsletter.errors import NotFoundError

if TYPE_CHECKING:
    from newsletter.app import App

MAX_SLUG = 100  # the width of series.slug: a longer one cannot name a series


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


def open_pause(session: Session, issue_id: int | None, reason: str, now: datetime) -> bool:
    """Open a pause unless one is already open for the same scope; True when opened."""
    scope = SendPause.issue_id.is_(None) if issue_id is None else SendPause.issue_id == issue_id
    if session.scalar(select(SendPause.id).where(SendPause.resumed_at.is_(None), scope)):
        return False
    session.add(SendPause(issue_id=issue_id, reason=reason[:2000], created_at=now))
    session.flush()
    return True


def resume(session: Session, now: datetime, issue_id: int | None = None,
           everything: bool = False) -> int:
    """Close open pauses: one issue's, the global one, or (``everything``) all. Returns count."""
    query = update(SendPause).where(SendPause.resumed_at.is_(None))
    if not everything:
        query = query.where(SendPause.issue_id.is_(None) if issue_id is None
                            else SendPause.issue_id == issue_id)
    return rowcount(session.execute(query.values(resumed_at=now)))


def sending_status(app: App) -> tuple[list[IssueCounts], list[tuple[int | None, str]]]:
    """Counts per issue and the open pauses (``newsletter status``)."""
    with app.db.read() as session:
        return status_counts(session), open_pauses(session)


def lift_pauses(app: App, issue: tuple[str, int] | None = None, *,
                everything: bool = False) -> int:
    """Close the global pause, one issue's (``(series, position)``), or all; returns how many."""
    with app.db.write("resuming") as session:
        issue_id = None
        if issue is not None:
            slug, position = issue
            issue_id = session.scalar(select(Issue.id).join(Series).where(
                Series.slug == slug, Issue.position == position))
            if issue_id is None:
                raise NotFoundError(f"no issue {slug}/{position} in the database")
        return resume(session, app.clock.now(), issue_id, everything)


@dataclass(frozen=True)
class PublishedIssue:
    """One public issue of a series."""

    position: int
    title: str


def published_issues(app: App, series_slug: str) -> tuple[str, list[PublishedIssue]]:
    """The series' title and its issues that have been sent at least once, in order.

    NotFoundError names nothing of ``series_slug``: it comes from a visitor's address.
    """
    if "\x00" in series_slug or len(series_slug) > MAX_SLUG:
        raise NotFoundError("there is no such series")  # PostgreSQL refuses NUL in a query
    with app.db.read() as session:
        series = session.scalar(select(Series).where(Series.slug == series_slug))
        if series is None:
            raise NotFoundError("there is no such series")
        sent = exists().where(Delivery.issue_id == Issue.id,
                              Delivery.status == DeliveryStatus.SENT)
        rows = session.execute(
            select(Issue.position, Issue.title)
            .where(Issue.series_id == series.id, sent)
            .order_by(Issue.position)
        ).all()
        return series.title, [PublishedIssue(r.position, r.title) for r in rows]
