"""Login throttling: failed attempts counted per typed address and per client IP, in the database.

Counting by the address as typed, whether or not an account has it, keeps the
answer for an unknown address and a wrong password the same, throttled or
not. The count lives in the database, so every web process shares it. While
an address or IP is refused, its further tries are not counted: the refusal
ends when the window has passed since the last counted failure. RELIABILITY #54.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from newsletter.db.models import LoginAttempt

KEEP = timedelta(days=1)  # failures older than this are of no use to any window


@dataclass(frozen=True)
class Limits:
    """How many failures per address and per IP a window allows."""

    per_account: int
    per_ip: int
    window: timedelta


def wait_seconds(session: Session, email: str, ip: str, now: datetime, limits: Limits) -> int:
    """0 when a login may be tried now, else the seconds until it may (≥ 1)."""
    since = now - limits.window
    waits = [0]
    for column, value, limit in ((LoginAttempt.email, email, limits.per_account),
                                 (LoginAttempt.ip, ip, limits.per_ip)):
        times = list(session.scalars(
            select(LoginAttempt.attempted_at)
            .where(column == value, LoginAttempt.attempted_at > since)
            .order_by(LoginAttempt.attempted_at.desc())
            .limit(limit)
        ))
        if len(times) >= limit:
            # Free again once the oldest of the last ``limit`` failures leaves the window.
            free_at = times[-1] + limits.window
            waits.append(max(1, math.ceil((free_at - now).total_seconds())))
    return max(waits)


def count_failure(session: Session, email: str, ip: str, now: datetime) -> None:
    """Record one failed login (and forget failures too old to matter)."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at < now - KEEP))
    session.add(LoginAttempt(email=email[:320], ip=ip[:64], attempted_at=now))


def forget_failures(session: Session, email: str) -> None:
    """A successful login clears the address's failures (not the IP's)."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))


def failures(session: Session, email: str) -> int:
    """How many failures are on record for ``email`` (for tests and the staff page)."""
    query = select(func.count(LoginAttempt.id)).where(LoginAttempt.email == email)
    return int(session.scalar(query) or 0)
