"""A database restored from a backup older than a fan-out sends nothing twice (RELIABILITY #45).

Uses a real SQLite file, backed up and restored with SQLite's online backup API.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from newsletter.schedule import broadcasts_admin
from newsletter.schedule.journal import JOURNAL_FILE
from tests.support.schedule import (
    add_active,
    issue_deliveries,
    sync_lists_now,
    ticks,
    walk,
    write_project,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def copy_database(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy, WAL included."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "live.db"


def open_app(project: Path, db_file: Path, clock: ManualClock) -> App:
    settings = load_settings(project, environ={}, overrides={"database_url": f"sqlite:///{db_file}"})
    return create_app(settings, clock=clock)


@pytest.fixture
def world(project: Path, db_file: Path) -> Iterator[tuple[App, ManualClock]]:
    clock = ManualClock(utc(2026, 11, 1))
    app = open_app(project, db_file, clock)
    write_project(project, mode="broadcast")
    sync_lists_now(app)
    for email in ("ann@example.com", "bob@example.net"):
        add_active(app, email, confirmed_at=clock.now(), time_zone="Europe/Berlin")
    try:
        yield app, clock
    finally:
        app.close()


def test_a_broadcast_is_not_fanned_out_again_after_restoring_an_older_backup(
    world: tuple[App, ManualClock], project: Path, db_file: Path, tmp_path: Path
) -> None:
    app, clock = world
    write_project(project, mode="broadcast")
    broadcasts_admin.schedule_issue(app, "care", 1, "2026-12-01 09:00", "Europe/Berlin")
    ticks(app, clock, [utc(2026, 12, 1, 7, 0)])
    backup = tmp_path / "backup.db"
    copy_database(db_file, backup)  # the nightly backup, taken before the fan-out
    ticks(app, clock, [utc(2026, 12, 1, 8, 0)])
    assert len(issue_deliveries(app)) == 2
    assert (project / "var" / JOURNAL_FILE).exists()
    app.close()
    copy_database(backup, db_file)  # the database is restored from that backup
    restored = open_app(project, db_file, clock)
    try:
        assert issue_deliveries(restored) == []
        [summary] = ticks(restored, clock, [utc(2026, 12, 1, 9, 0)])
        assert summary.fanned_out == []
        assert "fan-out journal" in summary.problems[0]
        assert issue_deliveries(restored) == []
        [view] = broadcasts_admin.list_broadcasts(restored)
        assert view.status == "fanned_out"
        assert view.note is not None
        assert "not sent again" in view.note
    finally:
        restored.close()


def test_drip_issues_are_not_queued_again_after_restoring_an_older_backup(
    world: tuple[App, ManualClock], project: Path, db_file: Path, tmp_path: Path
) -> None:
    app, clock = world
    write_project(project, mode="drip", cadence_days=1, time_zone="Europe/Berlin")
    clock.set(utc(2026, 12, 1, 6, 0))
    backup = tmp_path / "backup.db"
    ticks(app, clock, [clock.now()])
    copy_database(db_file, backup)
    walk(app, clock, utc(2026, 12, 2, 12, 0), timedelta(hours=1))
    assert sorted({p for _, p, _ in issue_deliveries(app)}) == [1, 2]
    app.close()
    copy_database(backup, db_file)
    restored = open_app(project, db_file, clock)
    try:
        clock.set(utc(2026, 12, 2, 12, 0))
        walk(restored, clock, utc(2026, 12, 6), timedelta(hours=1))
        rows = issue_deliveries(restored)
        # Issues 1 and 2 went out before the restore: only 3, 4 and 5 are queued now.
        assert sorted({p for _, p, _ in rows}) == [3, 4, 5]
        assert len(rows) == 3 * 2
    finally:
        restored.close()
