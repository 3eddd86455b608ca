"""Helpers for scheduling tests: a project with a list and a series, subscribers, and ticks."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from newsletter.app import App
from newsletter.clock import ManualClock
from newsletter.content.issuefile import format_issue, write_series_config
from newsletter.db.engine import write_transaction
from newsletter.db.models import Delivery, Issue, Series, Subscriber, Subscription
from newsletter.schedule.tick import TickSummary, run_due

LISTS_TOML = """
[[list]]
slug = "clinic-news"
name = "Riverside Pain Clinic News"
"""


def write_issue(folder: Path, position: int) -> None:
    """One small issue file at ``position``."""
    front = {
        "title": f"Part {position}",
        "subject": f"Pain care, part {position}",
        "preheader": f"The {position}th part",
        "position": position,
    }
    body = f"Part {position} of the series, in a few words.\n"
    (folder / f"{position:02d}-part-{position}.md").write_text(
        format_issue(front, body), encoding="utf-8"
    )


def write_project(project: Path, *, issues: int = 5, slug: str = "care", **raw: Any) -> Path:
    """Declare the list ``clinic-news`` and a series ``slug`` with ``issues`` issues."""
    (project / "subscribers" / "lists.toml").write_text(LISTS_TOML, encoding="utf-8")
    folder = project / "issues" / slug
    folder.mkdir(parents=True, exist_ok=True)
    write_series_config(folder, {"title": "Pain care", "list": "clinic-news", **raw})
    for position in range(1, issues + 1):
        write_issue(folder, position)
    return folder


def sync_lists_now(app: App) -> None:
    """Mirror lists.toml into the database, as staff commands do."""
    from newsletter.content.lists import read_lists, sync_lists

    with write_transaction(app.sessions) as session:
        sync_lists(session, read_lists(app.settings.subscribers_path), app.clock.now())


def add_active(
    app: App, email: str, *, confirmed_at: datetime, time_zone: str | None = None
) -> int:
    """An active, confirmed subscriber of clinic-news (the signup flow is tested elsewhere)."""
    from newsletter.content.lists import get_list

    with write_transaction(app.sessions) as session:
        mailing_list = get_list(session, "clinic-news")
        person = Subscriber(
            public_id=uuid.uuid4().hex, email=email, time_zone=time_zone,
            created_at=confirmed_at,
        )
        session.add(person)
        session.flush()
        session.add(
            Subscription(
                subscriber_id=person.id, list_id=mailing_list.id, status="active",
                created_at=confirmed_at, updated_at=confirmed_at, confirmed_at=confirmed_at,
            )
        )
        return person.id


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


def walk(
    app: App, clock: ManualClock, until: datetime, step: timedelta, *, drain: bool = False
) -> list[TickSummary]:
    """Tick the scheduler service every ``step`` from the clock's time up to ``until``."""
    summaries = []
    while clock.now() <= until:
        summaries.append(run_due(app, clock.now(), drain=drain))
        clock.advance(step)
    return summaries


def ticks(app: App, clock: ManualClock, moments: Iterable[datetime]) -> list[TickSummary]:
    """Set the clock to each moment in turn (forward or back) and tick once."""
    out = []
    for moment in moments:
        clock.set(moment)
        out.append(run_due(app, clock.now(), drain=False))
    return out
