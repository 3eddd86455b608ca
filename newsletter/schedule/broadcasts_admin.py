"""Staff operations on broadcasts: schedule, move, cancel, list; and the preview simulator."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.content.issuefile import find_series
from newsletter.db.models import Broadcast, BroadcastStatus, Delivery, Issue, Series
from newsletter.errors import NotFoundError, ScheduleError
from newsletter.schedule import drip
from newsletter.schedule.calendar import describe_local, format_local, parse_local, to_utc, zone
from newsletter.schedule.drip_progress import live_position
from newsletter.schedule.overlap import same_day_warnings
from newsletter.schedule.rules import series_rules

if TYPE_CHECKING:
    from newsletter.app import App

SCHEDULING = "scheduling"  # what the database was doing, for its error message


@dataclass(frozen=True)
class BroadcastView:
    """One broadcast as staff see it."""

    series: str
    position: int
    title: str
    local_time: str
    time_zone: str
    due_at: datetime
    status: str
    recipients: int | None
    note: str | None
    previous: str | None = None  # "local time zone" it was scheduled for before this change
    warnings: tuple[str, ...] = ()  # other series of the list reaching the same people that day


def _issue_row(session: Session, series: Series, position: int) -> Issue:
    issue = session.scalar(
        select(Issue).where(Issue.series_id == series.id, Issue.position == position)
    )
    if issue is None:
        raise NotFoundError(f"series {series.slug!r} has no issue {position}")
    return issue


def refuse_if_sent(
    session: Session, broadcast: Broadcast | None, issue: Issue, slug: str, mode: str
) -> None:
    """ScheduleError when the issue already went to its list: it is never scheduled again.

    Gone out means its broadcast was fanned out (by the scheduler, or by "send
    now", which records one), or, in a broadcast series, that any of its mail
    was queued at all (``newsletter send --issue`` before sends were recorded as
    broadcasts). A drip series' issues reach people one by one, so there only
    the broadcast row counts.
    """
    label = f"{slug} #{issue.position}"
    if broadcast is not None and broadcast.status == BroadcastStatus.FANNED_OUT:
        when = broadcast.fanned_out_at or broadcast.due_at
        raise ScheduleError(
            f"{label} already went out at {when:%Y-%m-%d %H:%M} UTC; "
            "it cannot be scheduled again"
        )
    if mode != "broadcast":
        return
    count, first = session.execute(
        select(func.count(), func.min(Delivery.queued_at)).where(Delivery.issue_id == issue.id)
    ).one()
    if count:
        raise ScheduleError(
            f"{label} already went out at {first:%Y-%m-%d %H:%M} UTC "
            f"({count} queued for its list); it cannot be scheduled again"
        )


def _view(broadcast: Broadcast, issue: Issue, slug: str) -> BroadcastView:
    return BroadcastView(
        series=slug,
        position=issue.position,
        title=issue.title,
        local_time=broadcast.local_time,
        time_zone=broadcast.time_zone,
        due_at=broadcast.due_at,
        status=broadcast.status,
        recipients=broadcast.recipients,
        note=broadcast.note,
    )


def schedule_issue(
    app: App,
    series_slug: str,
    position: int,
    at: str,
    tz_name: str | None = None,
    *,
    must_exist: bool = False,
) -> BroadcastView:
    """Schedule (or re-schedule) issue ``position`` of a series to go to its list at local ``at``.

    The zone defaults to the series' ``time_zone``, then the ``time_zone``
    setting. A time in the past, or an issue already fanned out, is refused.
    """
    now = app.clock.now()
    doc = find_series(app.settings.issues_path, series_slug)
    doc.issue(position)  # NotFoundError naming the series and its positions
    tz = zone(tz_name or doc.config.time_zone or app.settings.time_zone)
    local = parse_local(at)
    due = to_utc(local, tz)
    if due <= now:
        raise ScheduleError(
            f"{format_local(local)} {tz.key} is in the past (now is "
            f"{format_local(now.astimezone(tz).replace(tzinfo=None))} {tz.key})"
        )
    note = describe_local(local, tz) or None
    with app.db.write(SCHEDULING) as session:
        series = app.catalog.mirror_series(session, doc, now)
        issue = _issue_row(session, series, position)
        broadcast = session.scalar(select(Broadcast).where(Broadcast.issue_id == issue.id))
        refuse_if_sent(session, broadcast, issue, series_slug, doc.config.mode)
        previous = None
        if broadcast is not None and broadcast.status in (BroadcastStatus.SCHEDULED,
                                                          BroadcastStatus.HELD):
            previous = f"{broadcast.local_time} {broadcast.time_zone}"
        if broadcast is None:
            if must_exist:
                raise NotFoundError(
                    f"{series_slug} #{position} has no schedule to move; "
                    f"use `newsletter schedule {series_slug} {position} --at ...`"
                )
            broadcast = Broadcast(issue_id=issue.id, created_at=now)
            session.add(broadcast)
        broadcast.local_time = format_local(local)
        broadcast.time_zone = tz.key
        broadcast.due_at = due
        broadcast.status = BroadcastStatus.SCHEDULED
        broadcast.note = note
        broadcast.updated_at = now
        session.flush()
        warnings = same_day_warnings(app, session, series, doc.config.list, local.date(), tz)
        return replace(_view(broadcast, issue, series_slug), previous=previous,
                       warnings=tuple(warnings))


def cancel_issue(app: App, series_slug: str, position: int) -> BroadcastView:
    """Cancel the broadcast of one issue (scheduled or held); one already sent cannot be."""
    now = app.clock.now()
    with app.db.write(SCHEDULING) as session:
        series = session.scalar(select(Series).where(Series.slug == series_slug))
        if series is None:
            raise NotFoundError(f"series {series_slug!r} has nothing scheduled")
        issue = _issue_row(session, series, position)
        broadcast = session.scalar(select(Broadcast).where(Broadcast.issue_id == issue.id))
        if broadcast is None:
            raise NotFoundError(f"{series_slug} #{position} is not scheduled")
        if broadcast.status == BroadcastStatus.FANNED_OUT:
            raise ScheduleError(
                f"{series_slug} #{position} already went out; it cannot be cancelled"
            )
        broadcast.status = BroadcastStatus.CANCELLED
        broadcast.updated_at = now
        session.flush()
        return _view(broadcast, issue, series_slug)


def list_broadcasts(app: App) -> list[BroadcastView]:
    """Every broadcast, soonest first."""
    with app.db.read(SCHEDULING) as session:
        rows = session.execute(
            select(Broadcast, Issue, Series.slug)
            .join(Issue, Issue.id == Broadcast.issue_id)
            .join(Series, Series.id == Issue.series_id)
            .order_by(Broadcast.due_at, Series.slug, Issue.position)
        ).all()
        return [_view(b, i, s) for b, i, s in rows]


@dataclass(frozen=True)
class PreviewRow:
    """When one issue would reach a subscriber who signs up at a given moment."""

    position: int
    title: str
    due_at: datetime | None
    local: str
    how: str


def preview(
    app: App, series_slug: str, signup: str, tz_name: str | None = None
) -> list[PreviewRow]:
    """Simulate someone confirming at local ``signup`` in ``tz_name``: when each issue reaches them.

    Drip series follow the drip plan; broadcast series list the broadcasts
    scheduled after the signup. Nothing is written.
    """
    doc = find_series(app.settings.issues_path, series_slug)
    rules = series_rules(doc, app.settings.time_zone)
    tz = rules.zone_for(tz_name) if tz_name is None else zone(tz_name)
    confirmed = to_utc(parse_local(signup), tz)
    broadcasts: dict[int, Broadcast] = {}
    live: int | None = None
    with app.db.read(SCHEDULING) as session:
        series = session.scalar(select(Series).where(Series.slug == series_slug))
        if series is not None:
            for broadcast, position in session.execute(
                select(Broadcast, Issue.position)
                .join(Issue, Issue.id == Broadcast.issue_id)
                .where(Issue.series_id == series.id)
            ).all():
                broadcasts[position] = broadcast
            live = live_position(session, series.id, until=confirmed)
    titles = {d.position: d.title for d in doc.issues}
    positions = sorted(titles)

    def row(position: int, due: datetime | None, how: str) -> PreviewRow:
        local = f"{due.astimezone(tz):%a %Y-%m-%d %H:%M %Z}" if due else "-"
        return PreviewRow(position, titles[position], due, local, how)

    if rules.mode == "drip":
        # Broadcasts after the signup reach the subscriber too; the drip skips those.
        upcoming = [(b.due_at, p) for p, b in broadcasts.items()
                    if b.status == BroadcastStatus.SCHEDULED]
        arrivals = drip.simulate(rules, tz, confirmed, positions, live=live, broadcasts=upcoming)
        rows = [row(a.position, a.due_at, a.how) for a in arrivals]
        skipped = set(positions) - {a.position for a in arrivals}
        rows += [row(p, None, "not sent (before the live issue)") for p in sorted(skipped)]
        return sorted(rows, key=lambda r: r.position)
    result: list[PreviewRow] = []
    for position in positions:
        found = broadcasts.get(position)
        if found is None or found.status in (
            BroadcastStatus.CANCELLED, BroadcastStatus.HELD
        ):
            result.append(row(position, None, "not scheduled"))
        elif found.due_at <= confirmed:
            result.append(row(position, None, "not sent (went out before the signup)"))
        else:
            result.append(row(position, found.due_at, "broadcast"))
    return result
