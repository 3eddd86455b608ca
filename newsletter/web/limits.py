"""An in-memory rate limiter for the signup form (RELIABILITY #26).

Per key (a client IP, or "*" for the global cap) a fixed-size sliding log of
recent hits. State lives in one process: with several web workers each keeps
its own count, so the effective limit is ``limit × workers`` (documented in
docs/subscribers.md). Time comes from the caller. Not to be confused with
:mod:`newsletter.delivery.pacing`, which paces sending.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from datetime import datetime, timedelta


class SignupLimiter:
    """At most ``limit`` signups per ``window`` per key; ``limit == 0`` turns the limiter off."""

    def __init__(self, limit: int, window: timedelta, *, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def hit(self, key: str, now: datetime) -> int | None:
        """Count one hit for ``key``: None when allowed, else the seconds to wait (≥ 1)."""
        if self.limit <= 0:
            return None
        with self._lock:
            log = self._hits.get(key)
            if log is None:
                if len(self._hits) >= self._max_keys:
                    self._forget_idle(now)
                log = self._hits[key] = deque()
            horizon = now - self.window
            while log and log[0] <= horizon:
                log.popleft()
            if len(log) >= self.limit:
                wait = (log[0] + self.window - now).total_seconds()
                return max(1, math.ceil(wait))
            log.append(now)
            return None

    def _forget_idle(self, now: datetime) -> None:
        # Bound memory under a flood of distinct keys: drop keys with no recent hit.
        horizon = now - self.window
        for key in [k for k, log in self._hits.items() if not log or log[-1] <= horizon]:
            del self._hits[key]
        if len(self._hits) >= self._max_keys:
            self._hits.clear()
