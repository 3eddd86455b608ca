"""Engine and session factories; SQLite gets WAL, a busy timeout and explicit BEGIN modes.

Services do not open transactions here: they use :class:`newsletter.db.transactions.Transactions`
(``app.db``), which adds the SQLite writer gate and the one mapping of database errors.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from newsletter.errors import ConfigError

SQLITE_BUSY_TIMEOUT_MS = 10_000
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def _normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def hide_password(url: str) -> str:
    """``url`` as it may be shown to people: any password replaced by ``***``."""
    return _PASSWORD.sub(r"\1***@", url)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; SQLite files get WAL mode and a busy timeout."""
    url = _normalise_url(url)
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            return create_engine(url, pool_pre_ping=True, **kwargs)
    except (ArgumentError, ValueError) as err:  # unparsable, or no such kind of database
        raise ConfigError(f"database_url={hide_password(url)!r}: not a database URL") from err
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # "IMMEDIATE" takes the write lock up front: claims and counters never
        # fail half-way on a lock upgrade.
        options = connection.get_execution_options()
        mode = options.get("sqlite_begin", "DEFERRED")
        if mode == "IMMEDIATE":
            # ``sqlite_busy_ms`` 0: a caller that must not wait (the web's event loop).
            _begin_immediate(connection, int(options.get("sqlite_busy_ms",
                                                         SQLITE_BUSY_TIMEOUT_MS)))
            return
        connection.exec_driver_sql(f"BEGIN {mode}")


def _begin_immediate(connection: Any, wait_ms: int) -> None:
    """``BEGIN IMMEDIATE``, tried again every 0.1 to 2 ms for ``wait_ms`` while another
    connection (another process: threads queue on ``app.db``'s gate) writes.

    SQLite's own busy handler waits 1, 2, 5, 10, 15, 20, 25, 25... ms between
    tries, far longer than our write transactions hold the lock (a claim or a
    record of 50 results: 1 to 3 ms). With four sending processes on one file,
    each thread slept about a tenth of its time with the lock free. After
    ``wait_ms`` the error is SQLite's own "database is locked", raised through
    SQLAlchemy like every other error.
    """
    raw: sqlite3.Connection = connection.connection.dbapi_connection
    raw.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + wait_ms / 1000
        pause = _FIRST_PAUSE
        while time.monotonic() + pause < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as err:
                if not _locked(err):
                    break
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # the last try: raises SQLAlchemy's error
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


_FIRST_PAUSE, _LONGEST_PAUSE = 0.0001, 0.002


def _locked(err: sqlite3.OperationalError) -> bool:
    """Whether ``err`` is SQLITE_BUSY (another connection holds the write lock)."""
    return bool(getattr(err, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY)


def is_sqlite(engine: Engine) -> bool:
    """True when ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction that takes the write lock at once on SQLite.

    Commits when the block ends normally, rolls back on any exception
    (``sessionmaker.begin``); the only addition is SQLite's ``BEGIN IMMEDIATE``.
    """
    with factory.begin() as session:
        bind = session.get_bind()
        assert isinstance(bind, Engine)
        if is_sqlite(bind):
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        yield session
