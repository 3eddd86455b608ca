"""Send pacing: a thread-safe rate of messages per second and a sliding hourly window.

Time and sleeping are injected so tests need no real waiting. Throttling
replies from the relay halve the per-second rate for a while (``slow_down``).
Not to be confused with :mod:`newsletter.web.limits`, which admits signups.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SendPacer:
    """Blocks callers of :meth:`acquire` so sends stay under the configured rates (0 = none)."""

    def __init__(
        self,
        per_second: float = 0.0,
        per_hour: int = 0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_second = per_second
        self.per_hour = per_hour
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._hour: deque[float] = deque()
        self._slow_until = 0.0
        self._slow_factor = 1.0

    @property
    def paced(self) -> bool:
        """Whether a rate is set, so :meth:`acquire` may wait between messages."""
        return bool(self.per_second or self.per_hour)

    def slow_down(self, seconds: float = 60.0) -> None:
        """Halve the effective rate for ``seconds`` (the relay said we are too fast)."""
        with self._lock:
            self._slow_factor = min(self._slow_factor * 2, 64.0)
            self._slow_until = self._monotonic() + seconds

    def _interval(self, now: float) -> float:
        if now >= self._slow_until:
            self._slow_factor = 1.0
        rate = self.per_second / self._slow_factor if self.per_second else 0.0
        if not rate and self._slow_factor > 1.0:
            rate = 50.0 / self._slow_factor  # unlimited senders still ease off when throttled
        return 1.0 / rate if rate else 0.0

    def acquire(self) -> None:
        """Wait (via the injected sleep) until one more message may be sent."""
        if not self.per_second and not self.per_hour and self._slow_factor == 1.0:
            return
        while True:
            with self._lock:
                now = self._monotonic()
                wait = 0.0
                if self.per_hour:
                    while self._hour and now - self._hour[0] >= 3600.0:
                        self._hour.popleft()
                    if len(self._hour) >= self.per_hour:
                        wait = 3600.0 - (now - self._hour[0])
                interval = self._interval(now)
                if not wait and interval:
                    wait = max(self._next_slot - now, 0.0)
                if wait <= 0:
                    self._next_slot = max(self._next_slot, now) + interval
                    if self.per_hour:
                        self._hour.append(now)
                    return
            self._sleep(wait)
