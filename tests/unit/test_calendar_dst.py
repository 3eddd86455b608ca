"""Calendar math across the 2026 DST transitions (RELIABILITY #41, #42)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from newsletter.errors import ScheduleError
from newsletter.schedule.calendar import (
    describe_local,
    is_ambiguous,
    is_nonexistent,
    next_slot,
    parse_local,
    parse_weekdays,
    to_utc,
    zone,
)

NEW_YORK = zone("America/New_York")
BERLIN = zone("Europe/Berlin")
EVERY_DAY = frozenset(range(7))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "local", "expected"),
    [
        # Spring forward: 02:30 does not exist; sent at 03:00 local daylight time.
        (NEW_YORK, datetime(2026, 3, 8, 2, 30), utc(2026, 3, 8, 7, 0)),
        (NEW_YORK, datetime(2026, 3, 8, 2, 0), utc(2026, 3, 8, 7, 0)),
        (BERLIN, datetime(2026, 3, 29, 2, 30), utc(2026, 3, 29, 1, 0)),
        (BERLIN, datetime(2026, 3, 29, 2, 59), utc(2026, 3, 29, 1, 0)),
    ],
)
def test_a_time_in_the_spring_gap_is_sent_at_the_first_instant_after_the_gap(
    tz: object, local: datetime, expected: datetime
) -> None:
    assert is_nonexistent(local, tz)  # type: ignore[arg-type]
    assert to_utc(local, tz) == expected  # type: ignore[arg-type]
    assert to_utc(local, tz).astimezone(tz).strftime("%H:%M") == "03:00"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tz", "local", "expected"),
    [
        # Fall back: 01:30 happens twice in New York; the first (EDT, UTC-4) wins.
        (NEW_YORK, datetime(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30)),
        # 02:30 happens twice in Berlin; the first (CEST, UTC+2) wins.
        (BERLIN, datetime(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30)),
    ],
)
def test_a_time_that_happens_twice_is_sent_once_at_its_first_occurrence(
    tz: object, local: datetime, expected: datetime
) -> None:
    assert is_ambiguous(local, tz)  # type: ignore[arg-type]
    assert to_utc(local, tz) == expected  # type: ignore[arg-type]


def test_ordinary_times_need_no_rule_and_get_no_note() -> None:
    assert not is_nonexistent(datetime(2026, 3, 8, 9, 0), NEW_YORK)
    assert not is_ambiguous(datetime(2026, 11, 1, 9, 0), NEW_YORK)
    assert describe_local(datetime(2026, 3, 8, 9, 0), NEW_YORK) == ""
    assert "does not exist" in describe_local(datetime(2026, 3, 8, 2, 30), NEW_YORK)
    assert "happens twice" in describe_local(datetime(2026, 11, 1, 1, 30), NEW_YORK)


@pytest.mark.parametrize(
    ("tz", "start", "days", "utc_hours"),
    [
        (NEW_YORK, datetime(2026, 3, 5, tzinfo=UTC), 7, [14, 14, 14, 13, 13, 13, 13]),
        (NEW_YORK, datetime(2026, 10, 29, tzinfo=UTC), 7, [13, 13, 13, 14, 14, 14, 14]),
        (BERLIN, datetime(2026, 3, 26, tzinfo=UTC), 7, [8, 8, 8, 7, 7, 7, 7]),
        (BERLIN, datetime(2026, 10, 22, tzinfo=UTC), 7, [7, 7, 7, 8, 8, 8, 8]),
    ],
)
def test_nine_o_clock_stays_nine_o_clock_local_across_dst(
    tz: object, start: datetime, days: int, utc_hours: list[int]
) -> None:
    slots = []
    moment = start
    for _ in range(days):
        slot = next_slot(moment, tz, time(9, 0), EVERY_DAY)  # type: ignore[arg-type]
        slots.append(slot)
        moment = slot + timedelta(seconds=1)
    assert [s.astimezone(tz).strftime("%H:%M") for s in slots] == ["09:00"] * days  # type: ignore[arg-type]
    assert [s.hour for s in slots] == utc_hours
    dates = [s.astimezone(tz).date() for s in slots]  # type: ignore[arg-type]
    assert dates == [dates[0] + timedelta(days=i) for i in range(days)]


def test_a_slot_that_has_passed_today_moves_to_the_next_allowed_weekday() -> None:
    tuesday_thursday = parse_weekdays(["tue", "Thursday"])
    # Tue 2026-12-01 10:00 New York is after the 09:00 slot: next is Thursday.
    slot = next_slot(utc(2026, 12, 1, 15, 0), NEW_YORK, time(9, 0), tuesday_thursday)
    assert slot.astimezone(NEW_YORK).strftime("%a %Y-%m-%d %H:%M") == "Thu 2026-12-03 09:00"


def test_a_slot_inside_the_gap_is_sent_once_at_the_end_of_the_gap() -> None:
    slot = next_slot(utc(2026, 3, 8, 0, 0), NEW_YORK, time(2, 30), EVERY_DAY)
    assert slot == utc(2026, 3, 8, 7, 0)


def test_bad_inputs_get_errors_that_name_them() -> None:
    with pytest.raises(ScheduleError, match="Mars/Olympus"):
        zone("Mars/Olympus")
    with pytest.raises(ScheduleError, match="tomorrow"):
        parse_local("tomorrow")
    with pytest.raises(ScheduleError, match="funday"):
        parse_weekdays(["funday"])
    assert parse_local("2026-12-01T09:00") == datetime(2026, 12, 1, 9, 0)
