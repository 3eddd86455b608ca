"""Drip planning (pure): when each issue of a drip series is due for one subscriber.

Documented rules (docs/scheduling.md):

* The drip starts when the subscriber confirms: the first issue goes at the
  first send slot (``send_time`` on an allowed weekday, in the subscriber's
  zone if known, else the series' zone) at or after the confirm time.
* ``late_joiners = "start"`` begins at the first issue; ``"live"`` begins at the
  newest issue whose broadcast has already gone out (the first issue if none has).
* Each following issue goes at the first slot on or after the local date of
  the day the previous issue was actually queued plus ``cadence_days``. Counting
  from the real queue day means an outage never makes two issues arrive back
  to back.
* An issue more than ``max_late_hours`` past its slot (scheduler down, or an
  issue added after the subscriber caught up) is not sent late: it moves to the
  next slot after now, so it still arrives at the subscriber's local hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from newsletter.schedule.calendar import local_date, next_slot
from newsletter.schedule.rules import SeriesRules


@dataclass(frozen=True)
class DripStep:
    """One issue of a subscriber's drip and the instant it is due (UTC)."""

    position: int
    due_at: datetime


def start_position(rules: SeriesRules, positions: Sequence[int], live: int | None) -> int:
    """The position a new subscriber starts at, by the ``late_joiners`` rule."""
    first = min(positions) if positions else 1
    if rules.late_joiners == "live" and live is not None:
        return max(first, live)
    return first


def first_due(rules: SeriesRules, tz: ZoneInfo, confirmed_at: datetime) -> datetime:
    """When the first drip issue is due for someone who confirmed at ``confirmed_at``."""
    return next_slot(confirmed_at, tz, rules.send_at, rules.weekdays)


def following_due(rules: SeriesRules, tz: ZoneInfo, queued_at: datetime) -> datetime:
    """When the issue after one queued at ``queued_at`` is due (``cadence_days`` calendar days)."""
    day = local_date(queued_at, tz) + timedelta(days=rules.cadence_days)
    return next_slot(queued_at, tz, rules.send_at, rules.weekdays, from_date=day)


def is_too_late(due_at: datetime, now: datetime, max_late: timedelta) -> bool:
    """True when ``now`` is more than ``max_late`` past ``due_at`` (the lateness rule)."""
    return now - due_at > max_late


def replan_late(rules: SeriesRules, tz: ZoneInfo, now: datetime) -> datetime:
    """The slot a too-late drip issue moves to: the first send slot after ``now``."""
    return next_slot(now, tz, rules.send_at, rules.weekdays)


def next_position(positions: Iterable[int], at_least: int, received: Iterable[int]) -> int | None:
    """The first existing position ``>= at_least`` the subscriber has not received yet."""
    have = set(received)
    candidates = sorted(p for p in positions if p >= at_least and p not in have)
    return candidates[0] if candidates else None


def plan(
    rules: SeriesRules,
    tz: ZoneInfo,
    confirmed_at: datetime,
    positions: Sequence[int],
    *,
    live: int | None = None,
    received: Iterable[int] = (),
) -> list[DripStep]:
    """The whole drip for one subscriber, assuming the scheduler runs on time (the simulator)."""
    have = set(received)
    steps: list[DripStep] = []
    position: int | None = start_position(rules, positions, live)
    due = first_due(rules, tz, confirmed_at)
    while (position := next_position(positions, position or 0, have)) is not None:
        steps.append(DripStep(position, due))
        have.add(position)
        due = following_due(rules, tz, due)
    return steps


@dataclass(frozen=True)
class Arrival:
    """One issue reaching a subscriber in a simulation: when, and by drip or broadcast."""

    position: int
    due_at: datetime
    how: str


def simulate(
    rules: SeriesRules,
    tz: ZoneInfo,
    confirmed_at: datetime,
    positions: Sequence[int],
    *,
    live: int | None = None,
    broadcasts: Iterable[tuple[datetime, int]] = (),
) -> list[Arrival]:
    """What a drip subscriber receives, in time order, with the series' later broadcasts mixed in.

    Mirrors a scheduler tick: broadcasts due by a drip slot go first (a tick
    fans out before it advances drips); a drip slot sends the first issue at
    or after the drip's position that the subscriber has not had yet, unless a
    broadcast of that issue is still to come: then the drip waits for it and
    resumes one cadence after the broadcast.
    """
    pending = sorted((due, p) for due, p in broadcasts if due > confirmed_at)
    have: set[int] = set()
    arrivals: list[Arrival] = []

    def broadcasts_until(moment: datetime | None) -> None:
        while pending and (moment is None or pending[0][0] <= moment):
            due, position = pending.pop(0)
            if position not in have:
                have.add(position)
                arrivals.append(Arrival(position, due, "broadcast"))

    floor = start_position(rules, positions, live)
    due = first_due(rules, tz, confirmed_at)
    while True:
        broadcasts_until(due)
        position = next_position(positions, floor, have)
        if position is None:
            break
        waiting_for = next((at for at, p in pending if p == position), None)
        if waiting_for is not None:
            # A scheduled broadcast brings this issue; the drip resumes a cadence after it.
            due = following_due(rules, tz, waiting_for)
            continue
        have.add(position)
        arrivals.append(Arrival(position, due, "drip"))
        floor = position + 1
        due = following_due(rules, tz, due)
    broadcasts_until(None)
    return arrivals
