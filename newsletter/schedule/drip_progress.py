"""Advance drips in the database: start, resume and move each subscription's drip progress.

Pure planning lives in :mod:`newsletter.schedule.drip`; this module applies it
to ``drip_progress`` rows. Every progress change is a conditional UPDATE on
the values the tick read, made in the same transaction as the outbox insert,
so two ticks (or two schedulers) cannot both advance one subscriber.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from newsletter.db.models import (
    Broadcast,
    BroadcastStatus,
    Delivery,
    DripProgress,
    Issue,
    Series,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.db.transactions import rowcount
from newsletter.delivery.outbox import enqueue_drip_issue
from newsletter.schedule import drip
from newsletter.schedule.rules import SeriesRules


@dataclass
class DripCounts:
    """What one tick did to one drip series."""

    started: int = 0
    resumed: int = 0
    queued: int = 0
    moved: int = 0
    waiting: int = 0
    pairs: list[tuple[int, int]] = field(default_factory=list)  # (issue, subscriber) queued


def live_position(session: Session, series_id: int, until: datetime | None = None) -> int | None:
    """The newest issue of the series whose broadcast has gone out (by ``until``, if given)."""
    query = (
        select(func.max(Issue.position))
        .join(Broadcast, Broadcast.issue_id == Issue.id)
        .where(Issue.series_id == series_id)
    )
    if until is None:
        query = query.where(Broadcast.status == BroadcastStatus.FANNED_OUT.value)
    else:
        query = query.where(
            Broadcast.status.in_(
                [BroadcastStatus.FANNED_OUT.value, BroadcastStatus.SCHEDULED.value]
            ),
            Broadcast.due_at <= until,
        )
    return session.scalar(query)


def _start_new(
    session: Session, series: Series, rules: SeriesRules, positions: list[int], now: datetime
) -> int:
    """Create progress rows for confirmed, active subscriptions that have none yet.

    A series that became a drip (``drip_since``) takes only people confirmed since.
    """
    has_progress = (
        select(DripProgress.id)
        .where(
            DripProgress.subscription_id == Subscription.id,
            DripProgress.series_id == series.id,
        )
        .exists()
    )
    query = (
        select(Subscription.id, Subscription.confirmed_at, Subscriber.time_zone)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.list_id == series.list_id,
            Subscription.status == SubscriptionStatus.ACTIVE.value,
            Subscription.confirmed_at.is_not(None),
            ~has_progress,
        )
    )
    if series.drip_since is not None:  # it became a drip then: only later confirmations join
        query = query.where(Subscription.confirmed_at >= series.drip_since)
    rows = session.execute(query).all()
    live = live_position(session, series.id) if rules.late_joiners == "live" else None
    for subscription_id, confirmed_at, time_zone in rows:
        assert confirmed_at is not None  # filtered by the query
        tz = rules.zone_for(time_zone)
        session.add(
            DripProgress(
                subscription_id=subscription_id,
                series_id=series.id,
                next_position=drip.start_position(rules, positions, live),
                next_due_at=drip.first_due(rules, tz, confirmed_at),
                confirmed_at=confirmed_at,
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
    return len(rows)


def _resume_resubscribed(
    session: Session, series: Series, rules: SeriesRules, now: datetime
) -> int:
    """Re-plan the drip of people who confirmed again since their drip was planned."""
    rows = session.execute(
        select(
            DripProgress.id, DripProgress.confirmed_at, Subscription.confirmed_at,
            Subscriber.time_zone,
        )
        .join(Subscription, Subscription.id == DripProgress.subscription_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            DripProgress.series_id == series.id,
            Subscription.status == SubscriptionStatus.ACTIVE.value,
            Subscription.confirmed_at > DripProgress.confirmed_at,
        )
    ).all()
    resumed = 0
    for progress_id, planned_from, confirmed_at, time_zone in rows:
        assert confirmed_at is not None  # compared greater than a date by the query
        due = drip.first_due(rules, rules.zone_for(time_zone), confirmed_at)
        result = session.execute(
            update(DripProgress)
            .where(DripProgress.id == progress_id, DripProgress.confirmed_at == planned_from)
            .values(next_due_at=due, confirmed_at=confirmed_at, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        resumed += rowcount(result)
    return resumed


def pending_broadcasts(session: Session, series_id: int) -> dict[int, datetime]:
    """Position → due time of the series' broadcasts still to go out."""
    rows = session.execute(
        select(Issue.position, Broadcast.due_at)
        .join(Broadcast, Broadcast.issue_id == Issue.id)
        .where(Issue.series_id == series_id,
               Broadcast.status == BroadcastStatus.SCHEDULED.value)
    ).all()
    return {row.position: row.due_at for row in rows}


