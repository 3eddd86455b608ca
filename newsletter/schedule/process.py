"""The scheduler process: APScheduler as a heartbeat, our tables as the schedule's truth.

Design: one APScheduler interval job, stored in the project's database through
``SQLAlchemyJobStore``, beats every ``interval`` seconds. Each beat takes (or
renews) the database lock and, only when it holds it, calls
:func:`newsletter.schedule.tick.run_due`. What is due is computed from our
``broadcasts`` and ``drip_progress`` tables at that moment, so runs missed while
the process was down are done once by the next beat, under our lateness rule;
APScheduler's own misfire handling is switched to "coalesce" and matters only
for the heartbeat itself. A second scheduler's beats find the lock taken and
wait (they do nothing and say whom they wait for).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, ProgrammingError

from newsletter.app import App
from newsletter.schedule import lock
from newsletter.schedule.tick import TickSummary, run_due

JOB_ID = "newsletter-heartbeat"
JOB_TABLE = "apscheduler_jobs"


@dataclass
class SchedulerRunner:
    """One scheduler process's state: who it is, whether it holds the lock, where it logs."""

    app: App
    holder: str = field(default_factory=lock.make_holder_id)
    lease: timedelta = timedelta(seconds=90)
    drain: bool = True
    out: Callable[[str], None] = print
    holding: bool = False
    beats: int = 0
    waiting_for: str | None = None

    def beat(self) -> TickSummary | None:
        """Take or renew the lock and run one tick; None (and a "waiting" line) when not held."""
        self.beats += 1
        now = self.app.clock.now()
        if not lock.acquire(self.app.sessions, self.holder, now, self.lease):
            held = lock.state(self.app.sessions)
            if held.holder != self.waiting_for:  # say it once per holder, not every beat
                until = f"{held.lease_until:%H:%M:%S}Z" if held.lease_until else "?"
                self.out(f"waiting: the scheduler lock is held by {held.holder} until {until}")
                self.waiting_for = held.holder
            self.holding = False
            return None
        first = not self.holding
        if first:
            self.out(f"acquired the scheduler lock as {self.holder}")
            self.holding = True
            self.waiting_for = None
        summary = run_due(self.app, now, drain=self.drain, progress=self._renewer())
        if first or summary.did_something:
            self.out(summary.describe())
        return summary

    def _renewer(self) -> Callable[[int], None]:
        """A drain progress callback that keeps the lease alive through a long send."""
        last = [self.app.clock.now()]
        guard = threading.Lock()  # the drain reports from several sender threads

        def renew(_sent: int) -> None:
            now = self.app.clock.now()
            with guard:
                if now - last[0] < self.lease / 3:
                    return
                last[0] = now
                if not lock.acquire(self.app.sessions, self.holder, now, self.lease):
                    # Sending stays correct (claims are leased too); say so and go on.
                    self.out("lost the scheduler lock during a long send")
                    self.holding = False

        return renew

    def stop(self) -> None:
        """Release the lock so another scheduler can take over at once."""
        if lock.release(self.app.sessions, self.holder):
            self.out("released the scheduler lock")
        self.holding = False


# APScheduler stores a job as a textual reference to a module-level function;
# this slot is how that function finds the runner of the process it runs in.
_current: SchedulerRunner | None = None


def heartbeat() -> None:
    """The stored APScheduler job: one beat of this process's runner."""
    runner = _current
    if runner is None:
        return
    try:
        runner.beat()
    except Exception as err:  # one failed tick must not kill the process: log and beat again
        runner.out(f"tick failed: {type(err).__name__}: {err}")


def _create_job_table(engine: Engine, table: Any) -> None:
    """Create APScheduler's table once, even when two schedulers start at the same moment.

    The job store's own check-then-create races: on SQLite the loser's write
    fails at once ("database is locked", its read snapshot is stale), on
    PostgreSQL with a duplicate-type error. Here SQLite takes the write lock
    first (BEGIN IMMEDIATE waits its turn) and PostgreSQL's loser re-checks.
    """
    for attempt in range(3):
        try:
            connection = engine.connect().execution_options(sqlite_begin="IMMEDIATE")
            with connection, connection.begin():
                table.create(connection, checkfirst=True)
            return
        except (IntegrityError, ProgrammingError):
            if attempt == 2:
                raise


def build_scheduler(app: App, interval: float) -> Any:
    """A BackgroundScheduler whose heartbeat job lives in the project's database."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    store = SQLAlchemyJobStore(engine=app.engine, tablename=JOB_TABLE)
    _create_job_table(app.engine, store.jobs_t)
    scheduler = BackgroundScheduler(
        jobstores={"default": store},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=UTC,
    )
    scheduler.add_job(
        "newsletter.schedule.process:heartbeat",
        "interval",
        seconds=interval,
        id=JOB_ID,
        replace_existing=True,
        next_run_time=datetime.now(UTC),
    )
    return scheduler


def run_scheduler(
    app: App,
    *,
    interval: float,
    lease: timedelta,
    drain: bool,
    stop: threading.Event,
    out: Callable[[str], None],
) -> SchedulerRunner:
    """Run the scheduler until ``stop`` is set, then release the lock and shut down cleanly."""
    global _current
    runner = SchedulerRunner(app, lease=lease, drain=drain, out=out)
    _current = runner
    scheduler = build_scheduler(app, interval)
    scheduler.start()
    out(f"scheduler {runner.holder} started: heartbeat every {interval:g}s")
    try:
        stop.wait()
    finally:
        # Pause first so the scheduler thread submits no beat to an executor
        # that shutdown() is already closing.
        scheduler.pause()
        scheduler.shutdown(wait=True)
        runner.stop()
        _current = None
        out("scheduler stopped")
    return runner
