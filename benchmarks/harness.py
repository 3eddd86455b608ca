"""Shared pieces of the benchmarks that drive `newsletter` as a user does (console script, CLI).

The benchmarks talk to the product only through its command line, its
configuration file and the database tables documented in docs/ (``lists``,
``subscribers``, ``subscriptions``, ``deliveries``, ``suppressions``), never
through imports of ``newsletter.*``, so they keep working while modules move.

Seeding is the one shortcut: N active subscribers are written with one SQL
statement per table, because ``newsletter subscribers import`` (row by row,
with consent records) takes minutes at a million rows. Seeding is never part
of a measured figure.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text

REPO = Path(__file__).resolve().parent.parent
SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"
LIST_SLUG = "clinic-news"  # the list of the sample series issues/pain-care
ISSUE = "pain-care/1"
POSTGRES_ENV = "NEWSLETTER_BENCH_POSTGRES_URL"
TEST_POSTGRES_ENV = "NEWSLETTER_TEST_POSTGRES_URL"
# The console benchmarks' owner, made by `newsletter staff add` and logged in through the form.
OWNER_EMAIL, OWNER_PASSWORD = "owner@clinic.example", "correct horse battery staple"
CSRF_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def newsletter_bin() -> str:
    """The ``newsletter`` console script of this virtualenv."""
    found = shutil.which("newsletter", path=str(Path(sys.executable).parent))
    if not found:
        raise SystemExit("the newsletter console script is not installed next to this Python "
                         "(run `make .venv/.installed` and use .venv/bin/python)")
    return found


def machine() -> str:
    """One line about the machine and its load right now (for the report)."""
    load = os.getloadavg()
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total = int(meminfo.read_text().split()[1]) / 1024 / 1024
        memory = f", {total:.0f} GB RAM"
    return (f"{os.cpu_count()} CPUs (nproc){memory}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()} {platform.machine()}; "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def postgres_url(flag: str | None) -> str | None:
    """The PostgreSQL server to use: the flag, else NEWSLETTER_BENCH_POSTGRES_URL, else None."""
    if flag == "env":
        flag = os.environ.get(TEST_POSTGRES_ENV) or None
    return flag or os.environ.get(POSTGRES_ENV) or None


def make_project(folder: Path, *, smtp_port: int | None = None,
                 extra: Mapping[str, Any] | None = None) -> Path:
    """A fresh project folder: the sample series and lists of this repository and a config file.

    The configuration is what a user writes in ``newsletter.toml``: the relay
    (``transport = "smtp"``) and nothing else unless ``extra`` says so, so
    every other setting keeps its default.
    """
    root = folder / "project"
    (root / "issues").mkdir(parents=True)
    shutil.copytree(REPO / "issues" / "pain-care", root / "issues" / "pain-care")
    (root / "subscribers").mkdir()
    shutil.copy(REPO / "subscribers" / "lists.toml", root / "subscribers" / "lists.toml")
    settings: dict[str, Any] = {"base_url": "https://news.example.org"}
    if smtp_port is not None:
        settings.update(transport="smtp", smtp_host="127.0.0.1", smtp_port=smtp_port)
    settings.update(extra or {})
    lines = [f"{key} = {_toml(value)}" for key, value in settings.items()]
    (root / "newsletter.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Database:
    """The benchmark's database: the SQLite default under var/, or a private PostgreSQL schema."""

    url: str | None  # None: the product's default (var/newsletter.db in the project)
    engine: Engine
    kind: str
    schema: str | None = None

    def env(self) -> dict[str, str]:
        """Environment for `newsletter` processes (empty for the SQLite default)."""
        return {"NEWSLETTER_DATABASE_URL": self.url} if self.url else {}


