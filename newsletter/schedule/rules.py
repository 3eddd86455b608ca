"""Scheduling keys of ``series.toml``, validated into :class:`SeriesRules` (pure).

::

    mode = "drip"                 # or "broadcast"
    time_zone = "Europe/Berlin"   # the series' zone (default: the time_zone setting)
    cadence_days = 7              # drip: calendar days between two issues (>= 1)
    send_time = "09:00"           # drip: local wall-clock time of each send
    send_weekdays = ["tue", "thu"]  # drip: allowed weekdays (default: every day)
    late_joiners = "start"        # drip: "start" (issue 1) or "live" (the newest broadcast issue)
    max_late_hours = 12           # both: later than this → held (broadcast) / next slot (drip)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from newsletter.errors import ScheduleError
from newsletter.schedule.calendar import parse_time_of_day, parse_weekdays, zone

if TYPE_CHECKING:
    from newsletter.content.issuefile import SeriesDoc

LateJoiners = Literal["start", "live"]
DEFAULT_CADENCE_DAYS = 7
DEFAULT_SEND_TIME = "09:00"
DEFAULT_MAX_LATE_HOURS = 12.0
ALL_WEEKDAYS = frozenset(range(7))


@dataclass(frozen=True)
class SeriesRules:
    """How one series is scheduled: its mode, zone, drip cadence and lateness limit."""

    mode: Literal["broadcast", "drip"]
    time_zone: ZoneInfo
    cadence_days: int = DEFAULT_CADENCE_DAYS
    send_at: time = time(9, 0)
    weekdays: frozenset[int] = ALL_WEEKDAYS
    late_joiners: LateJoiners = "start"
    max_late: timedelta = timedelta(hours=DEFAULT_MAX_LATE_HOURS)

    def zone_for(self, subscriber_zone: str | None) -> ZoneInfo:
        """The subscriber's own zone when it is a known IANA name, else the series' zone."""
        if subscriber_zone:
            try:
                return zone(subscriber_zone)
            except ScheduleError:
                # A browser can report a zone this machine's tz database lacks:
                # fall back rather than stop the drip.
                return self.time_zone
        return self.time_zone


def rules_from_raw(
    raw: Mapping[str, Any], *, default_zone: str, where: Path | str = "series.toml"
) -> SeriesRules:
    """Validate the scheduling keys of a series.toml dict; errors name the file and the key."""

    def fail(key: str, message: str) -> ScheduleError:
        return ScheduleError(f"{where}: {key} = {raw.get(key)!r}: {message}")

    mode = raw.get("mode", "broadcast")
    if mode not in ("broadcast", "drip"):
        raise fail("mode", "must be 'broadcast' or 'drip'")
    try:
        tz = zone(str(raw.get("time_zone") or default_zone))
    except ScheduleError as err:
        raise fail("time_zone", "is not a known IANA time zone") from err
    cadence = raw.get("cadence_days", DEFAULT_CADENCE_DAYS)
    if not isinstance(cadence, int) or isinstance(cadence, bool) or not 1 <= cadence <= 366:
        raise fail("cadence_days", "must be a whole number of days from 1 to 366")
    try:
        send_at = parse_time_of_day(str(raw.get("send_time", DEFAULT_SEND_TIME)))
    except ScheduleError as err:
        raise fail("send_time", "must be a time of day like '09:00'") from err
    names = raw.get("send_weekdays")
    try:
        weekdays = ALL_WEEKDAYS if names is None else parse_weekdays(list(names))
    except (ScheduleError, TypeError) as err:
        raise fail("send_weekdays", f"{err}") from err
    late_joiners = raw.get("late_joiners", "start")
    if late_joiners not in ("start", "live"):
        raise fail("late_joiners", "must be 'start' or 'live'")
    max_late = raw.get("max_late_hours", DEFAULT_MAX_LATE_HOURS)
    if not isinstance(max_late, int | float) or isinstance(max_late, bool) or max_late <= 0:
        raise fail("max_late_hours", "must be a positive number of hours")
    return SeriesRules(
        mode=mode,
        time_zone=tz,
        cadence_days=cadence,
        send_at=send_at,
        weekdays=weekdays,
        late_joiners=late_joiners,
        max_late=timedelta(hours=float(max_late)),
    )


def series_rules(doc: SeriesDoc, default_zone: str) -> SeriesRules:
    """The scheduling rules of one series folder (its series.toml keys, validated)."""
    return rules_from_raw(doc.config.raw, default_zone=default_zone,
                          where=doc.path / "series.toml")


def broadcast_rules(default_zone: str) -> SeriesRules:
    """Plain broadcast rules, for a series whose folder is gone or broken."""
    return SeriesRules("broadcast", zone(default_zone))
