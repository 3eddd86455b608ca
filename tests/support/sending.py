"""Helpers for the console's sending tests: a project with two series and people, a worker process.

:func:`sending_project` writes the list, a broadcast series ``care`` and a drip
series ``sleep`` (both Europe/Berlin, the drip at 09:30); :func:`add_people`
puts active subscribers on the list through the App; :class:`Worker` runs a
real ``newsletter worker`` process next to a console server.
"""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from types import TracebackType

from playwright.sync_api import Page, expect

from newsletter.app import App
from tests.support import project as builder
from tests.support.console import NEWSLETTER, ConsoleServer, console_project
from tests.support.processes import stop_process
from tests.support.schedule import add_active, scheduled_issue, sync_lists_now

PEOPLE = tuple(f"reader{n}@example.org" for n in range(1, 7))


def sending_project(root: Path) -> Path:
    """A console project with ``care`` (broadcast, 3 issues) and ``sleep`` (drip, 3 issues)."""
    console_project(root)
    builder.write_series(root, "care", "Pain care", [scheduled_issue(n) for n in range(1, 4)],
                         mode="broadcast", time_zone="Europe/Berlin")
    builder.write_series(root, "sleep", "Sleep better",
                         [scheduled_issue(n) for n in range(1, 4)], mode="drip",
                         time_zone="Europe/Berlin", send_time="09:30", cadence_days=7)
    return root


def add_people(app: App, emails: tuple[str, ...] = PEOPLE,
               confirmed_at: datetime | None = None) -> None:
    """Active, confirmed subscribers of the project's list."""
    sync_lists_now(app)
    for email in emails:
        add_active(app, email, confirmed_at=confirmed_at or app.clock.now())


class Worker:
    """``newsletter worker`` in the server's folder and database, for a ``with`` block."""

    def __init__(self, server: ConsoleServer, idle: float = 0.3) -> None:
        self.server = server
        self.idle = idle
        self._process: subprocess.Popen[bytes] | None = None
        self.log_path = server.root / "worker.log"

    def __enter__(self) -> Worker:
        log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [NEWSLETTER, "worker", "--idle", str(self.idle)], cwd=self.server.root,
            env=self.server.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def wait_for_sent(self, page: Page, count: int, timeout_ms: int = 90_000) -> None:
        """Wait until the sends page (polling by itself) shows ``count`` sent; say why not."""
        try:
            expect(page.locator('[data-state="sent"] strong')).to_have_text(
                str(count), timeout=timeout_ms)
        except AssertionError as err:
            raise AssertionError(f"{err}\n--- worker output ---\n{self.log()}\n"
                                 f"--- server output ---\n{self.server.log()[-3000:]}") from None

    def log(self) -> str:
        """What the worker printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._process is not None:
            stop_process(self._process, timeout=20)
