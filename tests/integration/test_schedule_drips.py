"""Drips on real databases: local hours across DST, outages, jumps back, unsubscribe,
resubscribe, issues added later, broadcasts of the same series, late joiners (#41-45)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.app import App
from newsletter.clock import ManualClock
from newsletter.db.models import DripProgress
from newsletter.delivery.outbox import enqueue_drip_issue
from newsletter.schedule import broadcasts_admin
from newsletter.schedule.calendar import zone
from newsletter.schedule.tick import run_due
from tests.support.schedule import (
    add_active,
    issue_deliveries,
    set_status,
    sync_lists_now,
    ticks,
    walk,
    write_issue,
    write_project,
)

HOUR = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def drip_app(app: App, project: Path, clock: ManualClock) -> App:
    """A five-issue drip series ``care`` (every 2 days at 09:00) on clinic-news."""
    write_project(project, mode="drip", cadence_days=2, send_time="09:00",
                  time_zone="Europe/Berlin", max_late_hours=6)
    clock.set(utc(2026, 1, 1))
    sync_lists_now(app)
    return app


def _of(app: App, email: str) -> list[tuple[int, datetime]]:
    return [(p, q) for e, p, q in issue_deliveries(app) if e == email]


@pytest.mark.parametrize(
    ("tz_name", "confirm"),
    [
        ("America/New_York", utc(2026, 3, 3, 20, 0)),  # issues Mar 4..12 cross Mar 8
        ("America/New_York", utc(2026, 10, 26, 20, 0)),  # cross Nov 1
        ("Europe/Berlin", utc(2026, 3, 24, 20, 0)),  # cross Mar 29
        ("Europe/Berlin", utc(2026, 10, 20, 20, 0)),  # cross Oct 25
    ],
)
def test_a_drip_across_dst_delivers_each_issue_once_at_nine_local(
    drip_app: App, clock: ManualClock, tz_name: str, confirm: datetime
) -> None:
    tz = zone(tz_name)
    add_active(drip_app, "ann@example.com", confirmed_at=confirm, time_zone=tz_name)
    clock.set(confirm)
    walk(drip_app, clock, confirm + timedelta(days=11), HOUR)
    rows = _of(drip_app, "ann@example.com")
    assert [p for p, _ in rows] == [1, 2, 3, 4, 5]
    local = [q.astimezone(tz) for _, q in rows]
    assert {d.strftime("%H:%M") for d in local} == {"09:00"}
    assert [(b.date() - a.date()).days for a, b in pairwise(local)] == [2] * 4
    assert len({d.utcoffset() for d in local}) == 2


def test_three_zones_each_get_their_own_local_hour(drip_app: App, clock: ManualClock) -> None:
    start = utc(2026, 12, 1, 0, 0)
    people = {"ny@example.com": "America/New_York", "be@example.com": "Europe/Berlin",
              "tk@example.com": "Asia/Tokyo", "nozone@example.com": None}
    for i, (email, tz_name) in enumerate(people.items()):
        add_active(drip_app, email, confirmed_at=start + i * 5 * HOUR, time_zone=tz_name)
    clock.set(start)
    walk(drip_app, clock, start + timedelta(days=12), HOUR)
    for email, tz_name in people.items():
        tz = zone(tz_name or "Europe/Berlin")  # no zone: the series' zone
        rows = _of(drip_app, email)
        assert [p for p, _ in rows] == [1, 2, 3, 4, 5], email
        assert {q.astimezone(tz).strftime("%H:%M") for _, q in rows} == {"09:00"}, email


def test_after_a_long_outage_the_drip_resumes_at_the_next_local_slot_without_a_burst(
    drip_app: App, clock: ManualClock
) -> None:
    add_active(drip_app, "ann@example.com", confirmed_at=utc(2026, 12, 1, 6, 0),
               time_zone="Asia/Tokyo")
    # Issue 1 is due Wed 2 Dec 09:00 Tokyo (00:00 UTC); the scheduler is down until Dec 5.
    summaries = ticks(drip_app, clock, [utc(2026, 12, 1, 6, 0), utc(2026, 12, 5, 12, 0)])
    assert summaries[1].drip.moved == 1
    assert _of(drip_app, "ann@example.com") == []
    clock.set(utc(2026, 12, 5, 12, 0))
    walk(drip_app, clock, utc(2026, 12, 16), HOUR)
    rows = _of(drip_app, "ann@example.com")
    assert [p for p, _ in rows] == [1, 2, 3, 4, 5]
    tokyo = zone("Asia/Tokyo")
    assert rows[0][1].astimezone(tokyo) == datetime(2026, 12, 6, 9, 0, tzinfo=tokyo)
    assert {q.astimezone(tokyo).strftime("%H:%M") for _, q in rows} == {"09:00"}


def test_after_a_short_outage_the_issue_goes_once_and_the_cadence_counts_from_then(
    drip_app: App, clock: ManualClock
) -> None:
    add_active(drip_app, "ann@example.com", confirmed_at=utc(2026, 12, 1, 6, 0),
               time_zone="Europe/Berlin")
    ticks(drip_app, clock, [utc(2026, 12, 1, 6, 0), utc(2026, 12, 1, 12, 0)])  # 4 h late
    ticks(drip_app, clock, [utc(2026, 12, 1, 12, 5), utc(2026, 12, 2, 12, 0)])
    rows = _of(drip_app, "ann@example.com")
    assert rows == [(1, utc(2026, 12, 1, 12, 0))]
    with drip_app.sessions() as session:
        progress = session.scalars(select(DripProgress)).one()
    assert progress.next_due_at == utc(2026, 12, 3, 8, 0)  # Dec 3, 09:00 Berlin


def test_a_clock_jump_back_sends_no_drip_issue_twice(drip_app: App, clock: ManualClock) -> None:
    add_active(drip_app, "ann@example.com", confirmed_at=utc(2026, 12, 1, 6, 0),
               time_zone="Europe/Berlin")
    clock.set(utc(2026, 12, 1, 6, 0))
    walk(drip_app, clock, utc(2026, 12, 4, 12, 0), HOUR)
    assert [p for p, _ in _of(drip_app, "ann@example.com")] == [1, 2]
    clock.set(utc(2026, 11, 28))  # back by days
    walk(drip_app, clock, utc(2026, 12, 4, 12, 0), HOUR)
    assert [p for p, _ in _of(drip_app, "ann@example.com")] == [1, 2]


def test_unsubscribing_stops_the_drip_at_once_and_resubscribing_resumes_where_it_left(
    drip_app: App, clock: ManualClock
) -> None:
    add_active(drip_app, "ann@example.com", confirmed_at=utc(2026, 12, 1, 6, 0),
               time_zone="Europe/Berlin")
    clock.set(utc(2026, 12, 1, 6, 0))
    walk(drip_app, clock, utc(2026, 12, 3, 12, 0), HOUR)
    assert [p for p, _ in _of(drip_app, "ann@example.com")] == [1, 2]
    set_status(drip_app, "ann@example.com", "unsubscribed", clock.now())
    walk(drip_app, clock, utc(2026, 12, 20), HOUR)
    assert [p for p, _ in _of(drip_app, "ann@example.com")] == [1, 2]
    # Back on Mon 21 Dec 15:00 Berlin: issue 3 comes at the next slot, Tue 22 Dec 09:00.
    clock.set(utc(2026, 12, 21, 14, 0))
    set_status(drip_app, "ann@example.com", "active", clock.now())
    walk(drip_app, clock, utc(2026, 12, 31), HOUR)
    rows = _of(drip_app, "ann@example.com")
    assert [p for p, _ in rows] == [1, 2, 3, 4, 5]
    assert rows[2][1] == utc(2026, 12, 22, 8, 0)


def test_an_issue_added_later_reaches_people_who_finished_at_their_next_slot(
    drip_app: App, project: Path, clock: ManualClock
) -> None:
    add_active(drip_app, "ann@example.com", confirmed_at=utc(2026, 12, 1, 6, 0),
               time_zone="America/New_York")
    clock.set(utc(2026, 12, 1, 6, 0))
    walk(drip_app, clock, utc(2026, 12, 20), HOUR)
    assert len(_of(drip_app, "ann@example.com")) == 5
    write_issue(project / "issues" / "care", 6)  # staff add a sixth issue on Dec 20
    walk(drip_app, clock, utc(2026, 12, 23), HOUR)
    rows = _of(drip_app, "ann@example.com")
    assert [p for p, _ in rows] == [1, 2, 3, 4, 5, 6]
    new_york = zone("America/New_York")
    assert rows[5][1].astimezone(new_york) == datetime(2026, 12, 20, 9, 0, tzinfo=new_york)


def test_an_issue_inserted_below_where_someone_is_now_is_not_dripped_to_them(
    drip_app: App, project: Path, clock: ManualClock
) -> None:
    folder = project / "issues" / "care"
    (folder / "03-part-3.md").unlink()
    add_active(drip_app, "ann@example.com", confirmed_at=utc(2026, 12, 1, 6, 0))
    clock.set(utc(2026, 12, 1, 6, 0))
    walk(drip_app, clock, utc(2026, 12, 5, 12, 0), HOUR)
    assert [p for p, _ in _of(drip_app, "ann@example.com")] == [1, 2, 4]
    write_issue(folder, 3)
    walk(drip_app, clock, utc(2026, 12, 12), HOUR)
    assert [p for p, _ in _of(drip_app, "ann@example.com")] == [1, 2, 4, 5]


def test_a_broadcast_during_a_drip_reaches_the_subscriber_once_and_the_drip_skips_it(
    drip_app: App, clock: ManualClock
) -> None:
    add_active(drip_app, "ann@example.com", confirmed_at=utc(2026, 12, 1, 6, 0),
               time_zone="Europe/Berlin")
    broadcasts_admin.schedule_issue(drip_app, "care", 4, "2026-12-02 12:00", "Europe/Berlin")
    clock.set(utc(2026, 12, 1, 6, 0))
    walk(drip_app, clock, utc(2026, 12, 12), HOUR)
    rows = _of(drip_app, "ann@example.com")
    assert [p for p, _ in rows] == [1, 4, 2, 3, 5]
    days = [q.astimezone(zone("Europe/Berlin")).strftime("%d %H:%M") for _, q in rows]
    assert days == ["01 09:00", "02 12:00", "03 09:00", "05 09:00", "07 09:00"]


def test_late_joiners_live_start_at_the_newest_broadcast_issue(
    app: App, project: Path, clock: ManualClock
) -> None:
    write_project(project, mode="drip", cadence_days=1, late_joiners="live",
                  time_zone="Europe/Berlin")
    clock.set(utc(2026, 11, 1))
    sync_lists_now(app)
    add_active(app, "early@example.com", confirmed_at=clock.now())
    broadcasts_admin.schedule_issue(app, "care", 3, "2026-12-01 12:00")
    ticks(app, clock, [utc(2026, 12, 1, 11, 0)])  # the broadcast goes out
    add_active(app, "late@example.com", confirmed_at=utc(2026, 12, 2, 6, 0))
    clock.set(utc(2026, 12, 2, 6, 0))
    walk(app, clock, utc(2026, 12, 6), HOUR)
    assert [p for p, _ in _of(app, "late@example.com")] == [3, 4, 5]


def test_the_drip_enqueue_adds_nothing_when_the_issue_is_already_queued(
    drip_app: App, clock: ManualClock
) -> None:
    add_active(drip_app, "ann@example.com", confirmed_at=utc(2026, 12, 1, 6, 0))
    run_due(drip_app, utc(2026, 12, 1, 8, 0), drain=False)
    assert len(_of(drip_app, "ann@example.com")) == 1
    with drip_app.sessions() as session:
        progress = session.scalars(select(DripProgress)).one()
    from newsletter.db.engine import write_transaction
    from newsletter.db.models import Issue

    with write_transaction(drip_app.sessions) as session:
        issue_id = session.scalar(select(Issue.id).where(Issue.position == 1))
        assert issue_id is not None
        added = enqueue_drip_issue(session, issue_id=issue_id, series_id=progress.series_id,
                                   subscription_id=progress.subscription_id,
                                   now=utc(2026, 12, 1, 9, 0))
    assert added == 0
    assert len(_of(drip_app, "ann@example.com")) == 1


def test_the_preview_predicts_what_the_scheduler_then_does(
    drip_app: App, clock: ManualClock
) -> None:
    broadcasts_admin.schedule_issue(drip_app, "care", 4, "2026-12-02 12:00", "Europe/Berlin")
    broadcasts_admin.schedule_issue(drip_app, "care", 1, "2026-12-04 12:00", "Europe/Berlin")
    predicted = broadcasts_admin.preview(drip_app, "care", "2026-12-01 07:00", "Asia/Tokyo")
    confirmed = datetime(2026, 12, 1, 7, 0, tzinfo=zone("Asia/Tokyo"))
    add_active(drip_app, "ann@example.com", confirmed_at=confirmed, time_zone="Asia/Tokyo")
    clock.set(confirmed)
    walk(drip_app, clock, utc(2026, 12, 12), HOUR)
    assert [(r.position, r.due_at) for r in predicted] == sorted(_of(drip_app, "ann@example.com"))
    # Issue 1 is scheduled for Dec 4: the drip waits for that broadcast instead of sending early.
    assert [r.how for r in predicted] == ["broadcast", "drip", "drip", "broadcast", "drip"]
