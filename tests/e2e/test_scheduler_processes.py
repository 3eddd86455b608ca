"""Two real scheduler processes on one database: one waits for the lock; nothing goes twice."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from newsletter.app import App
from newsletter.clock import ManualClock, SystemClock
from newsletter.db.models import Broadcast, Delivery
from newsletter.schedule import broadcasts_admin
from tests.support.schedule import add_active, sync_lists_now, write_project

REPO = Path(__file__).resolve().parents[2]
PEOPLE = 40
ISSUES = 5
TIMEOUT = 60.0


class Proc:
    """A scheduler subprocess whose output lines arrive on a queue (read without sleeping)."""

    def __init__(self, name: str, project: Path, database_url: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
        env["NEWSLETTER_DATABASE_URL"] = database_url
        self.name = name
        self.lines: list[str] = []
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "scheduler.py"), "--interval", "0.2", "--lease", "3",
             "--no-drain"],
            cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def wait_for(self, text: str) -> str:
        """Block until a line containing ``text`` arrives (or fail after TIMEOUT)."""
        while True:
            line = self.queue.get(timeout=TIMEOUT)
            if line is None:
                raise AssertionError(f"{self.name} exited before {text!r}: {self.lines}")
            self.lines.append(line)
            if text in line:
                return line

    def stop(self) -> None:
        """SIGTERM, then collect the rest of the output."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=TIMEOUT)
        self.reader.join(timeout=TIMEOUT)
        while True:
            line = self.queue.get_nowait() if not self.queue.empty() else None
            if line is None:
                break
            self.lines.append(line)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture
def due_world(app: App, project: Path, clock: ManualClock) -> App:
    """Five broadcasts due a minute ago (real time) for 40 active subscribers."""
    write_project(project, mode="broadcast")
    real_now = SystemClock().now()
    clock.set(real_now - timedelta(hours=1))
    sync_lists_now(app)
    for i in range(PEOPLE):
        add_active(app, f"p{i}@example.com", confirmed_at=clock.now())
    due = (real_now - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
    for position in range(1, ISSUES + 1):
        broadcasts_admin.schedule_issue(app, "care", position, due, "UTC")
    return app


@pytest.mark.slow
def test_two_scheduler_processes_fan_out_each_issue_once_and_the_second_waits(
    due_world: App, project: Path, database_url: str
) -> None:
    first = Proc("first", project, database_url)
    second = Proc("second", project, database_url)
    procs = [first, second]
    try:
        # Both start at once; whichever takes the lock first fans out, the other waits.
        lines: dict[str, str] = {}

        def watch(proc: Proc) -> None:
            lines[proc.name] = proc.wait_for("lock")

        watchers = [threading.Thread(target=watch, args=(p,)) for p in procs]
        for w in watchers:
            w.start()
        for w in watchers:
            w.join(timeout=TIMEOUT)
        holder = next(p for p in procs if "acquired" in lines[p.name])
        waiter = next(p for p in procs if p is not holder)
        assert lines[waiter.name].startswith("waiting: the scheduler lock is held by "), (
            waiter.lines
        )
        holder.wait_for("fanned out care #5")
        # The holder stops (releasing the lock): the waiter takes over and finds nothing due.
        holder.stop()
        waiter.wait_for("acquired the scheduler lock")
        after = waiter.wait_for("tick ")
        assert "fanned out" not in after
    finally:
        for proc in procs:
            proc.stop()
    everything = first.lines + second.lines
    for position in range(1, ISSUES + 1):
        assert sum(f"fanned out care #{position} " in line for line in everything) == 1
    assert not [line for line in everything if "Traceback" in line or "failed" in line]
    with due_world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == PEOPLE * ISSUES
        assert set(session.scalars(select(Broadcast.status))) == {"fanned_out"}
        # The heartbeat job lives in APScheduler's job store in the project's database.
        assert session.scalar(text("SELECT id FROM apscheduler_jobs")) == "newsletter-heartbeat"
