"""Broadcasts on real databases: DST walks, outages, clock jumps, staff operations (#41-45)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.app import App
from newsletter.clock import ManualClock
from newsletter.db.models import Broadcast
from newsletter.errors import NotFoundError, ScheduleError
from newsletter.schedule import broadcasts_admin
from newsletter.schedule.calendar import zone
from newsletter.schedule.tick import next_due
from tests.support.schedule import (
    add_active,
    issue_deliveries,
    sync_lists_now,
    ticks,
    walk,
    write_project,
)

PEOPLE = ("ann@example.com", "bob@example.net", "cyd@example.org")


@pytest.fixture
def world(app: App, project: Path, clock: ManualClock) -> App:
    """Three active subscribers of clinic-news and a five-issue broadcast series ``care``."""
    write_project(project, mode="broadcast", max_late_hours=12)
    clock.set(datetime(2026, 1, 1, tzinfo=UTC))
    sync_lists_now(app)
    for email in PEOPLE:
        add_active(app, email, confirmed_at=clock.now())
    return app


def _statuses(app: App) -> list[str]:
    with app.sessions() as session:
        return list(session.scalars(select(Broadcast.status).order_by(Broadcast.due_at)))


@pytest.mark.parametrize(
    ("tz_name", "first_day"),
    [
        ("America/New_York", "2026-02-24"),  # spring forward Mar 8
        ("America/New_York", "2026-10-13"),  # fall back Nov 1
        ("Europe/Berlin", "2026-03-10"),  # spring forward Mar 29
        ("Europe/Berlin", "2026-10-06"),  # fall back Oct 25
    ],
)
def test_weekly_broadcasts_across_dst_land_once_each_at_nine_local(
    world: App, clock: ManualClock, tz_name: str, first_day: str
) -> None:
    tz = zone(tz_name)
    start = datetime.fromisoformat(first_day)
    for position in range(1, 6):
        day = start + timedelta(days=7 * (position - 1))
        broadcasts_admin.schedule_issue(world, "care", position, f"{day:%Y-%m-%d} 09:00", tz_name)
    clock.set(start.replace(tzinfo=UTC) - timedelta(days=1))
    walk(world, clock, clock.now() + timedelta(days=31), timedelta(hours=1))

    rows = issue_deliveries(world)
    assert len(rows) == 5 * len(PEOPLE)
    assert {(e, p) for e, p, _ in rows} == {(e, p) for e in PEOPLE for p in range(1, 6)}
    by_issue = {p: {q for _, pos, q in rows if pos == p} for p in range(1, 6)}
    assert all(len(moments) == 1 for moments in by_issue.values())  # one fan-out per issue
    local = [next(iter(by_issue[p])).astimezone(tz) for p in range(1, 6)]
    assert {d.strftime("%a %H:%M") for d in local} == {start.strftime("%a") + " 09:00"}
    assert len({d.utcoffset() for d in local}) == 2  # the walk really crossed the transition
    assert _statuses(world) == ["fanned_out"] * 5


def test_a_broadcast_at_a_time_skipped_by_spring_forward_goes_once_after_the_gap(
    world: App, clock: ManualClock
) -> None:
    view = broadcasts_admin.schedule_issue(world, "care", 1, "2026-03-08 02:30", "America/New_York")
    assert view.due_at == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert view.note is not None
    assert "does not exist" in view.note
    clock.set(datetime(2026, 3, 8, 4, 0, tzinfo=UTC))
    walk(world, clock, datetime(2026, 3, 8, 12, 0, tzinfo=UTC), timedelta(minutes=15))
    moments = {q for _, _, q in issue_deliveries(world)}
    assert moments == {datetime(2026, 3, 8, 7, 0, tzinfo=UTC)}
    assert len(issue_deliveries(world)) == len(PEOPLE)


def test_a_broadcast_at_a_time_repeated_by_fall_back_goes_once_at_the_first(
    world: App, clock: ManualClock
) -> None:
    view = broadcasts_admin.schedule_issue(world, "care", 1, "2026-10-25 02:30", "Europe/Berlin")
    assert view.due_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    clock.set(datetime(2026, 10, 24, 23, 0, tzinfo=UTC))
    walk(world, clock, datetime(2026, 10, 25, 4, 0, tzinfo=UTC), timedelta(minutes=15))
    rows = issue_deliveries(world)
    assert len(rows) == len(PEOPLE)
    assert {q for _, _, q in rows} == {datetime(2026, 10, 25, 0, 30, tzinfo=UTC)}


def test_after_a_short_outage_a_due_broadcast_goes_once_on_recovery(
    world: App, clock: ManualClock
) -> None:
    broadcasts_admin.schedule_issue(world, "care", 1, "2026-12-01 09:00", "Europe/Berlin")
    recovered = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 6 h late, limit 12 h
    summaries = ticks(world, clock, [datetime(2026, 12, 1, 7, 0, tzinfo=UTC), recovered,
                                     recovered + timedelta(minutes=1),
                                     recovered + timedelta(days=3)])
    assert [s.fanned_out for s in summaries] == [[], [("care", 1, len(PEOPLE))], [], []]
    assert {q for _, _, q in issue_deliveries(world)} == {recovered}
    assert len(issue_deliveries(world)) == len(PEOPLE)


def test_after_a_long_outage_a_broadcast_is_held_not_sent_days_late(
    world: App, clock: ManualClock
) -> None:
    broadcasts_admin.schedule_issue(world, "care", 1, "2026-12-01 09:00", "Europe/Berlin")
    summaries = ticks(world, clock, [datetime(2026, 12, 3, 10, 0, tzinfo=UTC)])
    assert summaries[0].held == [("care", 1)]
    assert issue_deliveries(world) == []
    [held] = broadcasts_admin.list_broadcasts(world)
    assert held.status == "held"
    assert held.note is not None
    assert "schedule move" in held.note
    # Staff pick a new time; it goes then, once.
    broadcasts_admin.schedule_issue(world, "care", 1, "2026-12-04 09:00", "Europe/Berlin",
                                    must_exist=True)
    ticks(world, clock, [datetime(2026, 12, 4, 8, 0, tzinfo=UTC),
                         datetime(2026, 12, 4, 9, 0, tzinfo=UTC)])
    assert len(issue_deliveries(world)) == len(PEOPLE)


def test_a_clock_jump_back_sends_nothing_again(world: App, clock: ManualClock) -> None:
    broadcasts_admin.schedule_issue(world, "care", 1, "2026-12-01 09:00", "Europe/Berlin")
    broadcasts_admin.schedule_issue(world, "care", 2, "2026-12-02 09:00", "Europe/Berlin")
    after_first = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    ticks(world, clock, [after_first])
    assert len(issue_deliveries(world)) == len(PEOPLE)
    # The clock jumps back a day, then runs forward again over the same hours.
    clock.set(after_first - timedelta(days=1))
    walk(world, clock, datetime(2026, 12, 2, 12, 0, tzinfo=UTC), timedelta(hours=1))
    rows = issue_deliveries(world)
    assert len(rows) == 2 * len(PEOPLE)
    assert sorted({p for _, p, _ in rows}) == [1, 2]


def test_a_cancelled_broadcast_never_goes_and_a_sent_one_cannot_be_changed(
    world: App, clock: ManualClock
) -> None:
    broadcasts_admin.schedule_issue(world, "care", 1, "2026-12-01 09:00", "Europe/Berlin")
    broadcasts_admin.schedule_issue(world, "care", 2, "2026-12-02 09:00", "Europe/Berlin")
    assert broadcasts_admin.cancel_issue(world, "care", 2).status == "cancelled"
    ticks(world, clock, [datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
                         datetime(2026, 12, 2, 9, 0, tzinfo=UTC)])
    assert {p for _, p, _ in issue_deliveries(world)} == {1}
    with pytest.raises(ScheduleError, match="already went out"):
        broadcasts_admin.cancel_issue(world, "care", 1)
    with pytest.raises(ScheduleError, match="already went out"):
        broadcasts_admin.schedule_issue(world, "care", 1, "2026-12-09 09:00", "Europe/Berlin")
    with pytest.raises(ScheduleError, match="in the past"):
        broadcasts_admin.schedule_issue(world, "care", 3, "2026-11-01 09:00", "Europe/Berlin")
    with pytest.raises(NotFoundError, match="no issue 9"):
        broadcasts_admin.schedule_issue(world, "care", 9, "2026-12-09 09:00")
    with pytest.raises(NotFoundError, match="no schedule to move"):
        broadcasts_admin.schedule_issue(world, "care", 4, "2026-12-09 09:00", must_exist=True)


def test_the_zone_defaults_to_the_series_zone_then_the_setting(
    world: App, project: Path
) -> None:
    view = broadcasts_admin.schedule_issue(world, "care", 1, "2026-12-01 09:00")
    assert view.time_zone == "UTC"
    write_project(project, mode="broadcast", time_zone="Asia/Tokyo")
    view = broadcasts_admin.schedule_issue(world, "care", 1, "2026-12-01 09:00")
    assert (view.time_zone, view.due_at.hour) == ("Asia/Tokyo", 0)
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 1


def test_the_preview_of_a_broadcast_series_shows_only_broadcasts_after_the_signup(
    world: App, clock: ManualClock
) -> None:
    broadcasts_admin.schedule_issue(world, "care", 1, "2026-12-01 09:00", "Europe/Berlin")
    broadcasts_admin.schedule_issue(world, "care", 2, "2026-12-08 09:00", "Europe/Berlin")
    broadcasts_admin.schedule_issue(world, "care", 3, "2026-12-15 09:00", "Europe/Berlin")
    broadcasts_admin.cancel_issue(world, "care", 3)
    rows = broadcasts_admin.preview(world, "care", "2026-12-05 10:00", "America/New_York")
    assert [(r.position, r.how) for r in rows] == [
        (1, "not sent (went out before the signup)"),
        (2, "broadcast"),
        (3, "not scheduled"),
        (4, "not scheduled"),
        (5, "not scheduled"),
    ]
    assert rows[1].local == "Tue 2026-12-08 03:00 EST"
    assert rows[1].due_at == datetime(2026, 12, 8, 8, 0, tzinfo=UTC)


def test_the_next_due_moment_is_the_next_scheduled_broadcast(
    world: App, clock: ManualClock
) -> None:
    assert next_due(world, clock.now()) is None
    broadcasts_admin.schedule_issue(world, "care", 1, "2026-12-01 09:00", "Europe/Berlin")
    broadcasts_admin.schedule_issue(world, "care", 2, "2026-12-08 09:00", "Europe/Berlin")
    first = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert next_due(world, clock.now()) == first
    assert next_due(world, first) == datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    ticks(world, clock, [first])
    assert next_due(world, first, sending=True) == first  # the fanned-out mail waits to go
