"""Worker registration and heartbeats: a dead worker's claims go back to the queue in seconds.

Every sending process (``newsletter worker``, ``send``, a scheduler that
drains) registers a ``workers`` row and claims rows in its name
(``deliveries.worker_id``). A worker counts as dead when

* its heartbeat is older than ``worker_dead_after_seconds`` (any host, any
  database: the rule that always applies, within about 35 s by default);
* on PostgreSQL, the session-level advisory lock it took when it registered is
  free (the database closed its session: the process or its host is gone);
* on the same host (same hostname, boot and PID namespace), its process is
  gone, or is a zombie, or its pid now belongs to a younger process.

Every live worker looks for dead ones when it registers (so a restarted
``send`` or ``worker`` takes back a killed one's rows at once) and at every
heartbeat. A dead worker is marked stopped and its ``sending`` rows get a
lease in the past, so the next claim takes them first, by the unchanged rules:
same Message-ID, and "unknown" outcomes keep their rule (docs/delivery.md). A
worker declared dead by mistake (a heartbeat stuck for 30 s) finds its row
stopped at its next beat and registers again; the attempt counter fences its
old claims, so it cannot overwrite the newer attempt's result.

Time comes from the App's clock: hosts need synchronised clocks (NTP), as
leases already do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, select, text, update
from sqlalchemy.orm import Session

from newsletter.db.engine import is_sqlite
from newsletter.db.models import Delivery, DeliveryStatus, Worker
from newsletter.db.transactions import rowcount
from newsletter.errors import DatabaseError

if TYPE_CHECKING:
    from newsletter.app import App

log = logging.getLogger("newsletter.delivery")
LOCK_NAMESPACE = 0x6E6C  # "nl": the first key of our two-key advisory locks
KEEP_STOPPED = timedelta(days=1)  # stopped workers' rows are pruned after this
HEARTBEAT = "recording a worker heartbeat"
REGISTERING = "sending (registering this worker)"


def host_key() -> str:
    """This machine and PID namespace: where a pid means the same process."""
    boot = _read(Path("/proc/sys/kernel/random/boot_id")) or "-"
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        namespace = "-"
    return f"{socket.gethostname()}|{boot}|{namespace}"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except OSError:
        return None


def process_state(pid: int) -> tuple[str, str] | None:
    """(state letter, start time in clock ticks) of a process, from /proc; None if unknown."""
    stat = _read(Path(f"/proc/{pid}/stat"))
    if stat is None:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) < 20:
        return None
    return fields[0], fields[19]


def process_alive(pid: int, started: str | None) -> bool:
    """Whether ``pid`` on this host is still the process that registered (not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    state = process_state(pid)
    if state is None:
        return True  # no /proc: the pid exists, which is all we can tell
    letter, start = state
    if letter in ("Z", "X"):
        return False
    return started is None or start == started


@dataclass(frozen=True)
class Reaped:
    """What one look for dead workers found."""

    workers: list[int]
    released: int  # their ``sending`` rows, back in the queue


def live_advisory_keys(session: Session) -> set[int] | None:
    """Keys of our advisory locks held in this database (None on SQLite)."""
    if is_sqlite(session.get_bind()):  # type: ignore[arg-type]
        return None
    rows = session.execute(text(
        "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = :ns "
        "AND objsubid = 2 AND granted AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"),
        {"ns": LOCK_NAMESPACE})
    return {int(row[0]) for row in rows}


def reap(session: Session, now: datetime, *, dead_after: timedelta, here: str,
         alive: Callable[[int, str | None], bool] = process_alive,
         myself: int | None = None) -> Reaped:
    """Mark dead workers stopped and put their claims back in the queue (caller's transaction)."""
    rows = session.execute(select(
        Worker.id, Worker.host_key, Worker.pid, Worker.pid_started, Worker.heartbeat_at,
        Worker.lock_key).where(Worker.stopped_at.is_(None))).all()
    locks = live_advisory_keys(session)
    dead: dict[int, str] = {}
    for worker_id, key, pid, started, beat, lock_key in rows:
        if worker_id == myself:
            continue
        if beat < now - dead_after:
            dead[worker_id] = f"no heartbeat since {beat:%H:%M:%S}Z"
        elif locks is not None and lock_key is not None and lock_key not in locks:
            dead[worker_id] = "its database session is gone (advisory lock free)"
        elif key == here and not alive(pid, started):
            dead[worker_id] = f"process {pid} is gone"
    released = 0
    if dead:
        for worker_id, reason in dead.items():
            session.execute(update(Worker).where(Worker.id == worker_id,
                                                 Worker.stopped_at.is_(None))
                            .values(stopped_at=now, stop_reason=reason[:200]))
        released = release_claims(session, list(dead), now)
        log.warning("worker(s) %s found dead (%s); %d claimed rows back in the queue",
                    ", ".join(map(str, dead)), "; ".join(dead.values()), released)
    session.execute(delete(Worker).where(Worker.stopped_at < now - KEEP_STOPPED))
    return Reaped(sorted(dead), released)


def reap_now(app: App) -> Reaped:
    """Look for dead workers once and put their claims back (``send`` does it before counting)."""
    now = app.clock.now()
    dead_after = timedelta(seconds=app.settings.worker_dead_after_seconds)
    with app.db.write("sending") as session:
        return reap(session, now, dead_after=dead_after, here=host_key())


def release_claims(session: Session, worker_ids: list[int], now: datetime) -> int:
    """Give the ``sending`` rows of these workers a lease in the past: the next claim takes them."""
    if not worker_ids:
        return 0
    return rowcount(session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.worker_id.in_(worker_ids))
        .values(lease_until=now - timedelta(seconds=1))
        .execution_options(synchronize_session=False)))


