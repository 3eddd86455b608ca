"""Queueing an issue now (``newsletter send --issue``) and counting what is due."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.app import App
from newsletter.db.engine import write_transaction
from newsletter.db.models import DeliveryStatus, Subscription, SubscriptionStatus


def due_count(session: Session, now: datetime) -> int:
    """How many rows a drain would try now (for the progress bar's total)."""
    from newsletter.db.models import Delivery

    return int(session.scalar(
        select(func.count()).select_from(Delivery).where(
            Delivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED,
                                 DeliveryStatus.UNKNOWN]),
            Delivery.next_attempt_at <= now)
    ) or 0)


def send_issue_now(app: App, series_slug: str, position: int) -> tuple[int, int]:
    """Sync the series to the database and fan issue ``position`` out to its list.

    Returns (issue id, rows added); adding nothing means it was already fanned
    out (only people who joined since are added on a second call).
    """
    from newsletter.catalog import sync_series
    from newsletter.content.issuefile import find_series
    from newsletter.content.lists import read_lists, sync_lists
    from newsletter.db.models import Issue
    from newsletter.delivery.outbox import fan_out

    doc = find_series(app.settings.issues_path, series_slug)
    doc.issue(position)  # NotFoundError naming the series when there is no such issue
    now = app.clock.now()
    with write_transaction(app.sessions) as session:
        sync_lists(session, read_lists(app.settings.subscribers_path), now)
        series = sync_series(session, doc, now)
        issue_id = session.scalar(
            select(Issue.id).where(Issue.series_id == series.id, Issue.position == position))
        assert issue_id is not None
        assert series.list_id is not None
        added = fan_out(session, issue_id, series.list_id, now)
    return issue_id, added


def fan_out_preview(app: App, series_slug: str, position: int) -> int:
    """How many rows ``send_issue_now`` would add (for ``--dry-run``); writes nothing."""
    from newsletter.content.issuefile import find_series
    from newsletter.db.models import Delivery, Issue, MailingList, Series

    doc = find_series(app.settings.issues_path, series_slug)
    doc.issue(position)
    with app.sessions() as session:
        list_id = session.scalar(select(MailingList.id).where(MailingList.slug == doc.config.list))
        if list_id is None:
            return 0
        issue_id = session.scalar(select(Issue.id).join(Series).where(
            Series.slug == series_slug, Issue.position == position))
        queued = select(Delivery.subscriber_id).where(Delivery.issue_id == issue_id)
        return int(session.scalar(select(func.count()).select_from(Subscription).where(
            Subscription.list_id == list_id,
            Subscription.status == SubscriptionStatus.ACTIVE,
            Subscription.subscriber_id.not_in(queued))) or 0)
