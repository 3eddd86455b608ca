"""When to try a failed webhook again: exponential backoff with jitter. Pure: ``now`` comes in.

The n-th failure waits ``base * 2**(n-1)`` seconds (capped at ``cap``), times a
random factor between 0.5 and 1 ("equal jitter"), so endpoints that came back
are not hit by every worker at once. Once the event is older than
``give_up`` the delivery fails for good.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff base, cap and give-up age, in seconds."""

    base: float = 30.0
    cap: float = 3600.0
    give_up: float = 86400.0

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """How long to wait after the ``attempts``-th failed try (1-based), jitter included."""
        exponent = min(max(attempts - 1, 0), 62)
        full = min(self.base * (2**exponent), self.cap)
        return timedelta(seconds=full / 2 + rng.uniform(0, full / 2))

    def next_attempt(self, attempts: int, created_at: datetime, now: datetime,
                     rng: random.Random) -> datetime | None:
        """When to try again, or None when the delivery should give up."""
        if now - created_at >= timedelta(seconds=self.give_up):
            return None
        return now + self.delay(attempts, rng)