class Registration:
    """This process as a worker: its row, its heartbeat thread, its advisory lock (PostgreSQL).

    ``start()`` registers (and reaps at once), ``beat()`` is one heartbeat plus a
    look for dead workers (the thread calls it every ``worker_heartbeat_seconds``;
    tests call it with a manual clock), ``close()`` stops cleanly.
    """

    def __init__(self, app: App, *, name: str | None = None,
                 alive: Callable[[int, str | None], bool] = process_alive) -> None:
        self.app = app
        self.here = host_key()
        self.pid = os.getpid()
        state = process_state(self.pid)
        self.started = state[1] if state else None
        self.name = name or f"{socket.gethostname()}:{self.pid}"
        self.alive = alive
        self.interval = app.settings.worker_heartbeat_seconds
        self.dead_after = timedelta(seconds=app.settings.worker_dead_after_seconds)
        self.id: int | None = None
        self.lock_key: int | None = None
        self._lock_connection: Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_reaped = Reaped([], 0)

    def start(self, *, thread: bool = True) -> Registration:
        """Register, take back dead workers' claims, and start beating (unless ``thread``)."""
        self._register()
        if thread:
            self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
            self._thread.start()
        return self

    def _register(self) -> None:
        self.lock_key = self._take_lock()
        now = self.app.clock.now()
        with self.app.db.write(REGISTERING) as session:
            row = Worker(name=self.name[:200], host_key=self.here[:300], pid=self.pid,
                         pid_started=self.started, lock_key=self.lock_key, started_at=now,
                         heartbeat_at=now)
            session.add(row)
            session.flush()
            self.id = row.id
            self.last_reaped = reap(session, now, dead_after=self.dead_after, here=self.here,
                                    alive=self.alive, myself=self.id)

    def _take_lock(self) -> int | None:
        engine = self.app.engine
        if is_sqlite(engine):
            return None
        self._drop_lock()
        key = random.randint(1, 2**31 - 1)
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(text("SELECT pg_advisory_lock(:ns, :key)"),
                           {"ns": LOCK_NAMESPACE, "key": key})
        self._lock_connection = connection
        return key

    def _drop_lock(self) -> None:
        if self._lock_connection is not None:
            with contextlib.suppress(Exception):
                # Invalidate, not close: a closed Connection goes back to the pool with its
                # session (and the lock) still open; this ends the session.
                self._lock_connection.invalidate()
                self._lock_connection.close()
            self._lock_connection = None

    def _lock_lost(self) -> bool:
        if self._lock_connection is None:
            return self.lock_key is not None
        try:
            self._lock_connection.execute(text("SELECT 1"))
        except Exception:  # the session is gone, and the lock with it
            return True
        return False

    def beat(self) -> Reaped:
        """One heartbeat; registers again if this worker was declared dead; reaps others."""
        now = self.app.clock.now()
        if self._lock_lost():
            self._register()
            return self.last_reaped
        with self.app.db.write(HEARTBEAT) as session:
            kept = rowcount(session.execute(
                update(Worker).where(Worker.id == self.id, Worker.stopped_at.is_(None))
                .values(heartbeat_at=now)))
            if kept:
                self.last_reaped = reap(session, now, dead_after=self.dead_after,
                                        here=self.here, alive=self.alive, myself=self.id)
        if not kept:
            log.warning("worker %s was declared dead (its heartbeat was late); registering "
                        "again", self.id)
            self._register()
        return self.last_reaped

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except DatabaseError as err:  # busy or unreachable: try again at the next beat
                log.warning("worker heartbeat failed: %s", err)
            except Exception:  # keep beating whatever happens; the log says why
                log.exception("worker heartbeat failed")

    def close(self, reason: str = "stopped") -> None:
        """Stop beating, mark the row stopped and release whatever it still holds."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.id is not None:
            try:
                now = self.app.clock.now()
                with self.app.db.write(HEARTBEAT) as session:
                    session.execute(update(Worker).where(Worker.id == self.id,
                                                         Worker.stopped_at.is_(None))
                                    .values(stopped_at=now, stop_reason=reason[:200]))
                    release_claims(session, [self.id], now)
            except DatabaseError as err:  # the others will find it dead instead
                log.warning("could not record that worker %s stopped: %s", self.id, err)
        self._drop_lock()

    def __enter__(self) -> Registration:
        return self.start() if self.id is None else self

    def __exit__(self, *exc: Any) -> None:
        self.close()
