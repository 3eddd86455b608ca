"""Series sharing a list: a warning when two land on the same day, and an explicit choice
before a new drip enrols the people already on the list (issue 13, item 14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from newsletter.app import App
from newsletter.clock import ManualClock
from newsletter.db.models import DripProgress, Series
from newsletter.schedule.tick import run_due
from tests.support.cli import Cli
from tests.support.schedule import add_active, sync_lists_now, write_project


def test_scheduling_a_broadcast_on_a_day_another_series_of_the_list_sends_warns(
        app: App, project: Path, clock: ManualClock) -> None:
    clock.set(datetime(2026, 12, 2, 16, 0, tzinfo=UTC))
    write_project(project, slug="care", mode="drip", send_weekdays=["tue"],
                  time_zone="Europe/Berlin")
    write_project(project, slug="pacing", mode="broadcast", time_zone="Europe/Berlin")
    write_project(project, slug="sleep", mode="broadcast", time_zone="Europe/Berlin")
    cli = Cli(app.settings, clock, columns=200)

    sleep = cli.run("schedule", "sleep", "1", "--at", "2026-12-08 09:00")  # a Tuesday
    pacing = cli.run("schedule", "pacing", "1", "--at", "2026-12-08 17:00")
    wednesday = cli.run("schedule", "pacing", "2", "--at", "2026-12-09 09:00")

    assert "warning: the drip care also sends to clinic-news on Tuesdays" in sleep.output
    assert "warning: sleep #1 also goes to clinic-news on Tue 2026-12-08" in pacing.output
    assert "the drip care also sends to clinic-news on Tuesdays" in pacing.output
    assert "warning" not in wednesday.output


def _in_drip(app: App, slug: str) -> int:
    with app.sessions() as session:
        return int(session.scalar(
            select(func.count()).select_from(DripProgress).join(
                Series, Series.id == DripProgress.series_id).where(Series.slug == slug)) or 0)


def test_a_series_that_becomes_a_drip_enrols_current_readers_only_when_staff_choose_it(
        app: App, project: Path, clock: ManualClock) -> None:
    clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    write_project(project, slug="care", mode="drip", send_weekdays=["tue"],
                  time_zone="Europe/Berlin")
    write_project(project, slug="sleep", mode="broadcast", time_zone="Europe/Berlin")
    sync_lists_now(app)
    for n in range(3):
        add_active(app, f"reader{n}@example.org", confirmed_at=clock.now())
    run_due(app, clock.now(), drain=False)  # sleep mirrored as a broadcast; care, a drip
    assert _in_drip(app, "care") == 3  # from the start: everyone on the list

    clock.advance(timedelta(hours=1))
    write_project(project, slug="sleep", mode="drip", time_zone="Europe/Berlin")
    switched = run_due(app, clock.now(), drain=False)
    assert _in_drip(app, "sleep") == 0
    assert "sleep is now a drip" in switched.describe()
    assert "3 current subscribers of clinic-news were not enrolled" in switched.describe()
    assert "newsletter schedule enrol sleep --current-subscribers" in switched.describe()
    assert ("sleep and care are both drips on clinic-news sending on Tuesdays"
            in switched.describe())

    clock.advance(timedelta(hours=1))
    add_active(app, "newcomer@example.org", confirmed_at=clock.now())
    run_due(app, clock.now(), drain=False)
    assert _in_drip(app, "sleep") == 1

    chosen = Cli(app.settings, clock).run("schedule", "enrol", "sleep", "--current-subscribers")
    assert "sleep: the 3 current subscribers of clinic-news not in it yet start the drip" in (
        chosen.output)
    assert "warning: sleep and care are both drips on clinic-news" in chosen.output
    run_due(app, clock.now(), drain=False)
    assert _in_drip(app, "sleep") == 4
