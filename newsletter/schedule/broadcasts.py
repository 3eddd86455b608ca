"""Broadcast decisions (pure): what a scheduler tick does with one scheduled broadcast.

Documented rules (docs/scheduling.md, RELIABILITY #44):

* A broadcast is due once ``now >= due_at``; it is fanned out once, by the
  first tick that sees it due (missed ticks are computed from the table, not
  replayed one by one).
* Lateness: a broadcast found more than ``max_late_hours`` past its time
  (the scheduler was down) is **held**, not sent: a Tuesday-morning issue is
  not mailed on Thursday. Staff see it in ``newsletter schedule list`` and
  pick a new time with ``newsletter schedule move``.
* Clock jumps back: a fanned-out broadcast never becomes due again (its
  status, not the clock, says it was sent); a scheduled one waits for its time.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta


class Action(enum.StrEnum):
    """What a tick does with a scheduled broadcast."""

    WAIT = "wait"
    FAN_OUT = "fan_out"
    HOLD = "hold"


def decide(due_at: datetime, now: datetime, max_late: timedelta) -> Action:
    """Wait until ``due_at``; fan out if at most ``max_late`` past it; hold beyond that."""
    if now < due_at:
        return Action.WAIT
    if now - due_at > max_late:
        return Action.HOLD
    return Action.FAN_OUT


def hold_note(due_at: datetime, now: datetime) -> str:
    """Why a broadcast was held, for staff (``schedule list``)."""
    hours = (now - due_at).total_seconds() / 3600
    return (
        f"held: the scheduler reached it {hours:.1f} h after its time; "
        "pick a new time with `newsletter schedule move`"
    )
