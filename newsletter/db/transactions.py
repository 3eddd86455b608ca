"""How every use case writes: one transaction, one writer at a time on SQLite, one error mapping.

:class:`Transactions` (``app.db``) is the only way services open a write
transaction. It adds three things to :func:`~newsletter.db.engine.write_transaction`:

* **The SQLite writer gate.** SQLite has one write lock per file anyway;
  queueing our own threads on a mutex hands it over at once, where the busy
  handler would poll and sleep (that polling pushed the p99 of signups under
  load past a second). Other processes are waited for by trying ``BEGIN
  IMMEDIATE`` again every 0.1 to 2 ms (:mod:`newsletter.db.engine`), within
  the same busy timeout.
  PostgreSQL needs no gate.
* **One mapping of database errors.** A locked or unreachable database
  (``OperationalError``) becomes a :class:`~newsletter.errors.DatabaseError`
  that says what we were doing; the web answers 503, the CLI prints it.
* **A retry of lost insert races** (:meth:`Transactions.run`): two requests
  creating the same row at once on PostgreSQL; the loser runs again and finds it.

:func:`rowcount` is the one way to read how many rows a statement changed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from sqlalchemy.engine import Result
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db.engine import write_transaction
from newsletter.errors import DatabaseError

T = TypeVar("T")
RETRIES = 3


def database_error(err: OperationalError, doing: str = "") -> DatabaseError:
    """The one message for a database that is locked too long or cannot be reached."""
    context = f" while {doing}" if doing else ""
    return DatabaseError(
        f"database busy or unreachable{context}: {err.orig}; try again in a few seconds"
    )


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE, DELETE or INSERT changed (0 when the driver cannot say)."""
    count = getattr(result, "rowcount", 0)
    return max(int(count or 0), 0)


class Transactions:
    """Write (and read) sessions for one database, with the gate and the error mapping."""

    def __init__(self, sessions: sessionmaker[Session], *, sqlite: bool) -> None:
        self.sessions = sessions
        self.sqlite = sqlite
        # Re-entrant: a nested write by mistake fails on SQLite's busy timeout, never hangs.
        self._lock = threading.RLock()
        self._gate: contextlib.AbstractContextManager[Any] = (
            self._lock if sqlite else contextlib.nullcontext()
        )

    @contextlib.contextmanager
    def write(self, doing: str = "") -> Iterator[Session]:
        """One write transaction: commits when the block ends, rolls back on any exception."""
        try:
            with self._gate, write_transaction(self.sessions) as session:
                yield session
        except OperationalError as err:
            raise database_error(err, doing) from err

    def run_if_free(self, work: Callable[[Session], object], *, doing: str = "") -> bool:
        """Run ``work`` in a write transaction only if SQLite's write lock is free right now.

        Returns False, having done nothing, when another thread of this process
        or another process holds it (or on PostgreSQL, where waiting is cheap
        and belongs in a thread). The caller may not block: the web's event
        loop stores signups this way and hands them to a thread otherwise.
        """
        if not self.sqlite or not self._lock.acquire(blocking=False):
            return False
        try:
            with self.sessions.begin() as session:
                session.connection(execution_options={"sqlite_begin": "IMMEDIATE",
                                                      "sqlite_busy_ms": 0})
                work(session)
            return True
        except OperationalError as err:
            if "locked" in str(err.orig) or "busy" in str(err.orig):
                return False
            raise database_error(err, doing) from err
        finally:
            self._lock.release()

    @contextlib.contextmanager
    def read(self, doing: str = "") -> Iterator[Session]:
        """A session for reading only, with the same error mapping as :meth:`write`."""
        try:
            with self.sessions() as session:
                yield session
        except OperationalError as err:
            raise database_error(err, doing) from err

    def run(self, work: Callable[[Session], T], *, doing: str = "") -> T:
        """Run ``work`` in one write transaction; run it again when it lost an insert race."""
        for attempt in range(RETRIES):
            try:
                with self.write(doing) as session:
                    return work(session)
            except IntegrityError as err:
                # Two requests created the same row at once (PostgreSQL): the loser
                # runs again and now finds the row.
                if attempt == RETRIES - 1:
                    what = f" {doing}" if doing else ""
                    raise DatabaseError(
                        f"could not finish{what} after {RETRIES} tries: {err.orig}"
                    ) from err
        raise AssertionError("unreachable")
