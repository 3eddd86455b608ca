"""Workers heartbeat; a dead worker's claims go back to the queue in seconds, not at lease end."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.db.engine import is_sqlite, write_transaction
from newsletter.db.models import Delivery, DeliveryStatus, Worker
from newsletter.delivery.claims import claim
from newsletter.delivery.heartbeat import Registration, process_state
from newsletter.delivery.outbox import fan_out
from newsletter.errors import ConfigError
from tests.support.audience import seed

LEASE = timedelta(seconds=900)  # the default: recovery must not wait for it


def everyone_alive(_pid: int, _started: str | None) -> bool:
    """Same-host process check for workers that all live in this test's process."""
    return True


STARTED: list[Registration] = []


def register(app: App, **kwargs: object) -> Registration:
    """A registration without its heartbeat thread (the test beats), closed after the test."""
    worker = Registration(app, **kwargs).start(thread=False)  # type: ignore[arg-type]
    STARTED.append(worker)
    return worker


@pytest.fixture
def queued(app: App, project: Path) -> Iterator[App]:
    seeded = seed(app, project, 12)
    with write_transaction(app.sessions) as session:
        fan_out(session, seeded.issue_id, seeded.list_id, app.clock.now())
    try:
        yield app
    finally:
        while STARTED:
            STARTED.pop().close()


def take(app: App, worker: Registration, limit: int) -> list[int]:
    with write_transaction(app.sessions) as session:
        rows = claim(session, now=app.clock.now(), lease=LEASE, limit=limit, worker_id=worker.id)
    return [row.id for row in rows]


def holders(app: App) -> dict[int, int | None]:
    with app.sessions() as session:
        return {row.id: row.worker_id for row in session.execute(
            select(Delivery.id, Delivery.worker_id).where(
                Delivery.status == DeliveryStatus.SENDING))}


def test_a_silent_workers_claims_go_back_to_the_queue_after_worker_dead_after_seconds(
        queued: App, clock: ManualClock) -> None:
    app = queued
    silent = register(app, alive=everyone_alive)
    mine = take(app, silent, 5)
    assert set(holders(app)) == set(mine)
    live = register(app, alive=everyone_alive)
    clock.advance(timedelta(seconds=29))
    assert live.beat().workers == []  # 29 s of silence: still alive
    assert take(app, live, 5) != mine  # its rows are not claimable yet
    clock.advance(timedelta(seconds=2))
    live.beat()
    reaped = live.last_reaped
    assert reaped.workers == [silent.id]
    assert reaped.released == len(mine)
    # Reclaimed at once, long before the 15-minute lease, oldest work first.
    again = take(app, live, 5)
    assert again == mine
    assert set(holders(app).values()) == {live.id}
    with app.sessions() as session:
        stopped = session.get(Worker, silent.id)
        assert stopped is not None
        assert stopped.stopped_at == clock.now()
        assert stopped.stop_reason is not None
        assert "no heartbeat" in stopped.stop_reason
        attempts = set(session.scalars(select(Delivery.attempts).where(Delivery.id.in_(mine))))
    assert attempts == {2}  # the fencing token moved: the silent worker cannot record


def test_a_worker_declared_dead_registers_again_at_its_next_heartbeat(
        queued: App, clock: ManualClock) -> None:
    app = queued
    late = register(app, alive=everyone_alive)
    first_id = late.id
    other = register(app, alive=everyone_alive)
    clock.advance(timedelta(seconds=31))
    other.beat()
    assert other.last_reaped.workers == [first_id]
    late.beat()
    assert late.id is not None
    assert late.id != first_id
    with app.sessions() as session:
        assert session.scalar(select(Worker.stopped_at).where(Worker.id == late.id)) is None


def test_on_the_same_host_a_worker_whose_process_is_gone_is_found_dead_when_another_starts(
        queued: App) -> None:
    app = queued
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    state = process_state(child.pid)
    killed = register(app)
    with write_transaction(app.sessions) as session:  # the row of that other process
        session.execute(update(Worker).where(Worker.id == killed.id).values(
            pid=child.pid, pid_started=state[1] if state else None))
    claimed = take(app, killed, 6)
    alive = register(app)
    assert alive.last_reaped.workers == []  # the process still runs
    child.kill()
    child.wait()
    restarted = register(app)  # as `send` or `worker` starting again
    assert restarted.last_reaped.workers == [killed.id]
    assert restarted.last_reaped.released == len(claimed)
    assert take(app, restarted, 6) == claimed


def test_on_postgresql_a_worker_whose_session_is_gone_is_found_dead_at_the_next_heartbeat(
        queued: App) -> None:
    app = queued
    if is_sqlite(app.engine):
        pytest.skip("advisory locks are PostgreSQL's")
    gone = register(app, alive=everyone_alive)
    claimed = take(app, gone, 4)
    live = register(app, alive=everyone_alive)
    assert live.beat().workers == []
    gone._drop_lock()  # its database session ends, as when its host dies
    assert live.beat().workers == [gone.id]
    assert take(app, live, 4) == claimed


def test_a_clean_stop_marks_the_worker_stopped_and_leaves_nothing_leased(
        queued: App, clock: ManualClock) -> None:
    app = queued
    worker = Registration(app).start()
    held = take(app, worker, 3)
    worker.close()
    with app.sessions() as session:
        row = session.get(Worker, worker.id)
        assert row is not None
        assert row.stop_reason == "stopped"
        leases = set(session.scalars(select(Delivery.lease_until).where(Delivery.id.in_(held))))
    assert all(lease is not None and lease < clock.now() for lease in leases)


def test_worker_dead_after_must_leave_room_for_a_late_heartbeat(project: Path) -> None:
    with pytest.raises(ConfigError, match="worker_dead_after_seconds=8 must be at least twice"):
        create_app(load_settings(project, environ={}, overrides={
            "worker_heartbeat_seconds": 5, "worker_dead_after_seconds": 8}), migrate=False)
