"""The calendar, a series' schedule settings and the sends records behind the console (issue 9)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from newsletter.app import App
from newsletter.clock import ManualClock
from newsletter.db.models import Delivery, SendPause
from newsletter.delivery.records import issue_sends, recipient_record
from newsletter.delivery.sender import drain
from newsletter.delivery.status import lift_pauses
from newsletter.errors import ContentError, NotFoundError, ScheduleError
from newsletter.schedule import broadcasts_admin, series_schedule
from newsletter.schedule.agenda import agenda
from newsletter.schedule.send_now import send_now
from newsletter.schedule.tick import run_due
from tests.support import project as builder
from tests.support.cli import Cli
from tests.support.schedule import add_active, scheduled_issue, sync_lists_now, write_project

PEOPLE = ("ann@example.com", "bob@example.net", "cyd@example.org")


@pytest.fixture
def world(app: App, project: Path, clock: ManualClock) -> App:
    """A broadcast series ``care`` and a drip series ``sleep`` (Tuesdays to Thursdays 09:30)."""
    write_project(project, mode="broadcast", time_zone="Europe/Berlin")
    builder.write_series(project, "sleep", "Sleep better",
                         [scheduled_issue(n) for n in range(1, 4)], mode="drip",
                         time_zone="Europe/Berlin", send_time="09:30", cadence_days=7)
    sync_lists_now(app)
    for email in PEOPLE:
        add_active(app, email, confirmed_at=clock.now())
    run_due(app, clock.now(), drain=False)  # starts the drip: progress rows for everyone
    return app


def test_the_calendar_shows_broadcasts_in_both_zones_drips_per_day_and_warns_of_a_clash(
    world: App,
) -> None:
    # Wednesday 2026-11-25 10:00 in Berlin: the drip's first slot is Thursday 09:30.
    broadcasts_admin.schedule_issue(world, "care", 1, "2026-11-26 08:00")
    broadcasts_admin.schedule_issue(world, "care", 2, "2026-12-01 18:00")

    found = agenda(world, "America/New_York", days=28)

    [clinic] = found.lists
    assert clinic.slug == "clinic-news"
    sends = [(d.day.isoformat(), s.kind, s.series, s.count) for d in clinic.days for s in d.sends]
    assert sends == [
        ("2026-11-26", "broadcast", "care", 3), ("2026-11-26", "drip", "sleep", 3),
        ("2026-12-01", "broadcast", "care", 3),
        ("2026-12-03", "drip", "sleep", 3), ("2026-12-10", "drip", "sleep", 3),
    ]
    first = clinic.days[0].sends[0]
    assert first.local == "Thu 2026-11-26 08:00 CET"
    assert first.viewer_local == "Thu 2026-11-26 02:00 EST"
    [warning] = clinic.warnings
    assert "2026-11-26" in warning
    assert "care 08:00 CET" in warning
    assert "sleep 09:30 CET" in warning
    assert clinic.days[1].warnings == []  # an evening broadcast clashes with nothing


def test_a_cancelled_broadcast_leaves_the_calendar_and_a_moved_one_follows(
    world: App,
) -> None:
    broadcasts_admin.schedule_issue(world, "care", 1, "2026-11-26 08:00")
    broadcasts_admin.schedule_issue(world, "care", 1, "2026-11-27 08:00", must_exist=True)
    days = [d.day.isoformat() for d in agenda(world).lists[0].days if any(
        s.series == "care" for s in d.sends)]
    assert days == ["2026-11-27"]
    assert agenda(world).lists[0].warnings == []
    broadcasts_admin.cancel_issue(world, "care", 1)
    assert all(s.series != "care" for d in agenda(world).lists[0].days for s in d.sends)


def test_settings_are_written_to_series_toml_and_validated_before_anything_is_written(
    world: App, project: Path,
) -> None:
    path = project / "issues" / "sleep" / "series.toml"
    before = series_schedule.read_settings(world, "sleep")
    assert (before.mode, before.send_time, before.cadence_days) == ("drip", "09:30", 7)
    after = series_schedule.update_settings(
        world, "sleep", {"send_weekdays": "tue, thu", "cadence_days": "3"},
        expected_hash=before.file_hash)
    assert after.send_weekdays == ("tue", "thu")
    assert after.cadence_days == 3
    text = path.read_text()
    assert 'title = "Sleep better"' in text  # other keys kept
    assert "cadence_days = 3" in text

    with pytest.raises(ScheduleError, match="cadence_days"):
        series_schedule.update_settings(world, "sleep", {"cadence_days": "0"})
    with pytest.raises(ScheduleError, match="send_time"):
        series_schedule.update_settings(world, "sleep", {"send_time": "25:00"})
    with pytest.raises(ContentError, match="changed on disk"):
        series_schedule.update_settings(world, "sleep", {"cadence_days": "5"},
                                     expected_hash=before.file_hash)
    assert "cadence_days = 3" in path.read_text()


def test_the_schedule_page_view_says_which_issues_went_out(world: App) -> None:
    broadcasts_admin.schedule_issue(world, "care", 2, "2026-11-30 09:00")
    send_now(world, "care", 1)
    view = series_schedule.schedule_view(world, "care")
    assert [(i.position, i.went_out) for i in view.issues][:3] == [
        (1, True), (2, False), (3, False)]
    assert view.issues[1].broadcast is not None
    assert view.issues[1].broadcast.local_time == "2026-11-30 09:00"


def test_issue_sends_counts_states_groups_reasons_and_lists_pauses(
    world: App, clock: ManualClock,
) -> None:
    send_now(world, "care", 1)
    drain(world)
    with world.sessions.begin() as session:
        session.execute(update(Delivery).where(Delivery.subscriber_id.in_([1, 2]))
                        .values(status="failed", last_error="550 5.1.1 no such user"))
    with world.sessions.begin() as session:
        session.add(SendPause(issue_id=None, reason="535 login refused",
                              created_at=datetime(2026, 11, 25, 9, 5, tzinfo=UTC)))
    sends = issue_sends(world, "care", 1)
    assert sends.counts["sent"] == 1
    assert sends.counts["failed"] == 2
    assert sends.counts["queued"] == 0
    assert [(r.state, r.reason, r.count) for r in sends.reasons] == [
        ("failed", "550 5.1.1 no such user", 2)]
    [pause] = sends.open_pauses
    assert (pause.issue_wide, pause.reason) == (False, "535 login refused")
    assert lift_pauses(world) == 1
    assert issue_sends(world, "care", 1).open_pauses == []
    with pytest.raises(NotFoundError):
        issue_sends(world, "care", 99)


def test_a_recipient_record_shows_what_they_got_when_and_the_message_id(
    world: App,
) -> None:
    send_now(world, "care", 1)
    drain(world)
    found = recipient_record(world, " Ann@Example.com ")
    assert found.found
    [record] = found.records
    assert record.what == "care/1 Part 1"
    assert record.status == "sent"
    assert record.sent_at is not None
    assert record.message_id is not None
    assert record.message_id.startswith("<")
    nobody = recipient_record(world, "nobody@example.com")
    assert (nobody.found, nobody.records) == (False, [])


def test_the_cli_shows_and_changes_settings_and_prints_the_calendar(
    world: App, clock: ManualClock,
) -> None:
    cli = Cli(world.settings, clock)
    shown = cli.run("schedule", "settings", "sleep")
    assert "mode drip" in shown.output
    assert "at 09:30" in shown.output
    changed = cli.run("schedule", "settings", "sleep", "--send-time", "07:45")
    assert "at 07:45" in changed.output
    bad = cli.invoke("schedule", "settings", "sleep", "--cadence-days", "many")
    assert bad.exit_code == 1
    assert "cadence_days" in bad.output
    assert "Traceback" not in bad.output
    cli.run("schedule", "care", "1", "--at", "2026-11-26 08:00")
    calendar = cli.run("schedule", "calendar", "--days", "14", "--tz", "Europe/Berlin")
    assert "Riverside Pain Clinic News" in calendar.output
    assert "drip: 3 issues" in calendar.output
    assert "warning: Thu 2026-11-26: 2 series reach" in calendar.output


def test_the_cli_status_shows_one_recipients_record_with_the_message_id(
    world: App, clock: ManualClock,
) -> None:
    send_now(world, "care", 1)
    drain(world)
    cli = Cli(world.settings, clock)
    shown = cli.run("status", "--recipient", "bob@example.net")
    assert "care/1 Part 1" in shown.output
    assert "sent" in shown.output
    [record] = recipient_record(world, "bob@example.net").records
    assert record.message_id is not None
    assert record.message_id in shown.output
    assert "nobody with the address" in cli.run("status", "--recipient", "x@example.com").output
