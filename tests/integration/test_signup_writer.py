"""How the form's rows reach the database: at once when the lock is free, else by a thread.

The web's event loop must never wait for SQLite's write lock (RELIABILITY #23:
bounded waiting, a clear error, never a half-stored signup), and every
accepted request must have its row (issue 14: rows = accepted requests).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select, text

from newsletter.app import App
from newsletter.audience.intake import (
    SignupRequest,
    signup_row,
    store_signups,
    store_signups_if_free,
)
from newsletter.db.models import Signup
from newsletter.errors import DatabaseError
from newsletter.web.intake import SignupWriter
from tests.support.signup import LIST_SLUG, write_lists

T = TypeVar("T")


@pytest.fixture(autouse=True)
def lists(project: Path) -> None:
    write_lists(project)


def rows(app: App, count: int, prefix: str = "r") -> list[dict[str, Any]]:
    return [signup_row(app, SignupRequest(email=f"{prefix}{n}@example.com", list_slug=LIST_SLUG),
                       app.clock.now()) for n in range(count)]


def stored(app: App) -> int:
    with app.sessions() as session:
        return session.scalar(select(func.count()).select_from(Signup)) or 0


def sqlite_file(app: App) -> str:
    if not app.db.sqlite:
        pytest.skip("SQLite's write lock only")
    return str(app.engine.url.database)


def run_in_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: a browser test earlier in the run may leave
    Playwright's loop running in this thread, where ``asyncio.run`` refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_storing_now_stores_when_the_lock_is_free_and_never_on_postgresql(app: App) -> None:
    done = store_signups_if_free(app, rows(app, 3))
    assert done is app.db.sqlite  # PostgreSQL always hands over to the writer thread
    assert stored(app) == (3 if app.db.sqlite else 0)


def test_storing_now_gives_way_while_another_thread_of_the_process_writes(app: App) -> None:
    sqlite_file(app)
    waiting_rows = rows(app, 2)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with app.db.write("holding the lock"):
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(30)
        assert store_signups_if_free(app, waiting_rows) is False
    finally:
        release.set()
        holder.join()
    assert stored(app) == 0
    assert store_signups_if_free(app, waiting_rows) is True


def test_storing_now_gives_way_at_once_to_another_process_and_restores_the_busy_timeout(
    app: App,
) -> None:
    waiting_rows = rows(app, 2)
    other = sqlite3.connect(sqlite_file(app), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process writing
        assert store_signups_if_free(app, waiting_rows) is False
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert stored(app) == 0
    with app.engine.connect() as connection:  # the pooled connection waits again as usual
        assert connection.execute(text("PRAGMA busy_timeout")).scalar_one() == 10_000


def test_the_writer_answers_every_request_once_its_row_is_committed(app: App) -> None:
    async def post_all(writer: SignupWriter, batch: list[dict[str, Any]]) -> None:
        await asyncio.gather(*(writer.append(row) for row in batch))

    fast = SignupWriter(lambda r: store_signups(app, r),
                        (lambda r: store_signups_if_free(app, r)) if app.db.sqlite else None)
    run_in_own_loop(post_all(fast, rows(app, 40, "a")))
    # The lock never free: every row goes through the writer thread instead.
    slow = SignupWriter(lambda r: store_signups(app, r), lambda _rows: False)
    run_in_own_loop(post_all(slow, rows(app, 40, "b")))
    slow.close()
    assert stored(app) == 80


def test_a_failed_commit_fails_every_request_of_its_batch_and_stores_nothing(app: App) -> None:
    def broken(batch: Sequence[dict[str, Any]]) -> None:
        store_signups(app, [*batch, {**batch[0]}])  # a repeated public id: the whole batch fails

    async def post_all(writer: SignupWriter) -> list[BaseException | None]:
        results = await asyncio.gather(*(writer.append(row) for row in rows(app, 5)),
                                       return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    writer = SignupWriter(broken, lambda _rows: False)
    errors = run_in_own_loop(post_all(writer))
    writer.close()
    assert all(isinstance(error, DatabaseError) for error in errors)
    assert stored(app) == 0


def test_while_another_process_writes_the_loop_tries_again_and_stores_without_a_thread(
    app: App,
) -> None:
    path = sqlite_file(app)
    batch = rows(app, 20)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock for a moment
    writer = SignupWriter(lambda r: store_signups(app, r), lambda r: store_signups_if_free(app, r))

    async def post_all() -> None:
        asyncio.get_running_loop().call_later(0.05, other.execute, "ROLLBACK")
        await asyncio.gather(*(writer.append(row) for row in batch))

    try:
        run_in_own_loop(post_all())
    finally:
        other.close()
    assert stored(app) == 20
    assert writer._thread is None  # the event loop retried; no thread was needed
