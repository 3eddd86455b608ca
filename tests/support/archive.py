"""Helpers for the archive tests: a series on file with its first part already sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from newsletter.app import App
from newsletter.audience.signup import SignupRequest, subscribe
from newsletter.catalog import sync_series
from newsletter.clock import ManualClock
from newsletter.db.engine import write_transaction
from newsletter.db.models import Delivery, Issue, MailingList, Subscriber
from tests.support.series import write_series
from tests.support.signup import LIST_SLUG


def publish_first_issue(
    app: App, project: Path, clock: ManualClock, config: dict[str, Any] | None = None
) -> None:
    """Three issues on file; only the first has been sent to someone."""
    doc = write_series(project, config=config)
    subscribe(app, SignupRequest(email="reader@example.com", list_slug=LIST_SLUG, name="Rea"))
    now = clock.now()
    with write_transaction(app.sessions) as session:
        sync_series(session, doc, now)
        first = session.scalars(select(Issue).where(Issue.position == 1)).one()
        person = session.scalars(select(Subscriber)).one()
        list_id = session.scalars(select(MailingList.id)).one()
        session.add(Delivery(kind="issue", issue_id=first.id, subscriber_id=person.id,
                             list_id=list_id, status="sent", attempts=1, queued_at=now,
                             sent_at=now, updated_at=now))
