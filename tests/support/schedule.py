"""Helpers for scheduling tests: a project with a list and a series, subscribers, and ticks.

:func:`walk` moves the clock the way a scheduler beating every ``step`` would,
but only runs the ticks that have something to do: from one due moment (a
broadcast, a drip slot, a signup's expiry; see ``newsletter.schedule.tick.next_due``)
to the next, each rounded up to the ``step`` grid. The ticks it leaves out
would have found nothing due, so the outcome is the same as ticking every step.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from newsletter.app import App
from newsletter.catalog import sync_lists
from newsletter.clock import ManualClock
from newsletter.content.lists import read_lists
from newsletter.db.engine import write_transaction
from newsletter.db.models import Delivery, Issue, MailingList, Series, Subscriber, Subscription
from newsletter.schedule.tick import TickSummary, next_due, run_due
from tests.support import project as builder
from tests.support.audience import NewPerson, insert_people

CLINIC_NEWS = builder.ListSpec(builder.CLINIC_LIST, "Riverside Pain Clinic News")


def scheduled_issue(position: int) -> builder.IssueSpec:
    """The small issue every scheduling test uses at ``position``."""
    return builder.IssueSpec(
        title=f"Part {position}",
        subject=f"Pain care, part {position}",
        preheader=f"The {position}th part",
        body=f"Part {position} of the series, in a few words.\n",
    )


def write_issue(folder: Path, position: int) -> None:
    """One small issue file at ``position``."""
    builder.write_issue(folder, position, scheduled_issue(position))


def write_project(project: Path, *, issues: int = 5, slug: str = "care", **raw: Any) -> Path:
    """Declare the list ``clinic-news`` and a series ``slug`` with ``issues`` issues."""
    builder.write_lists(project, CLINIC_NEWS)
    doc = builder.write_series(project, slug, "Pain care",
                               [scheduled_issue(n) for n in range(1, issues + 1)], **raw)
    return doc.path


def sync_lists_now(app: App) -> None:
    """Mirror lists.toml into the database, as staff commands do."""
    with write_transaction(app.sessions) as session:
        sync_lists(session, read_lists(app.settings.subscribers_path), app.clock.now())


def add_active(
    app: App, email: str, *, confirmed_at: datetime, time_zone: str | None = None
) -> int:
    """An active, confirmed subscriber of clinic-news (the signup flow is tested elsewhere)."""
    with write_transaction(app.sessions) as session:
        list_id = session.scalar(select(MailingList.id).where(MailingList.slug == "clinic-news"))
        assert list_id is not None, "declare the list first (sync_lists_now)"
        [person_id] = insert_people(session, list_id, [NewPerson(email, time_zone=time_zone)],
                                    at=confirmed_at)
        return person_id


def set_status(app: App, email: str, status: str, at: datetime) -> None:
    """Change a subscription's status directly (confirmed_at moves on reactivation)."""
    with write_transaction(app.sessions) as session:
        subscription = session.scalars(
            select(Subscription).join(Subscriber).where(Subscriber.email == email)
        ).one()
        subscription.status = status
        subscription.updated_at = at
        if status == "active":
            subscription.confirmed_at = at


def issue_deliveries(app: App, slug: str = "care") -> list[tuple[str, int, datetime]]:
    """(email, position, queued_at) of every issue delivery of the series, in queue order."""
    with app.sessions() as session:
        rows = session.execute(
            select(Subscriber.email, Issue.position, Delivery.queued_at)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .join(Issue, Issue.id == Delivery.issue_id)
            .join(Series, Series.id == Issue.series_id)
            .where(Series.slug == slug, Delivery.kind == "issue")
            .order_by(Delivery.queued_at, Delivery.id)
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def next_beat(start: datetime, step: timedelta, beat: datetime, due: datetime) -> datetime:
    """The first beat of the grid ``start + k × step`` at or after ``due`` and after ``beat``."""
    beats = max(-((start - due) // step), (beat - start) // step + 1)
    return start + beats * step


def walk(app: App, clock: ManualClock, until: datetime, step: timedelta) -> list[TickSummary]:
    """Run the scheduler as if it beat every ``step`` from the clock's time up to ``until``.

    Only the beats with something due run; afterwards the clock stands where
    the beating would have left it (the first beat after ``until``).
    """
    start = clock.now()
    summaries = []
    beat = start
    while beat <= until:
        clock.set(beat)
        summaries.append(run_due(app, beat, drain=False))
        due = next_due(app, beat)
        if due is None or due > until:
            break
        beat = next_beat(start, step, beat, due)
    if start <= until:
        clock.set(start + ((until - start) // step + 1) * step)
    return summaries


def ticks(app: App, clock: ManualClock, moments: Iterable[datetime]) -> list[TickSummary]:
    """Set the clock to each moment in turn (forward or back) and tick once."""
    out = []
    for moment in moments:
        clock.set(moment)
        out.append(run_due(app, clock.now(), drain=False))
    return out
