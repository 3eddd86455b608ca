"""The console's series services on a real database: overview, what is pinned, file changes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.app import App
from newsletter.clock import ManualClock
from newsletter.content.issuefile import find_series
from newsletter.content.series_edit import fingerprint
from newsletter.errors import ContentError
from newsletter.schedule import broadcasts_admin, series_admin
from tests.support.schedule import add_active, sync_lists_now, ticks, write_project


@pytest.fixture
def world(app: App, project: Path, clock: ManualClock) -> App:
    """A five-issue broadcast series ``care`` on clinic-news with two active subscribers."""
    write_project(project, mode="broadcast", time_zone="Europe/Berlin")
    clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    sync_lists_now(app)
    for email in ("ann@example.com", "bob@example.net"):
        add_active(app, email, confirmed_at=clock.now())
    return app


def seen(app: App) -> str:
    return fingerprint(find_series(app.settings.issues_path, "care"))


def test_the_overview_shows_mode_list_zone_cadence_and_the_next_broadcast(
    world: App, project: Path,
) -> None:
    broadcasts_admin.schedule_issue(world, "care", 2, "2026-12-08 09:00")
    broadcasts_admin.schedule_issue(world, "care", 1, "2026-12-04 09:00")
    write_project(project, slug="steps", mode="drip", cadence_days=7, send_time="10:00",
                  send_weekdays=["tue"])
    (project / "issues" / "broken").mkdir()
    (project / "issues" / "broken" / "series.toml").write_text("title = ", encoding="utf-8")
    overview = series_admin.series_overview(world)
    care, steps = overview.series
    assert (care.slug, care.mode, care.list_slug, care.list_name, care.time_zone) == (
        "care", "broadcast", "clinic-news", "Riverside Pain Clinic News", "Europe/Berlin")
    assert care.next_send is not None
    assert (care.next_send.due_at, care.next_send.position) == (
        datetime(2026, 12, 4, 8, 0, tzinfo=UTC), 1)
    assert care.next_send.local == "Fri 04 Dec 2026, 09:00 Europe/Berlin"
    assert steps.cadence == ("a week after the previous part, on a Tuesday at 10:00 "
                             "subscriber's time")
    assert steps.next_send is None  # nobody has started the drip yet
    assert [slug for slug, _ in overview.broken] == ["broken"]
    assert "not valid TOML" in overview.broken[0][1]


def test_sent_and_scheduled_issues_are_pinned_with_the_reason(
    world: App, clock: ManualClock,
) -> None:
    broadcasts_admin.schedule_issue(world, "care", 1, "2026-12-01 10:00")
    ticks(world, clock, [datetime(2026, 12, 1, 9, 1, tzinfo=UTC)])
    broadcasts_admin.schedule_issue(world, "care", 3, "2026-12-10 10:00")
    assert series_admin.pinned_issues(world, "care") == {
        1: "went out to 2 subscribers",
        3: "is scheduled for 2026-12-10 10:00 Europe/Berlin",
    }
    with pytest.raises(ContentError, match=r"issue 3 \('Part 3'\) is scheduled"):
        series_admin.move_issue(world, "care", seen(world), 2, 4)
    with pytest.raises(ContentError, match="cannot delete issue 1"):
        series_admin.delete_issue(world, "care", seen(world), 1)
    series_admin.move_issue(world, "care", seen(world), 5, 4)
    titles = [d.title for d in find_series(world.settings.issues_path, "care").issues]
    assert titles == ["Part 1", "Part 2", "Part 3", "Part 5", "Part 4"]


def test_an_added_issue_is_mirrored_at_once(world: App) -> None:
    series_admin.add_issue(world, "care", seen(world), "Sleep and pain")
    states = series_admin.issue_states(world, "care")
    assert sorted(states) == [1, 2, 3, 4, 5, 6]
    assert overview_count(world) == 6


def overview_count(app: App) -> int:
    return next(s.issue_count for s in series_admin.series_overview(app).series if s.slug == "care")
