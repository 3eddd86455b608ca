"""Group commit for the signup form: many requests' rows, one INSERT and one commit.

Each ``POST /subscribe`` hands its validated row to :class:`SignupWriter` and
waits until the row is committed; only then is the visitor answered, so every
accepted request has its row (and a refused write is a 503, never a lost
signup). One writer thread takes whatever rows are waiting, stores them in one
transaction and wakes their requests: under load a commit carries dozens of
signups, and the event loop never waits on the database. On SQLite this also
keeps the write lock with one thread of the web process, not with each request.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

MAX_ROWS_PER_COMMIT = 500

Store = Callable[[Sequence[dict[str, Any]]], None]
_Item = tuple[dict[str, Any], asyncio.Future[None], asyncio.AbstractEventLoop]


class SignupWriter:
    """Stores rows from any event loop through one thread, as many per commit as are waiting."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def append(self, row: dict[str, Any]) -> None:
        """Store ``row``; returns once it is committed (or raises what the store raised)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if self._thread is None:
            self._start()
        self._queue.put((row, future, loop))
        await future

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
            batch = [first]
            stopping = False
            while len(batch) < MAX_ROWS_PER_COMMIT:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            error: BaseException | None = None
            try:
                self._store([row for row, _future, _loop in batch])
            except Exception as err:  # handed to every waiting request, which maps it
                error = err
            by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for _row, future, loop in batch:
                by_loop.setdefault(loop, []).append(future)
            for loop, futures in by_loop.items():
                loop.call_soon_threadsafe(_settle, futures, error)
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
