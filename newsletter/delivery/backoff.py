"""Retry timing for deferred deliveries (RELIABILITY #16). Pure: ``now`` comes in.

The rule: the n-th deferral waits ``base * 2**(n-1)`` seconds, capped at
``cap``; once the first queueing is older than ``give_up`` the delivery fails
for good ("gave up"). Throttling replies wait a short fixed delay instead and
never count towards giving up early.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential backoff with a cap and a give-up age, all in seconds."""

    base: float = 300.0
    cap: float = 4 * 3600.0
    give_up: float = 3 * 86400.0
    throttle_delay: float = 60.0

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the ``attempts``-th failed try (1-based)."""
        exponent = max(attempts - 1, 0)
        seconds = self.cap if exponent >= 63 else min(self.base * (2**exponent), self.cap)
        return timedelta(seconds=seconds)

    def next_attempt(self, attempts: int, queued_at: datetime, now: datetime) -> datetime | None:
        """When to try again, or None when the delivery should give up."""
        moment = now + self.delay(attempts)
        if moment - queued_at > timedelta(seconds=self.give_up):
            return None
        return moment

    def after_throttle(self, now: datetime) -> datetime:
        """When to retry after a throttling reply (421/454)."""
        return now + timedelta(seconds=self.throttle_delay)