def _pg_driver(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@contextmanager
def database(project: Path, pg_base: str | None) -> Iterator[Database]:
    """A fresh database for one benchmark run; a PostgreSQL schema is dropped afterwards."""
    if pg_base is None:
        path = project / "var" / "newsletter.db"
        engine = create_engine(f"sqlite:///{path}")
        try:
            yield Database(None, engine, "sqlite")
        finally:
            engine.dispose()
        return
    base = _pg_driver(pg_base)
    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options=-csearch_path%3D{schema}"
    engine = create_engine(url)
    try:
        yield Database(url, engine, "postgresql", schema)
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def cli_env(db: Database, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a `newsletter` process: ours minus NEWSLETTER_* plus the database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(db.env())
    env["PYTHONUNBUFFERED"] = "1"  # lines arrive when printed (fan-out timing, progress)
    env.update(extra or {})
    return env


def run_cli(project: Path, env: Mapping[str, str], *args: str,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run one `newsletter` command in ``project``; exit with its output if it fails."""
    done = subprocess.run([newsletter_bin(), *args], cwd=project, env=dict(env), text=True,
                          capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`newsletter {' '.join(args)}` failed ({done.returncode}):\n"
                         f"{done.stdout}\n{done.stderr}")
    return done


def prepare(project: Path, env: Mapping[str, str]) -> None:
    """Create the schema and the lists, the way staff do: `db upgrade`, `lists sync`."""
    run_cli(project, env, "db", "upgrade")
    run_cli(project, env, "lists", "sync")


def seed_active(db: Database, count: int, *, start: int = 0, prefix: str = "reader",
                list_slug: str = LIST_SLUG) -> float:
    """Insert ``count`` active, confirmed subscribers of the list; returns the seconds taken.

    Addresses are ``{prefix}{n}@example.org`` for n in [start, start + count);
    names are "Reader Nummer n" (the same shape as bench_send.py's); the public id
    (32 characters at most) is the prefix's first letter and n in 30 digits.
    """
    now = datetime.now(UTC).replace(tzinfo=None)  # the schema keeps naive UTC
    started = time.perf_counter()
    end = start + count
    with db.engine.begin() as connection:
        list_id = connection.execute(text("SELECT id FROM lists WHERE slug = :s"),
                                     {"s": list_slug}).scalar_one()
        if db.kind == "sqlite":
            numbers = ("WITH RECURSIVE n(x) AS (SELECT :start UNION ALL SELECT x + 1 FROM n "
                       "WHERE x + 1 < :end) ")
            public_id = "printf('%s%030d', substr(:prefix, 1, 1), x)"
            source = "n"
            value = "x"
        else:
            numbers = ""
            public_id = "(substr(:prefix, 1, 1) || lpad(g::text, 30, '0'))"
            source = "generate_series(CAST(:start AS bigint), CAST(:end AS bigint) - 1) AS g"
            value = "g"
        # The interpolated pieces are constants of this function, never input.
        connection.execute(text(
            f"{numbers}INSERT INTO subscribers (public_id, email, name, created_at) "  # noqa: S608
            f"SELECT {public_id}, :prefix || {value} || '@example.org', "
            f"'Reader Nummer ' || {value}, :now FROM {source}"),
            {"start": start, "end": end, "prefix": prefix, "now": now})
        connection.execute(text(
            "INSERT INTO subscriptions (subscriber_id, list_id, status, created_at, updated_at, "
            "confirmed_at) SELECT s.id, :list, 'active', :now, :now, :now FROM subscribers s "
            "WHERE s.email LIKE :pattern AND NOT EXISTS (SELECT 1 FROM subscriptions x "
            "WHERE x.subscriber_id = s.id AND x.list_id = :list)"),
            {"list": list_id, "now": now, "pattern": f"{prefix}%@example.org"})
    return time.perf_counter() - started


def status_counts(db: Database) -> dict[str, int]:
    """Issue deliveries by status (the ``deliveries`` table)."""
    with db.engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT status, count(*) FROM deliveries WHERE kind = 'issue' GROUP BY status"))
        return {str(status): int(n) for status, n in rows}


# --- memory of a process tree -------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (the ``children`` lists of its threads in /proc).

    Walking every /proc entry ten times a second cost the sampler a tenth of a core, taken
    from the processes it measured.
    """
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):  # any thread may start one
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) used so far by ``pids`` and their children (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    seen: set[int] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        todo += _children(pid)
    return total


def _kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class TreeMemory:
    """Peak resident memory of a process and all its descendants, sampled from /proc."""

    root: int
    interval: float = 0.1
    peak_per_process: dict[int, int] = field(default_factory=dict)  # pid → VmHWM KiB
    names: dict[int, str] = field(default_factory=dict)
    peak_total_kib: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> TreeMemory:
        """Begin sampling in a background thread."""
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _tree(self) -> list[int]:
        pids, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            todo.extend(_children(pid))
        return pids

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for pid in self._tree():
                hwm = _kib(pid, "VmHWM:")
                if hwm:
                    self.peak_per_process[pid] = max(self.peak_per_process.get(pid, 0), hwm)
                    if pid not in self.names:
                        try:
                            self.names[pid] = Path(f"/proc/{pid}/comm").read_text().strip()
                        except OSError:
                            self.names[pid] = "?"
                total += _kib(pid, "VmRSS:")
            self.peak_total_kib = max(self.peak_total_kib, total)
            self.samples += 1
            self._stop.wait(self.interval)

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def describe(self) -> str:
        """Peak per process (MB) and the peak of their sum."""
        parts = [f"{self.names.get(pid, '?')}[{pid}] {kib / 1024:.1f} MB"
                 for pid, kib in sorted(self.peak_per_process.items())]
        return (f"{len(parts)} process(es): " + ", ".join(parts)
                + f"; peak sum of RSS {self.peak_total_kib / 1024:.1f} MB")

    @property
    def peak_mb(self) -> float:
        """The largest single-process peak, MB."""
        return max(self.peak_per_process.values(), default=0) / 1024


# --- a recording SMTP server (aiosmtpd, a project dependency) --------------------------------

MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(.*?)\r?$", re.IGNORECASE | re.MULTILINE)


class _Handler:
    def __init__(self, keep_first: bool) -> None:
        self.lock = threading.Lock()
        self.copies: Counter[tuple[str, str]] = Counter()  # (recipient, Message-ID) → copies
        self.first: bytes | None = None
        self.keep_first = keep_first
        self.total = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or b""
        header_end = content.find(b"\r\n\r\n")
        match = MESSAGE_ID.search(content, 0, header_end if header_end > 0 else len(content))
        message_id = match.group(1).decode("ascii", "replace").strip() if match else ""
        with self.lock:
            if self.keep_first and self.first is None:
                self.first = content
            for rcpt in envelope.rcpt_tos:
                self.copies[(str(rcpt).lower(), message_id)] += 1
            self.total += 1
        return "250 OK"


class Recorder:
    """An SMTP server on 127.0.0.1 that counts copies per (recipient, Message-ID)."""

    def __init__(self, *, keep_first: bool = False, host: str = "127.0.0.1") -> None:
        from aiosmtpd.controller import Controller

        self.handler = _Handler(keep_first)
        self.host = host
        self.port = free_port(host)
        # The default data size limit (32 MB) is fine; decode_data=False keeps bytes.
        self._controller = Controller(self.handler, hostname=host, port=self.port)

    def __enter__(self) -> Recorder:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def snapshot(self) -> Counter[tuple[str, str]]:
        """A copy of the counts so far."""
        with self.handler.lock:
            return Counter(self.handler.copies)

    @property
    def first(self) -> bytes | None:
        """The first message received (when ``keep_first``)."""
        with self.handler.lock:
            return self.handler.first


def recipients(copies: Counter[tuple[str, str]]) -> set[str]:
    """Distinct recipients in a snapshot."""
    return {rcpt for rcpt, _mid in copies}


def duplicates(copies: Counter[tuple[str, str]]) -> tuple[int, int]:
    """(extra copies with the same Message-ID, recipients that got more than one Message-ID)."""
    same = sum(n - 1 for n in copies.values() if n > 1)
    ids: dict[str, int] = Counter(rcpt for rcpt, _mid in copies)
    return same, sum(1 for n in ids.values() if n > 1)


def capture_one_message() -> bytes:
    """One issue message exactly as `newsletter send` writes it (one seeded subscriber).

    The pilot always runs on the SQLite default: only the bytes matter.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-pilot-") as folder, \
            Recorder(keep_first=True) as recorder:
        project = make_project(Path(folder), smtp_port=recorder.port)
        with database(project, None) as db:
            env = cli_env(db)
            prepare(project, env)
            seed_active(db, 1, start=4242)
            run_cli(project, env, "send", "--issue", ISSUE)
        if recorder.first is None:
            raise SystemExit("the pilot send delivered nothing to the recorder")
        return recorder.first


def wait_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until something listens on host:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {host}:{port} after {timeout} s")


def start_sink(port: int) -> subprocess.Popen[bytes]:
    """Postfix's ``smtp-sink`` on 127.0.0.1:``port`` (as nobody when run as root), listening."""
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = subprocess.Popen([SINK, *user, f"127.0.0.1:{port}", "1000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port("127.0.0.1", port)
    except BaseException:
        sink.kill()
        sink.wait()
        raise
    return sink


def add_owner(project: Path, env: Mapping[str, str]) -> None:
    """Make the console owner ``OWNER_EMAIL`` with ``OWNER_PASSWORD`` (`newsletter staff add`)."""
    subprocess.run([newsletter_bin(), "staff", "add", OWNER_EMAIL, "--role", "owner",
                    "--password-stdin"], cwd=project, env=dict(env),
                   input=OWNER_PASSWORD + "\n", text=True, check=True, capture_output=True)


@contextmanager
def serving(project: Path, env: Mapping[str, str], port: int) -> Iterator[None]:
    """`newsletter serve` on ``port`` for a ``with`` block: waits until it listens, stops it."""
    server = subprocess.Popen([newsletter_bin(), "serve", "--port", str(port)], cwd=project,
                              env=dict(env), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_port("127.0.0.1", port, timeout=60)
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank of sorted ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