def _received(session: Session, series_id: int, subscriber_id: int) -> set[int]:
    return set(
        session.scalars(
            select(Issue.position)
            .join(Delivery, Delivery.issue_id == Issue.id)
            .where(Issue.series_id == series_id, Delivery.subscriber_id == subscriber_id)
        )
    )


def advance_series(
    session: Session,
    series: Series,
    rules: SeriesRules,
    now: datetime,
    journalled: Collection[tuple[int, int]] = (),
) -> DripCounts:
    """One tick of one drip series, in the caller's transaction.

    ``journalled`` holds (issue id, subscriber id) pairs the fan-out journal
    says were queued before: they count as received even if the database,
    restored from an older backup, has no row for them.
    """
    counts = DripCounts()
    issues = dict(
        session.execute(
            select(Issue.position, Issue.id).where(Issue.series_id == series.id)
        ).all()
    )
    positions = sorted(issues)
    if series.list_id is None or not positions:
        return counts
    counts.started = _start_new(session, series, rules, positions, now)
    counts.resumed = _resume_resubscribed(session, series, rules, now)
    pending = pending_broadcasts(session, series.id)
    due_rows = session.execute(
        select(
            DripProgress.id,
            DripProgress.subscription_id,
            DripProgress.next_position,
            DripProgress.next_due_at,
            Subscription.subscriber_id,
            Subscriber.time_zone,
        )
        .join(Subscription, Subscription.id == DripProgress.subscription_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            DripProgress.series_id == series.id,
            DripProgress.next_due_at <= now,
            # People who finished the series wait here, cheaply, for an issue added later.
            DripProgress.next_position <= positions[-1],
            Subscription.status == SubscriptionStatus.ACTIVE.value,
        )
        .order_by(DripProgress.next_due_at, DripProgress.id)
    ).all()
    for progress_id, subscription_id, at_least, due_at, subscriber_id, time_zone in due_rows:
        tz = rules.zone_for(time_zone)
        received = _received(session, series.id, subscriber_id)
        received |= {p for p, i in issues.items() if (i, subscriber_id) in journalled}
        position = drip.next_position(positions, at_least, received)
        if position is None:
            continue  # caught up: waits for an issue added later
        same_row = and_(
            DripProgress.id == progress_id,
            DripProgress.next_position == at_least,
            DripProgress.next_due_at == due_at,
        )
        if position in pending:
            # Staff scheduled this issue: the broadcast brings it, and the drip goes on
            # one cadence after it (so a drip never overtakes a broadcast date).
            resume_at = drip.following_due(rules, tz, pending[position])
            session.execute(
                update(DripProgress)
                .where(same_row)
                .values(next_due_at=resume_at, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            counts.waiting += 1
            continue
        if drip.is_too_late(due_at, now, rules.max_late):
            session.execute(
                update(DripProgress)
                .where(same_row)
                .values(next_due_at=drip.replan_late(rules, tz, now), updated_at=now)
                .execution_options(synchronize_session=False)
            )
            counts.moved += 1
            continue
        result = session.execute(
            update(DripProgress)
            .where(same_row)
            .values(
                next_position=position + 1,
                next_due_at=drip.following_due(rules, tz, now),
                last_position=position,
                last_queued_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if not rowcount(result):
            continue  # someone else advanced this subscriber in the meantime
        added = enqueue_drip_issue(
            session,
            issue_id=issues[position],
            series_id=series.id,
            subscription_id=subscription_id,
            now=now,
        )
        counts.queued += added
        if added:
            counts.pairs.append((issues[position], subscriber_id))
    return counts
