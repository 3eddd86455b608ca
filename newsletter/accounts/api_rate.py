"""The per-token rate limit of the REST API: GCRA, with its state in the database.

GCRA (the generic cell rate algorithm) is a token bucket kept as one number
per token, the "theoretical arrival time" (TAT): each admitted request moves
it one interval (60 s / rate) later; a request is refused while the TAT is
more than ``burst - 1`` intervals ahead of now. The number lives in the
token's row, so every web process (and every host) shares one budget; it is
changed by a compare-and-set UPDATE (``WHERE rate_tat_us = <what we read>``),
so two requests at once never both take the last unit. The same UPDATE sets
``last_used_at``: one short write per admitted request, none for a refused one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from newsletter.db.models import ApiToken

if TYPE_CHECKING:
    from newsletter.app import App

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TRIES = 8  # compare-and-set rounds before a request under heavy contention is refused


@dataclass(frozen=True)
class Rate:
    """How many requests a minute on average, and how many at once."""

    per_minute: int
    burst: int

    @property
    def interval_us(self) -> int:
        """Microseconds one request costs."""
        return max(1, 60_000_000 // self.per_minute)


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def decide(tat_us: int, now_us: int, rate: Rate) -> tuple[int | None, int]:
    """``(new TAT, 0)`` when a request at ``now_us`` may pass, else ``(None, seconds to wait)``."""
    tat = max(tat_us, now_us)
    allowance = rate.interval_us * (rate.burst - 1)
    if tat - now_us > allowance:
        return None, max(1, math.ceil((tat - allowance - now_us) / 1_000_000))
    return tat + rate.interval_us, 0


def take(app: App, token_id: int, rate: Rate) -> int:
    """Spend one request of the token's budget: 0 when admitted, else the seconds to wait."""
    now = app.clock.now()
    now_us = _micros(now)

    def work(session: Session) -> int | None:
        current = session.scalar(select(ApiToken.rate_tat_us).where(ApiToken.id == token_id))
        if current is None:  # the row is gone: nothing to admit
            return 1
        new_tat, wait = decide(int(current), now_us, rate)
        if new_tat is None:
            return wait
        changed = session.execute(
            update(ApiToken).where(ApiToken.id == token_id, ApiToken.rate_tat_us == current)
            .values(rate_tat_us=new_tat, last_used_at=now)
            .execution_options(synchronize_session=False))
        return 0 if getattr(changed, "rowcount", 0) == 1 else None  # None: lost a race

    for _ in range(_TRIES):
        outcome = app.db.run(work, doing="counting the API request")
        if outcome is not None:
            return outcome
    return 1
