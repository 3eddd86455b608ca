"""Pure drip planning: start, cadence, weekdays, local hour, DST, late joiners, lateness."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise

import pytest

from newsletter.errors import ScheduleError
from newsletter.schedule import drip
from newsletter.schedule.broadcasts import Action, decide
from newsletter.schedule.calendar import zone
from newsletter.schedule.rules import SeriesRules, rules_from_raw

NEW_YORK = zone("America/New_York")
BERLIN = zone("Europe/Berlin")
TOKYO = zone("Asia/Tokyo")


def rules(**raw: object) -> SeriesRules:
    return rules_from_raw({"mode": "drip", **raw}, default_zone="Europe/Berlin")


def test_series_toml_keys_become_rules_with_documented_defaults() -> None:
    plain = rules()
    assert (plain.cadence_days, plain.send_at, plain.late_joiners) == (7, time(9, 0), "start")
    assert plain.weekdays == frozenset(range(7))
    assert plain.time_zone.key == "Europe/Berlin"
    assert plain.max_late == timedelta(hours=12)
    custom = rules(cadence_days=2, send_time="07:30", send_weekdays=["mon", "wed"],
                   late_joiners="live", max_late_hours=3, time_zone="Asia/Tokyo")
    assert (custom.cadence_days, custom.send_at, custom.weekdays) == (2, time(7, 30), {0, 2})
    assert custom.time_zone.key == "Asia/Tokyo"
    assert custom.max_late == timedelta(hours=3)


@pytest.mark.parametrize(
    ("key", "value"),
    [("cadence_days", 0), ("cadence_days", "7"), ("send_time", "9am"),
     ("send_weekdays", ["someday"]), ("late_joiners", "never"), ("max_late_hours", -1),
     ("time_zone", "Nowhere/Land"), ("mode", "trickle")],
)
def test_a_bad_series_toml_key_is_refused_naming_the_file_and_key(key: str, value: object) -> None:
    with pytest.raises(ScheduleError, match=rf"issues/x/series.toml: {key} = "):
        rules_from_raw({"mode": "drip", key: value}, default_zone="UTC",
                       where="issues/x/series.toml")


def test_the_first_issue_goes_at_the_first_slot_after_confirming() -> None:
    weekly = rules()
    # Confirmed Tue 2026-12-01 14:00 in New York: 09:00 has passed, so Wednesday 09:00.
    confirmed = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    due = drip.first_due(weekly, NEW_YORK, confirmed)
    assert due.astimezone(NEW_YORK).strftime("%a %d %H:%M") == "Wed 02 09:00"
    # Confirmed before 09:00: the same morning.
    early = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert drip.first_due(weekly, NEW_YORK, early).astimezone(NEW_YORK).day == 1


@pytest.mark.parametrize(
    ("tz", "confirmed"),
    [
        (NEW_YORK, datetime(2026, 2, 20, 18, 0, tzinfo=UTC)),  # across Mar 8
        (NEW_YORK, datetime(2026, 10, 10, 18, 0, tzinfo=UTC)),  # across Nov 1
        (BERLIN, datetime(2026, 3, 10, 18, 0, tzinfo=UTC)),  # across Mar 29
        (BERLIN, datetime(2026, 10, 5, 18, 0, tzinfo=UTC)),  # across Oct 25
    ],
)
def test_a_weekly_drip_keeps_the_local_hour_across_dst(tz: object, confirmed: datetime) -> None:
    weekly = rules(send_weekdays=["tue"])
    steps = drip.plan(weekly, tz, confirmed, [1, 2, 3, 4, 5])  # type: ignore[arg-type]
    assert [s.position for s in steps] == [1, 2, 3, 4, 5]
    local = [s.due_at.astimezone(tz) for s in steps]  # type: ignore[arg-type]
    assert {d.strftime("%a %H:%M") for d in local} == {"Tue 09:00"}
    gaps = {(b.date() - a.date()).days for a, b in pairwise(local)}
    assert gaps == {7}
    assert len({s.due_at.utcoffset() for s in steps}) == 1  # all reported in UTC
    assert len({d.utcoffset() for d in local}) == 2  # the walk crosses a transition


def test_a_drip_slot_in_the_gap_lands_once_at_the_end_of_the_gap() -> None:
    nightly = rules(cadence_days=1, send_time="02:30")
    confirmed = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
    steps = drip.plan(nightly, NEW_YORK, confirmed, [1, 2, 3, 4])
    local = [s.due_at.astimezone(NEW_YORK).strftime("%d %H:%M") for s in steps]
    assert local == ["07 02:30", "08 03:00", "09 02:30", "10 02:30"]


def test_a_drip_slot_in_the_fold_lands_once_at_its_first_occurrence() -> None:
    nightly = rules(cadence_days=1, send_time="01:30")
    confirmed = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
    steps = drip.plan(nightly, NEW_YORK, confirmed, [1, 2, 3])
    assert steps[0].due_at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert steps[1].due_at == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert len({s.due_at for s in steps}) == 3


def test_late_joiners_start_at_issue_one_or_at_the_live_issue() -> None:
    assert drip.start_position(rules(), [1, 2, 3, 4], live=3) == 1
    assert drip.start_position(rules(late_joiners="live"), [1, 2, 3, 4], live=3) == 3
    assert drip.start_position(rules(late_joiners="live"), [1, 2, 3, 4], live=None) == 1


def test_issues_received_by_broadcast_are_skipped_without_using_a_slot() -> None:
    daily = rules(cadence_days=1)
    confirmed = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    steps = drip.plan(daily, BERLIN, confirmed, [1, 2, 3, 4], received=[2])
    assert [s.position for s in steps] == [1, 3, 4]
    days = [s.due_at.astimezone(BERLIN).day for s in steps]
    assert days == [1, 2, 3]


def test_an_issue_found_too_late_moves_to_the_next_slot_at_the_local_hour() -> None:
    daily = rules(cadence_days=1, max_late_hours=6)
    due = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 09:00 Tokyo
    assert not drip.is_too_late(due, due + timedelta(hours=6), daily.max_late)
    now = due + timedelta(hours=30)
    assert drip.is_too_late(due, now, daily.max_late)
    moved = drip.replan_late(daily, TOKYO, now)
    assert moved.astimezone(TOKYO).strftime("%d %H:%M") == "03 09:00"


def test_cadence_counts_from_the_day_the_previous_issue_was_really_queued() -> None:
    weekly = rules()
    queued = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)  # Thursday, two days late
    nxt = drip.following_due(weekly, BERLIN, queued)
    assert nxt.astimezone(BERLIN).strftime("%a %d %H:%M") == "Thu 10 09:00"


def test_a_broadcast_waits_then_fans_out_then_is_held_when_too_late() -> None:
    due = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    limit = timedelta(hours=12)
    assert decide(due, due - timedelta(seconds=1), limit) is Action.WAIT
    assert decide(due, due, limit) is Action.FAN_OUT
    assert decide(due, due + limit, limit) is Action.FAN_OUT
    assert decide(due, due + limit + timedelta(seconds=1), limit) is Action.HOLD


def test_a_subscriber_zone_this_machine_does_not_know_falls_back_to_the_series_zone() -> None:
    assert rules().zone_for("Atlantis/Capital").key == "Europe/Berlin"
    assert rules().zone_for(None).key == "Europe/Berlin"
    assert rules().zone_for("Asia/Tokyo").key == "Asia/Tokyo"


def test_the_simulator_mixes_broadcasts_and_drip_slots_in_time_order() -> None:
    daily = rules(cadence_days=2)
    confirmed = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # first drip slot Dec 1 at 09:00
    broadcasts = [
        (datetime(2026, 12, 2, 11, 0, tzinfo=UTC), 4),  # before the drip gets to 4
        (datetime(2026, 12, 4, 11, 0, tzinfo=UTC), 1),  # the drip waits for this one
        (datetime(2026, 11, 20, 11, 0, tzinfo=UTC), 5),  # before the signup: not for them
    ]
    got = drip.simulate(daily, BERLIN, confirmed, [1, 2, 3, 4, 5], broadcasts=broadcasts)
    assert [(a.position, a.how, a.due_at.astimezone(BERLIN).strftime("%d %H:%M"))
            for a in got] == [
        (4, "broadcast", "02 12:00"),
        (1, "broadcast", "04 12:00"),
        (2, "drip", "06 09:00"),  # one cadence after the broadcast it waited for
        (3, "drip", "08 09:00"),
        (5, "drip", "10 09:00"),
    ]


def test_people_on_the_list_before_the_broadcasts_get_them_on_the_dates_staff_picked() -> None:
    weekly = rules(cadence_days=7)
    confirmed = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    broadcasts = [(datetime(2026, 12, day, 8, 0, tzinfo=UTC), n)
                  for n, day in ((1, 1), (2, 8), (3, 15))]
    got = drip.simulate(weekly, BERLIN, confirmed, [1, 2, 3], broadcasts=broadcasts)
    assert [(a.position, a.how, a.due_at.day) for a in got] == [
        (1, "broadcast", 1), (2, "broadcast", 8), (3, "broadcast", 15),
    ]


def test_a_late_joiner_catches_up_by_drip_on_the_issues_already_broadcast() -> None:
    weekly = rules(cadence_days=7)
    confirmed = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)  # after issues 1 and 2 went out
    broadcasts = [(datetime(2026, 12, day, 8, 0, tzinfo=UTC), n)
                  for n, day in ((1, 1), (2, 8), (3, 15))]
    got = drip.simulate(weekly, BERLIN, confirmed, [1, 2, 3], broadcasts=broadcasts)
    assert [(a.position, a.how) for a in got] == [
        (1, "drip"), (3, "broadcast"), (2, "drip"),
    ]
