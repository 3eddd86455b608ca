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

The job store keeps the job as a textual reference (:data:`HEARTBEAT_REF`);
the store of each process binds the job it reads back to that process's own
:class:`SchedulerRunner`, so nothing global is needed to find it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, ProgrammingError

from newsletter.schedule import lock
from newsletter.schedule.tick import TickSummary, run_due

if TYPE_CHECKING:
    from newsletter.app import App

log = logging.getLogger("newsletter.schedule")

JOB_ID = "newsletter-heartbeat"
JOB_TABLE = "apscheduler_jobs"
# What the job store keeps in APScheduler's table: moving or renaming :func:`heartbeat`
# breaks every stored job (tests/unit/test_string_references.py checks it still resolves).
HEARTBEAT_REF = "newsletter.schedule.process:heartbeat"


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
    stopping: bool = False  # set before APScheduler shuts down: no further beat is started

    def beat(self) -> TickSummary | None:
        """Take or renew the lock and run one tick; None (and a "waiting" line) when not held."""
        self.beats += 1
        now = self.app.clock.now()
        if not lock.acquire(self.app.db, self.holder, now, self.lease):
            held = lock.state(self.app.db)
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

    def heartbeat(self) -> None:
        """The stored APScheduler job: one beat; a failed tick is logged, the next beat retries."""
        try:
            self.beat()
        except Exception as err:  # one failed tick must not kill the process
            self.out(f"tick failed: {type(err).__name__}: {err}")

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
                if not lock.acquire(self.app.db, self.holder, now, self.lease):
                    # Sending stays correct (claims are leased too); say so and go on.
                    self.out("lost the scheduler lock during a long send")
                    self.holding = False

        return renew

    def stop(self) -> None:
        """Release the lock so another scheduler can take over at once."""
        if lock.release(self.app.db, self.holder):
            self.out("released the scheduler lock")
        self.holding = False


def heartbeat() -> None:
    """Where the stored job points; :class:`RunnerJobStore` runs this process's runner instead.

    APScheduler keeps a job as a textual reference to a module-level function
    (:data:`HEARTBEAT_REF`). The store that reads the job back binds it to the
    runner it serves, so this body only runs when some other store reads the
    job, and then there is no runner here to beat.
    """
    log.warning("heartbeat job read without its runner (not by RunnerJobStore): no beat")


class RunnerJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """APScheduler's table in the project's database; the heartbeat job read back runs ``runner``.

    The table holds the job as :data:`HEARTBEAT_REF`, which names no process;
    every heartbeat job this store reads is bound to the runner of this process.
    """

    def __init__(self, runner: SchedulerRunner, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runner = runner

    def get_due_jobs(self, now: datetime) -> list[Any]:
        """The due jobs; none once the runner is stopping.

        APScheduler's loop can wake between ``shutdown()`` stopping the executor
        and leaving the loop; a job it found then could not be started and would
        be logged as an error.
        """
        if self.runner.stopping:
            return []
        return list(super().get_due_jobs(now))

    def _reconstitute_job(self, job_state: bytes) -> Any:
        job = super()._reconstitute_job(job_state)
        if job.id == JOB_ID:
            job.func = self.runner.heartbeat
        return job


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


def build_scheduler(runner: SchedulerRunner, interval: float) -> Any:
    """A BackgroundScheduler whose heartbeat job lives in the project's database."""
    engine = runner.app.engine
    store = RunnerJobStore(runner, engine=engine, tablename=JOB_TABLE)
    _create_job_table(engine, store.jobs_t)
    scheduler = BackgroundScheduler(
        jobstores={"default": store},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=UTC,
    )
    scheduler.add_job(
        HEARTBEAT_REF,
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
    runner = SchedulerRunner(app, lease=lease, drain=drain, out=out)
    scheduler = build_scheduler(runner, interval)
    scheduler.start()
    out(f"scheduler {runner.holder} started: heartbeat every {interval:g}s")
    try:
        stop.wait()
    finally:
        # Stop finding due beats first, so the scheduler thread submits none to an
        # executor that shutdown() is already closing.
        runner.stopping = True
        scheduler.pause()
        scheduler.shutdown(wait=True)
        runner.stop()
        out("scheduler stopped")
    return runner
