"""The scheduler lock in the database: one holder, renewals, waiting, expiry takeover (#24, #45)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import Settings
from newsletter.schedule import lock
from newsletter.schedule.process import SchedulerRunner

LEASE = timedelta(seconds=90)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_one_holder_at_a_time_and_the_holder_can_renew(app: App) -> None:
    assert lock.acquire(app.db, "a", T0, LEASE)
    assert not lock.acquire(app.db, "b", T0 + timedelta(seconds=30), LEASE)
    assert lock.acquire(app.db, "a", T0 + timedelta(seconds=60), LEASE)  # renewal
    # b is still refused after a's first lease would have run out: it was renewed.
    assert not lock.acquire(app.db, "b", T0 + timedelta(seconds=120), LEASE)
    held = lock.state(app.db)
    assert (held.holder, held.lease_until) == ("a", T0 + timedelta(seconds=150))


def test_a_dead_holder_is_replaced_once_its_lease_runs_out(app: App) -> None:
    assert lock.acquire(app.db, "a", T0, LEASE)
    assert not lock.acquire(app.db, "b", T0 + LEASE, LEASE)
    assert lock.acquire(app.db, "b", T0 + LEASE + timedelta(seconds=1), LEASE)
    assert not lock.acquire(app.db, "a", T0 + LEASE + timedelta(seconds=2), LEASE)


def test_releasing_lets_the_next_scheduler_in_at_once(app: App) -> None:
    assert lock.acquire(app.db, "a", T0, LEASE)
    assert not lock.release(app.db, "b")
    assert lock.release(app.db, "a")
    assert lock.acquire(app.db, "b", T0, LEASE)


def test_a_second_runner_waits_and_says_for_whom(
    app: App, settings: Settings, clock: ManualClock
) -> None:
    other = create_app(settings, clock=clock)  # its own engine, like a second process
    try:
        first_lines: list[str] = []
        second_lines: list[str] = []
        first = SchedulerRunner(app, holder="first", drain=False, out=first_lines.append)
        second = SchedulerRunner(other, holder="second", drain=False, out=second_lines.append)
        assert first.beat() is not None
        assert second.beat() is None
        assert second.beat() is None  # still waiting, said once
        assert second_lines == [
            f"waiting: the scheduler lock is held by first until {clock.now() + LEASE:%H:%M:%S}Z"
        ]
        first.stop()
        assert second.beat() is not None
        assert "acquired the scheduler lock as second" in second_lines
        assert first.beat() is None
    finally:
        other.close()


def test_a_long_send_keeps_the_lease_alive(app: App, clock: ManualClock) -> None:
    runner = SchedulerRunner(app, holder="sender", drain=False, out=lambda _line: None)
    assert runner.beat() is not None
    started = clock.now()
    renew = runner._renewer()
    clock.advance(LEASE / 6)
    renew(10)  # too soon to bother the database
    assert lock.state(app.db).lease_until == started + LEASE
    clock.advance(LEASE / 2)
    renew(10)
    assert lock.state(app.db).lease_until == clock.now() + LEASE
    assert not lock.acquire(app.db, "other", started + LEASE + timedelta(seconds=1), LEASE)
