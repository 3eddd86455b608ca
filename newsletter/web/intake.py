"""Group commit for the signup form: many requests' rows, one INSERT and one commit.

Each ``POST /subscribe`` hands its validated row to :class:`SignupWriter` and
waits until the row is committed; only then is the visitor answered, so every
accepted request has its row (and a refused write is a 503, never a lost
signup). Rows that arrive while the event loop is busy are gathered and
stored together once it comes round:

* on SQLite, when the write lock is free at that moment, right there in the
  event loop (a commit of a few dozen rows takes about a millisecond, and no
  thread has to be woken: on a busy machine each hand-over between threads
  costs more than the commit);
* while the lock is held (by the signup processor or another process), the
  loop tries again after 1, 2, 4, 8, 10, 10 … ms, taking the rows that came
  meanwhile along, for up to two seconds;
* after that, or on PostgreSQL (each commit a network round trip), one writer
  thread waits for the lock, so the event loop never does.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

MAX_ROWS_PER_COMMIT = 500
RETRY_FIRST_SECONDS = 0.001
RETRY_MAX_SECONDS = 0.01
RETRY_FOR_SECONDS = 2.0

Store = Callable[[Sequence[dict[str, Any]]], None]
StoreIfFree = Callable[[Sequence[dict[str, Any]]], bool]
_Batch = list[tuple[dict[str, Any], asyncio.Future[None]]]


class SignupWriter:
    """Stores rows from one event loop, as many per commit as are waiting."""

    def __init__(self, store: Store, store_if_free: StoreIfFree | None = None) -> None:
        """``store`` waits for the lock (thread); ``store_if_free`` never waits (SQLite only)."""
        self._store = store
        self._store_if_free = store_if_free
        self._pending: _Batch = []
        self._queue: queue.SimpleQueue[tuple[_Batch, asyncio.AbstractEventLoop] | None] = (
            queue.SimpleQueue())
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def append(self, row: dict[str, Any]) -> None:
        """Store ``row``; returns once it is committed (or raises what the store raised)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush, loop)
        self._pending.append((row, future))
        await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._pending:  # empty when a retry below took these rows along already
            self._attempt(loop, [], RETRY_FIRST_SECONDS, loop.time())

    def _attempt(self, loop: asyncio.AbstractEventLoop, batch: _Batch, delay: float,
                 started: float) -> None:
        batch += self._pending  # rows that came while this batch waited go with it
        self._pending = []
        if self._store_if_free is not None:
            try:
                stored = self._store_if_free([row for row, _future in batch])
            except Exception as err:  # handed to every waiting request, which maps it
                _settle([future for _row, future in batch], err)
                return
            if stored:
                _settle([future for _row, future in batch], None)
                return
            if loop.time() - started < RETRY_FOR_SECONDS:
                # The lock is taken (the signup processor's batch, say): try again in a
                # moment, without a thread. SQLite's own busy handler sleeps up to 100 ms.
                loop.call_later(delay, self._attempt, loop, batch,
                                min(delay * 2, RETRY_MAX_SECONDS), started)
                return
        self._start()  # PostgreSQL, or a lock held for long: a thread waits for it
        self._queue.put((batch, loop))

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="signup-writer",
                                                 daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Stop the thread once the rows already handed over are stored."""
        with self._lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join(timeout=10)
                self._thread = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batches = [first]
            stopping = False
            while sum(len(batch) for batch, _loop in batches) < MAX_ROWS_PER_COMMIT:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batches.append(item)
            error: BaseException | None = None
            try:
                self._store([row for batch, _loop in batches for row, _future in batch])
            except Exception as err:  # handed to every waiting request, which maps it
                error = err
            for batch, loop in batches:
                loop.call_soon_threadsafe(_settle, [future for _row, future in batch], error)
            if stopping:
                return


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():  # the request was cancelled (client gone): nothing to tell
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
