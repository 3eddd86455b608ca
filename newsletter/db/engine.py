"""Engine and session factories; SQLite gets WAL, a busy timeout and explicit BEGIN modes.

Services do not open transactions here: they use :class:`newsletter.db.transactions.Transactions`
(``app.db``), which adds the SQLite writer gate and the one mapping of database errors.
"""

from __future__ import annotations

import re
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
        busy = options.get("sqlite_busy_ms")
        if busy is None:
            connection.exec_driver_sql(f"BEGIN {mode}")
            return
        # A caller that must not wait (the web's event loop): fail at once when locked.
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(busy)}")
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


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
