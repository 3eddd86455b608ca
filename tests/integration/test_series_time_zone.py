"""New series start in the configured zone; re-scheduling says what moved (issue 13, item 15)."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

from newsletter.app import create_app
from newsletter.clock import ManualClock
from newsletter.config import load_settings
from tests.support.cli import Cli
from tests.support.project import ListSpec, write_lists
from tests.support.schedule import write_project

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "docs" / "examples" / "chronic-pain-article.txt"


def test_an_imported_series_takes_the_configured_time_zone_and_the_import_says_so(
        project: Path, database_url: str, clock: ManualClock) -> None:
    write_lists(project, ListSpec("clinic-news", "Riverside Pain Clinic News"))
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "time_zone": "Europe/Berlin"})
    clock.set(datetime(2026, 12, 2, 16, 0, tzinfo=UTC))
    cli = Cli(settings, clock, columns=200)

    imported = cli.run("import-article", str(SAMPLE), "--series", "pain-care")
    scheduled = cli.run("schedule", "pain-care", "1", "--at", "2026-12-08 09:00")

    raw = tomllib.loads((project / "issues" / "pain-care" / "series.toml").read_text())
    assert raw["time_zone"] == "Europe/Berlin"
    assert "time zone: Europe/Berlin (the time_zone setting" in imported.output
    assert "2026-12-08 09:00 Europe/Berlin = 2026-12-08 08:00 UTC" in scheduled.output


def test_a_list_with_its_own_time_zone_gives_it_to_new_series_on_it(
        project: Path, database_url: str, clock: ManualClock) -> None:
    (project / "subscribers" / "lists.toml").write_text(
        '[[list]]\nslug = "clinic-news"\nname = "Riverside Pain Clinic News"\n'
        'time_zone = "America/New_York"\n', encoding="utf-8")
    settings = load_settings(project, environ={}, overrides={
        "database_url": database_url, "time_zone": "Europe/Berlin"})
    imported = Cli(settings, clock, columns=200).run(
        "import-article", str(SAMPLE), "--series", "pain-care")

    raw = tomllib.loads((project / "issues" / "pain-care" / "series.toml").read_text())
    assert raw["time_zone"] == "America/New_York"
    assert "time zone: America/New_York (the time zone of the list clinic-news" in (
        imported.output)


def test_scheduling_an_issue_again_says_it_moved_from_the_old_time_to_the_new(
        project: Path, database_url: str, clock: ManualClock) -> None:
    write_project(project, issues=2, slug="pacing", mode="broadcast", time_zone="Europe/Berlin")
    settings = load_settings(project, environ={}, overrides={"database_url": database_url})
    clock.set(datetime(2026, 12, 2, 16, 0, tzinfo=UTC))
    create_app(settings, clock=clock).close()
    cli = Cli(settings, clock, columns=200)

    first = cli.run("schedule", "pacing", "1", "--at", "2026-12-08 09:00")
    second = cli.run("schedule", "pacing", "1", "--at", "2026-12-15 10:30")
    same = cli.run("schedule", "pacing", "1", "--at", "2026-12-15 10:30")

    assert first.output.startswith("scheduled pacing #1")
    assert ("moved pacing #1 (Part 1) from 2026-12-08 09:00 Europe/Berlin "
            "to 2026-12-15 10:30 Europe/Berlin" in second.output)
    assert "moved" not in same.output
    assert "already scheduled for 2026-12-15 10:30 Europe/Berlin" in same.output
