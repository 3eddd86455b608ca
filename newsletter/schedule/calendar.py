"""Calendar math: a local wall-clock time plus a zone → one UTC instant (pure, zoneinfo only).

Documented rules (docs/scheduling.md, RELIABILITY #41-42):

* A schedule is a zone plus a wall-clock time; 09:00 in New York stays 09:00
  across DST, because every instant is computed from the local date and time,
  never by adding 24-hour steps to a UTC instant.
* A wall-clock time that does not exist (spring forward, e.g. 02:30 on
  2026-03-08 in America/New_York) is sent once, at the first instant after the
  gap: the moment the clocks jump (03:00 local daylight time).
* A wall-clock time that happens twice (fall back, e.g. 01:30 on 2026-11-01 in
  America/New_York) is sent once, at its first occurrence (``fold=0``, the
  daylight-time reading).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from newsletter.clock import find_zone
from newsletter.errors import ScheduleError

LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``, or ScheduleError naming it."""
    found = find_zone(name)
    if found is None:
        raise ScheduleError(f"time zone {name!r} is not a known IANA zone (e.g. Europe/Berlin)")
    return found


def parse_local(text: str) -> datetime:
    """Parse a wall-clock time such as ``2026-12-01 09:00`` (naive: the zone comes separately)."""
    for fmt in LOCAL_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise ScheduleError(f"{text!r} is not a date and time like '2026-12-01 09:00'")


def format_local(moment: datetime) -> str:
    """The canonical text of a naive wall-clock time (``YYYY-MM-DD HH:MM``)."""
    return moment.strftime("%Y-%m-%d %H:%M")


def parse_time_of_day(text: str) -> time:
    """Parse ``HH:MM`` (a send time in series.toml)."""
    try:
        parsed = datetime.strptime(text.strip(), "%H:%M")
    except ValueError as err:
        raise ScheduleError(f"{text!r} is not a time of day like '09:00'") from err
    return parsed.time()


def parse_weekdays(names: Collection[str]) -> frozenset[int]:
    """Weekday names (``mon`` … ``sun``, any case, 3+ letters) → ``date.weekday()`` numbers."""
    days: set[int] = set()
    for name in names:
        key = str(name).strip().lower()[:3]
        if key not in WEEKDAYS:
            raise ScheduleError(
                f"{name!r} is not a weekday (use mon, tue, wed, thu, fri, sat, sun)"
            )
        days.add(WEEKDAYS.index(key))
    if not days:
        raise ScheduleError("at least one weekday must be allowed")
    return frozenset(days)


def _round_trips(local: datetime, tz: ZoneInfo) -> bool:
    aware = local.replace(tzinfo=tz)
    back = aware.astimezone(UTC).astimezone(tz)
    return back.replace(tzinfo=None) == local


def is_nonexistent(local: datetime, tz: ZoneInfo) -> bool:
    """True when ``local`` falls in a spring-forward gap of ``tz``."""
    return not _round_trips(local.replace(fold=0), tz)


def is_ambiguous(local: datetime, tz: ZoneInfo) -> bool:
    """True when ``local`` happens twice in ``tz`` (a fall-back fold)."""
    first = local.replace(tzinfo=tz, fold=0).utcoffset()
    second = local.replace(tzinfo=tz, fold=1).utcoffset()
    return first != second and not is_nonexistent(local, tz)


def _gap_end(local: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant the clocks jump over ``local`` (the first valid instant after the gap)."""
    # PEP 495: inside a gap fold=1 reads the wall time with the later offset (an
    # earlier instant) and fold=0 with the earlier offset (a later instant); the
    # jump lies between them. Transitions fall on whole seconds, so bisect.
    low = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if low > high:
        low, high = high, low
    before = low.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """Resolve a naive wall-clock time in ``tz`` to one aware UTC instant by the DST rules above."""
    local = local.replace(tzinfo=None, fold=0)
    if is_nonexistent(local, tz):
        return _gap_end(local, tz)
    # fold=0 is the first occurrence of an ambiguous time, and the only one otherwise.
    return local.replace(tzinfo=tz).astimezone(UTC)


def describe_local(local: datetime, tz: ZoneInfo) -> str:
    """A note for staff when ``local`` needs a DST rule ("" when it is an ordinary time)."""
    if is_nonexistent(local, tz):
        real = to_utc(local, tz).astimezone(tz)
        return (
            f"{format_local(local)} does not exist in {tz.key} (clocks spring forward); "
            f"sent at {real:%H:%M %Z}, the first moment after the gap"
        )
    if is_ambiguous(local, tz):
        real = to_utc(local, tz).astimezone(tz)
        return (
            f"{format_local(local)} happens twice in {tz.key} (clocks fall back); "
            f"sent once, at the first occurrence ({real:%H:%M %Z})"
        )
    return ""


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    """The calendar date of the UTC instant ``moment`` in ``tz``."""
    return moment.astimezone(tz).date()


def next_slot(
    earliest: datetime,
    tz: ZoneInfo,
    at: time,
    weekdays: frozenset[int],
    *,
    from_date: date | None = None,
) -> datetime:
    """The first send slot (``at`` local time on an allowed weekday) at or after ``earliest``.

    ``from_date`` additionally makes the slot fall on that local date or later
    (the cadence: "N calendar days after the previous issue"). Returns UTC.
    """
    if not weekdays:
        raise ScheduleError("at least one weekday must be allowed")
    day = local_date(earliest, tz)
    if from_date is not None and from_date > day:
        day = from_date
    # Eight days always reach an allowed weekday; the extra one covers a slot
    # earlier today that has already passed.
    for offset in range(15):
        candidate = day + timedelta(days=offset)
        if candidate.weekday() not in weekdays:
            continue
        instant = to_utc(datetime.combine(candidate, at), tz)
        if instant >= earliest:
            return instant
    raise ScheduleError("no send slot found within two weeks")  # pragma: no cover
