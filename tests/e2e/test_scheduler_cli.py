"""Every `newsletter schedule ...` invocation and `newsletter scheduler --once`, as typed.

The commands run on the test's settings and clock (2026-11-25 09:00 UTC), so
"the past" and "next Tuesday" are relative to that moment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select

from newsletter.app import App
from newsletter.clock import ManualClock
from newsletter.config import Settings
from newsletter.db.models import Broadcast
from tests.support.cli import Cli
from tests.support.schedule import write_project

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(project: Path, settings: Settings, clock: ManualClock) -> Cli:
    """The command on ``project`` (a drip series ``care`` in Berlin time), the test database."""
    write_project(project, mode="drip", cadence_days=7, send_weekdays=["tue"],
                  time_zone="Europe/Berlin")
    return Cli(settings, clock)


def run(cli: Cli, *args: str) -> Result:
    return cli.run(*args)


def statuses(app: App) -> dict[int, str]:
    with app.sessions() as session:
        rows = session.execute(select(Broadcast.issue_id, Broadcast.status)).all()
    return dict(rows)


def test_schedule_series_n_at_schedules_a_broadcast_with_the_given_zone(cli: Cli) -> None:
    result = run(cli, "schedule", "care", "1", "--at", "2026-12-03 09:00", "--tz",
                 "America/New_York")
    assert result.exit_code == 0, result.output
    assert "scheduled care #1 (Part 1): 2026-12-03 09:00 America/New_York" in result.output
    assert "= 2026-12-03 14:00 UTC [scheduled]" in result.output


def test_schedule_add_is_the_same_command_and_the_zone_defaults_to_the_series(
    cli: Cli,
) -> None:
    result = run(cli, "schedule", "add", "care", "2", "--at", "2026-12-10 09:00")
    assert result.exit_code == 0, result.output
    assert "2026-12-10 09:00 Europe/Berlin = 2026-12-10 08:00 UTC" in result.output


def test_schedule_list_move_and_cancel(cli: Cli, app: App) -> None:
    run(cli, "schedule", "care", "1", "--at", "2026-12-03 09:00")
    run(cli, "schedule", "care", "2", "--at", "2026-12-10 09:00")
    moved = run(cli, "schedule", "move", "care", "2", "--at", "2026-12-11 10:30")
    assert "moved care #2" in moved.output
    assert "2026-12-11 09:30 UTC" in moved.output
    cancelled = run(cli, "schedule", "cancel", "care", "1")
    assert "cancelled care #1" in cancelled.output
    listing = run(cli, "schedule", "list")
    assert listing.exit_code == 0
    assert "2026-12-11 10:30 Europe/Berlin" in listing.output
    assert "cancelled" in listing.output
    assert "scheduled" in listing.output
    assert sorted(statuses(app).values()) == ["cancelled", "scheduled"]


def test_schedule_list_says_so_when_nothing_is_scheduled(cli: Cli) -> None:
    assert run(cli, "schedule", "list").output.strip() == "nothing scheduled"


def test_schedule_preview_prints_local_and_utc_times_for_each_issue(cli: Cli) -> None:
    result = run(cli, "schedule", "preview", "care", "--signup", "2026-11-29 14:00",
                 "--tz", "America/New_York")
    assert result.exit_code == 0, result.output
    # 2026-11-29 is a Sunday; Tuesdays at 09:00 New York time, weekly.
    for day, utc_day in [("Tue 2026-12-01 09:00 EST", "2026-12-01 14:00"),
                         ("Tue 2026-12-08 09:00 EST", "2026-12-08 14:00"),
                         ("Tue 2026-12-29 09:00 EST", "2026-12-29 14:00")]:
        assert day in result.output
        assert utc_day in result.output
    assert result.output.count(" drip ") == 5


def test_a_preview_across_spring_forward_keeps_the_local_hour(cli: Cli) -> None:
    # Berlin moves to summer time on Sunday 2027-03-28.
    result = run(cli, "schedule", "preview", "care", "--signup", "2027-03-01 08:00")
    assert result.exit_code == 0, result.output
    assert "Tue 2027-03-23 09:00 CET" in result.output
    assert "Tue 2027-03-30 09:00 CEST" in result.output
    assert "2027-03-30 07:00" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["schedule", "nosuch", "1", "--at", "2026-12-03 09:00"], "no series 'nosuch'"),
        (["schedule", "care", "9", "--at", "2026-12-03 09:00"], "has no issue 9"),
        (["schedule", "care", "1", "--at", "next tuesday"], "'next tuesday' is not a date"),
        (["schedule", "care", "1", "--at", "2026-12-03 09:00", "--tz", "Mars/Base"],
         "'Mars/Base' is not a known IANA zone"),
        # One day before the test's clock: in the past only because that clock says so.
        (["schedule", "care", "1", "--at", "2026-11-24 09:00"], "is in the past"),
        (["schedule", "cancel", "care", "1"], "nothing scheduled"),
        (["schedule", "move", "care", "1", "--at", "2026-12-03 09:00"], "no schedule to move"),
    ],
)
def test_bad_input_gets_a_one_line_error_and_no_traceback(
    cli: Cli, args: list[str], message: str
) -> None:
    result = cli.invoke(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_scheduler_once_takes_the_lock_ticks_and_releases_it(cli: Cli) -> None:
    result = run(cli, "scheduler", "--once", "--no-drain")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("acquired the scheduler lock as ")
    assert lines[1].startswith("tick ")
    assert lines[-1] == "released the scheduler lock"


def test_scheduler_py_is_the_same_command(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scheduler.py"), "--help"], cwd=tmp_path,
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Only one scheduler acts at a time" in result.stdout
    assert "Example: newsletter scheduler" in result.stdout
