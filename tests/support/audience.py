"""Seed a project and database with a series, a list and N active subscribers (delivery tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select

from newsletter.app import App
from newsletter.catalog import sync_series
from newsletter.content.lists import read_lists, sync_lists
from newsletter.db.engine import write_transaction
from newsletter.db.models import Issue, MailingList, Subscriber, Subscription
from tests.support.series import write_lists, write_series


@dataclass(frozen=True)
class Seeded:
    """Ids of what :func:`seed` created."""

    issue_id: int
    list_id: int
    series_id: int
    subscriber_ids: list[int]


def address(n: int) -> str:
    """The address of seeded subscriber ``n``."""
    return f"reader{n:06d}@example.org"


def seed(app: App, project: Path, count: int, *, now: datetime | None = None,
         start: int = 0, names: bool = True) -> Seeded:
    """Write lists.toml and a 3-issue series, sync them, add ``count`` active subscribers."""
    now = now or app.clock.now()
    if not (project / "subscribers" / "lists.toml").exists():
        write_lists(project, [("clinic-news", "Riverside Pain Clinic News")])
    if not (project / "issues" / "pain-care").exists():
        write_series(project)
    from newsletter.content.issuefile import read_series

    with write_transaction(app.sessions) as session:
        sync_lists(session, read_lists(project / "subscribers"), now)
        series = sync_series(session, read_series(project / "issues" / "pain-care"), now)
        list_id = session.scalar(select(MailingList.id).where(MailingList.slug == "clinic-news"))
        assert list_id is not None
        issue_id = session.scalar(
            select(Issue.id).where(Issue.series_id == series.id, Issue.position == 1))
        assert issue_id is not None
        ids = add_subscribers(session, list_id, range(start, start + count), now, names=names)
        return Seeded(issue_id, list_id, series.id, ids)


def add_subscribers(session: object, list_id: int, numbers: range, now: datetime, *,
                    names: bool = True, status: str = "active") -> list[int]:
    """Insert subscribers with one subscription each (bulk, for speed)."""
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    if len(numbers) == 0:
        return []
    session.execute(insert(Subscriber), [
        {"public_id": f"p{n:030d}", "email": address(n),
         "name": f"Reader {n}" if names else None, "created_at": now}
        for n in numbers
    ])
    emails = [address(n) for n in numbers]
    ids: list[int] = []
    for chunk in range(0, len(emails), 500):
        ids += list(session.scalars(
            select(Subscriber.id).where(Subscriber.email.in_(emails[chunk:chunk + 500]))))
    session.execute(insert(Subscription), [
        {"subscriber_id": sid, "list_id": list_id, "status": status, "created_at": now,
         "updated_at": now, "confirmed_at": now}
        for sid in ids
    ])
    return sorted(ids)


def counts(app: App, issue_id: int) -> dict[str, int]:
    """The issue's deliveries by status."""
    from sqlalchemy import func

    from newsletter.db.models import Delivery

    with app.sessions() as session:
        return {str(status): int(n) for status, n in session.execute(
            select(Delivery.status, func.count()).where(Delivery.issue_id == issue_id)
            .group_by(Delivery.status))}
