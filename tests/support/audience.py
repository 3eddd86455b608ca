"""Seed a database with people: N numbered readers in bulk, or a few named ones.

:func:`insert_people` is the one seeder (one bulk INSERT per table, fast for
thousands); :func:`seed` adds the project (lists.toml and a 3-issue series),
mirrors it through the catalog and adds numbered readers.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from newsletter.app import App
from newsletter.content.issuefile import read_series
from newsletter.db.engine import write_transaction
from newsletter.db.models import Delivery, Issue, MailingList, Subscriber, Subscription
from tests.support.series import write_lists, write_series


@dataclass(frozen=True)
class Seeded:
    """Ids of what :func:`seed` created."""

    issue_id: int
    list_id: int
    series_id: int
    subscriber_ids: list[int]


@dataclass(frozen=True)
class NewPerson:
    """A subscriber to insert directly (the signup flow is tested elsewhere)."""

    email: str
    name: str | None = None
    time_zone: str | None = None
    public_id: str | None = None


def address(n: int) -> str:
    """The address of seeded subscriber ``n``."""
    return f"reader{n:06d}@example.org"


def insert_people(session: Session, list_id: int, people: Sequence[NewPerson], *,
                  at: datetime, status: str = "active") -> list[int]:
    """Insert people with one subscription each to ``list_id``, confirmed ``at``; their ids."""
    if not people:
        return []
    session.execute(insert(Subscriber), [
        {"public_id": person.public_id or uuid.uuid4().hex, "email": person.email,
         "name": person.name, "time_zone": person.time_zone, "created_at": at}
        for person in people
    ])
    emails = [person.email for person in people]
    ids: list[int] = []
    for chunk in range(0, len(emails), 500):
        ids += list(session.scalars(
            select(Subscriber.id).where(Subscriber.email.in_(emails[chunk:chunk + 500]))))
    session.execute(insert(Subscription), [
        {"subscriber_id": sid, "list_id": list_id, "status": status, "created_at": at,
         "updated_at": at, "confirmed_at": at}
        for sid in ids
    ])
    return sorted(ids)


def add_subscribers(session: object, list_id: int, numbers: range, now: datetime, *,
                    names: bool = True, status: str = "active") -> list[int]:
    """Insert numbered readers with one subscription each (bulk, for speed)."""
    assert isinstance(session, Session)
    return insert_people(session, list_id, [
        NewPerson(address(n), name=f"Reader {n}" if names else None, public_id=f"p{n:030d}")
        for n in numbers
    ], at=now, status=status)


def seed(app: App, project: Path, count: int, *, now: datetime | None = None,
         start: int = 0, names: bool = True) -> Seeded:
    """Write lists.toml and a 3-issue series, mirror them, add ``count`` active subscribers."""
    now = now or app.clock.now()
    if not (project / "subscribers" / "lists.toml").exists():
        write_lists(project, [("clinic-news", "Riverside Pain Clinic News")])
    if not (project / "issues" / "pain-care").exists():
        write_series(project)
    with write_transaction(app.sessions) as session:
        series = app.catalog.mirror_series(session, read_series(project / "issues" / "pain-care"),
                                           now)
        list_id = session.scalar(select(MailingList.id).where(MailingList.slug == "clinic-news"))
        assert list_id is not None
        issue_id = session.scalar(
            select(Issue.id).where(Issue.series_id == series.id, Issue.position == 1))
        assert issue_id is not None
        ids = add_subscribers(session, list_id, range(start, start + count), now, names=names)
        return Seeded(issue_id, list_id, series.id, ids)


def counts(app: App, issue_id: int) -> dict[str, int]:
    """The issue's deliveries by status."""
    with app.sessions() as session:
        return {str(status): int(n) for status, n in session.execute(
            select(Delivery.status, func.count()).where(Delivery.issue_id == issue_id)
            .group_by(Delivery.status))}
