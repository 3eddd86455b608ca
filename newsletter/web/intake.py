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
* otherwise (the lock is held by the signup processor or another process, or
  the database is PostgreSQL, where each commit is a network round trip) by
  one writer thread that waits for the lock, so the event loop never does.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

MAX_ROWS_PER_COMMIT = 500

Store = Callable[[Sequence[dict[str, Any]]], None]
StoreIfFree = Callable[[Sequence[dict[str, Any]]], bool]
_Batch = list[tuple[dict[str, Any], asyncio.Future[None]]]


class SignupWriter:
    """Stores rows from one event loop, as many per commit as are waiting."""

    def __init__(self, store: Store, store_if_free: StoreIfFree | None = None) -> None:
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
        batch, self._pending = self._pending, []
        rows = [row for row, _future in batch]
        if self._store_if_free is not None:
            try:
                stored = self._store_if_free(rows)
            except Exception as err:  # handed to every waiting request, which maps it
                _settle([future for _row, future in batch], err)
                return
            if stored:
                _settle([future for _row, future in batch], None)
                return
        self._start()
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
