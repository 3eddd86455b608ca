"""The scheduler lock, held in the database: one row, a holder and a lease (RELIABILITY #24, #45).

Acquiring and renewing are one conditional UPDATE each: it succeeds only when
the row is free, its lease has run out, or the caller already holds it. A
scheduler that does not get the lock does nothing and tries again at its next
heartbeat (it waits). A holder that dies without releasing is replaced once
its lease expires. The lock keeps two schedulers from working at once; the
conditional status UPDATE on each broadcast and the outbox's unique key stay
as the guards behind it.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from newsletter.db.models import SchedulerLock
from newsletter.db.transactions import Transactions, rowcount
from newsletter.db.types import UTCDateTime

LOCK_NAME = "scheduler"


def make_holder_id() -> str:
    """A name for this process: host, pid and a random suffix (unique across restarts)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class LockState:
    """Who holds the lock and until when (None when nobody does)."""

    holder: str | None
    lease_until: datetime | None


LOCKING = "taking the scheduler lock"


def _ensure_row(db: Transactions, name: str) -> None:
    with db.read(LOCKING) as session:
        if session.get(SchedulerLock, name) is not None:
            return
    try:
        with db.write(LOCKING) as session:
            if session.get(SchedulerLock, name) is None:
                session.add(SchedulerLock(name=name))
    except IntegrityError:
        pass  # another scheduler created it first: that is all we wanted


def acquire(
    db: Transactions,
    holder: str,
    now: datetime,
    lease: timedelta,
    *,
    name: str = LOCK_NAME,
) -> bool:
    """Take or renew the lock for ``holder`` until ``now + lease``; True when held."""
    _ensure_row(db, name)
    with db.write(LOCKING) as session:
        result = session.execute(
            update(SchedulerLock)
            .where(
                SchedulerLock.name == name,
                or_(
                    SchedulerLock.holder.is_(None),
                    SchedulerLock.holder == holder,
                    SchedulerLock.lease_until < now,
                ),
            )
            .values(
                holder=holder,
                lease_until=now + lease,
                # A renewal keeps the original acquisition time.
                acquired_at=case(
                    (SchedulerLock.holder == holder, SchedulerLock.acquired_at),
                    else_=literal(now, UTCDateTime),
                ),
            )
            .execution_options(synchronize_session=False)
        )
        return bool(rowcount(result))


def release(db: Transactions, holder: str, *, name: str = LOCK_NAME) -> bool:
    """Give the lock up if ``holder`` has it; True when it was released."""
    with db.write(LOCKING) as session:
        result = session.execute(
            update(SchedulerLock)
            .where(SchedulerLock.name == name, SchedulerLock.holder == holder)
            .values(holder=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
        return bool(rowcount(result))


def state(db: Transactions, *, name: str = LOCK_NAME) -> LockState:
    """The current holder and lease, for messages such as "waiting for X"."""
    with db.read(LOCKING) as session:
        row = session.execute(
            select(SchedulerLock.holder, SchedulerLock.lease_until).where(
                SchedulerLock.name == name
            )
        ).first()
    if row is None:
        return LockState(None, None)
    return LockState(row[0], row[1])
