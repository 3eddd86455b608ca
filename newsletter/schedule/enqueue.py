"""Drip enqueue: one issue for ONE subscription, as a set-based INSERT ... SELECT.

It respects the outbox's unique key (issue_id, subscriber_id) twice over: a
NOT EXISTS in the SELECT, and ``ON CONFLICT DO NOTHING`` as the last guard, so
a drip can never duplicate a broadcast (or another drip tick) and never fails
because one got there first. The SELECT only yields a row while the
subscription is active and the subscriber has not left the series, so an
unsubscribe that has committed stops the drip at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from newsletter.db.models import (
    Delivery,
    DeliveryStatus,
    SeriesOptOut,
    Subscription,
    SubscriptionStatus,
)
from newsletter.db.types import UTCDateTime


def _insert_for(session: Session) -> Any:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"drip enqueue does not support the {name!r} database")


def enqueue_drip_issue(
    session: Session, *, issue_id: int, series_id: int, subscription_id: int, now: datetime
) -> int:
    """Queue ``issue_id`` for the subscriber of ``subscription_id``; returns rows added (0 or 1).

    Runs in the caller's transaction; adds nothing when the subscriber already
    has the issue, is no longer active, or left the series.
    """
    stamp = literal(now, UTCDateTime)
    already = exists().where(
        and_(Delivery.issue_id == issue_id, Delivery.subscriber_id == Subscription.subscriber_id)
    )
    opted_out = exists().where(
        and_(
            SeriesOptOut.series_id == series_id,
            SeriesOptOut.subscriber_id == Subscription.subscriber_id,
        )
    )
    rows = select(
        literal("issue"),
        literal(issue_id),
        Subscription.subscriber_id,
        Subscription.list_id,
        literal(DeliveryStatus.QUEUED.value),
        literal(0),
        stamp,
        stamp,
        stamp,
    ).where(
        Subscription.id == subscription_id,
        Subscription.status == SubscriptionStatus.ACTIVE.value,
        ~already,
        ~opted_out,
    )
    columns = [
        "kind",
        "issue_id",
        "subscriber_id",
        "list_id",
        "status",
        "attempts",
        "queued_at",
        "next_attempt_at",
        "updated_at",
    ]
    # SQLAlchemy only keeps an INSERT's rowcount when asked (preserve_rowcount);
    # without it psycopg reports -1 on PostgreSQL.
    statement = (
        _insert_for(session)(Delivery.__table__)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["issue_id", "subscriber_id"])
        .execution_options(preserve_rowcount=True)
    )
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
