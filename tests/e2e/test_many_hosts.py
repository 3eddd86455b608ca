"""Workers and schedulers on three "hosts" sharing one PostgreSQL (RELIABILITY #14, #24, #45, #52).

Each host is a Linux network namespace (tests/support/netns.py) that reaches
the machine only through its veth address: PostgreSQL through a TCP forwarder
the test binds on the bridge address, the SMTP sink (which notes the sending
host of every copy) on the same address. The product runs as its users run
it: `newsletter worker` and `newsletter scheduler` processes in each host's
own copy of the project folder, all driven through the command line.

Skipped where network namespaces cannot be made (not Linux, not root, no
iproute2) or without PostgreSQL (NEWSLETTER_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from sqlalchemy import Engine, bindparam, create_engine, text

from newsletter.delivery.processes import default_processes
from tests.support.netns import Hosts, TcpForwarder, project_copy
from tests.support.peersink import PeerSink
from tests.support.processes import children_of

REPO = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("NEWSLETTER_TEST_POSTGRES_URL")
AUDIENCE = 300
KILL_AFTER = 30  # copies the doomed host delivers before it is killed: it is mid-send
GUARD = 180.0  # seconds before a wait gives up (a hang guard, not a timing check)
SECRET = "many-hosts-secret"  # the same on every host: Message-IDs are an HMAC of it

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(POSTGRES_URL is None,
                       reason="needs PostgreSQL: set NEWSLETTER_TEST_POSTGRES_URL"),
]


class NotRecoveredInTime(AssertionError):
    """The dead host's claims did not come back within 60 s of its death."""


def _driver(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass
class World:
    """One PostgreSQL schema, reached by the hosts through a forwarder, and one sink."""

    hosts: Hosts
    sink: PeerSink
    forwarder: TcpForwarder
    engine: Engine  # the test's own view of the schema (over 127.0.0.1)
    local_url: str  # for CLI commands run by the test itself (staff at the machine)
    host_url: str  # for processes inside a host: the gateway address, never 127.0.0.1
    project: Path  # the staff's project folder; each host gets a copy
    tmp: Path

    def env(self, url: str, **settings: object) -> dict[str, str]:
        """A `newsletter` process environment: only what the test sets, no NEWSLETTER_* leaks."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
        env.update({
            "PYTHONUNBUFFERED": "1",
            "NEWSLETTER_DATABASE_URL": url,
            "NEWSLETTER_TRANSPORT": "smtp",
            "NEWSLETTER_SMTP_HOST": self.hosts.gateway,
            "NEWSLETTER_SMTP_PORT": str(self.sink.port),
            "NEWSLETTER_SECRET_KEYS": SECRET,
            "NEWSLETTER_BASE_URL": "https://news.example.org",
        })
        env.update({f"NEWSLETTER_{key.upper()}": str(value) for key, value in settings.items()})
        return env

    def staff(self, *args: str) -> str:
        """Run a `newsletter` command at the machine (root namespace) and return its output."""
        done = subprocess.run([sys.executable, "-m", "newsletter", *args], cwd=self.project,
                              env=self.env(self.local_url), capture_output=True, text=True,
                              timeout=GUARD, check=False)
        assert done.returncode == 0, f"newsletter {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def host_folder(self, index: int) -> Path:
        """Host ``index``'s own copy of the project folder."""
        folder = self.tmp / f"host{index}"
        if not folder.exists():
            project_copy(self.project, folder)
        return folder

    def start(self, index: int, *args: str, **settings: object) -> Proc:
        """Start `newsletter ARGS` inside host ``index``."""
        process = self.hosts.popen(
            index, [sys.executable, "-m", "newsletter", *args], cwd=self.host_folder(index),
            env=self.env(self.host_url, **settings), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        return Proc(f"host{index}", process)

    def statuses(self) -> dict[str, int]:
        """Issue deliveries by status."""
        with self.engine.connect() as connection:
            return {str(s): int(n) for s, n in connection.execute(text(
                "SELECT status, count(*) FROM deliveries WHERE kind = 'issue' GROUP BY status"))}

    def live_workers(self) -> int:
        """Sending processes registered and not stopped."""
        with self.engine.connect() as connection:
            return int(connection.execute(text(
                "SELECT count(*) FROM workers WHERE stopped_at IS NULL")).scalar_one())

    def held_by(self, pids: list[int]) -> set[str]:
        """Recipients of the rows claimed (still "sending") by the worker processes ``pids``."""
        with self.engine.connect() as connection:
            return {str(email).lower() for (email,) in connection.execute(text(
                "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
                "JOIN workers w ON w.id = d.worker_id "
                "WHERE d.status = 'sending' AND w.pid IN :pids").bindparams(
                    bindparam("pids", expanding=True)), {"pids": pids})}


class Proc:
    """A process whose output lines arrive on a queue (read without sleeping)."""

    def __init__(self, name: str, process: subprocess.Popen[str]) -> None:
        self.name = name
        self.process = process
        self.lines: list[str] = []
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def wait_for(self, needle: str, timeout: float = GUARD) -> str:
        """Block until a line containing ``needle`` arrives."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"{self.name} exited before {needle!r}: {self.lines}")
            self.lines.append(line)
            if needle in line:
                return line

    def stop(self, *, terminate: bool = True) -> None:
        """SIGTERM (unless it should end by itself), then collect the remaining output."""
        if terminate and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=30)
        while not self.queue.empty():
            line = self.queue.get_nowait()
            if line is not None:
                self.lines.append(line)
        if self.process.stdout is not None:
            self.process.stdout.close()


def write_project(root: Path) -> Path:
    """A project with the sample series as a broadcast series "care" and the sample lists."""
    series = root / "issues" / "care"
    series.mkdir(parents=True)
    for issue in sorted((REPO / "issues" / "pain-care").glob("0*.md")):
        shutil.copy(issue, series / issue.name)
    (series / "series.toml").write_text(
        'title = "Understanding Chronic Pain"\nlist = "clinic-news"\nmode = "broadcast"\n'
        'time_zone = "UTC"\n', encoding="utf-8")
    (root / "subscribers").mkdir()
    shutil.copy(REPO / "subscribers" / "lists.toml", root / "subscribers" / "lists.toml")
    return root


def reader(n: int) -> str:
    """Subscriber ``n``'s address."""
    return f"reader{n:04d}@example.org"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Three hosts, a private PostgreSQL schema behind a forwarder, a sink on the gateway."""
    assert POSTGRES_URL is not None
    schema = "hosts_" + uuid4().hex[:10]
    admin = create_engine(_driver(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    options = f"options=-csearch_path%3D{schema}"
    split = urlsplit(POSTGRES_URL)
    pg_host, pg_port = split.hostname or "127.0.0.1", split.port or 5432
    local_url = f"{POSTGRES_URL}{'&' if split.query else '?'}{options}"
    engine = create_engine(_driver(local_url))
    try:
        with Hosts(3) as hosts, PeerSink(hosts.gateway) as sink, \
                TcpForwarder(hosts.gateway, pg_host, pg_port) as forwarder:
            netloc = split.netloc.rsplit("@", 1)
            credentials = netloc[0] + "@" if len(netloc) == 2 else ""
            host_url = (f"{split.scheme}://{credentials}{hosts.gateway}:{forwarder.port}"
                        f"{split.path}?{split.query + '&' if split.query else ''}{options}")
            project = write_project(tmp_path / "staff")
            yield World(hosts, sink, forwarder, engine, local_url, host_url, project, tmp_path)
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def queue_issue_for(world: World, count: int) -> None:
    """Subscribe ``count`` people (CSV import) and schedule issue 1, due a minute ago."""
    people = world.project / "subscribers" / "people.csv"
    people.write_text("email,name\n" + "".join(f"{reader(n)},Reader {n}\n" for n in range(count)),
                      encoding="utf-8")
    world.staff("subscribers", "import", str(people), "--list", "clinic-news")
    soon = (datetime.now(UTC) + timedelta(minutes=2)).strftime("%Y-%m-%d %H:%M")
    world.staff("schedule", "care", "1", "--at", soon, "--tz", "UTC")
    # The clock cannot be moved for other processes: move the due time instead (a broadcast
    # whose moment has come), as if the test had waited the two minutes.
    with world.engine.begin() as connection:
        moved = connection.execute(text("UPDATE broadcasts SET due_at = :past"),
                                   {"past": (datetime.now(UTC) - timedelta(minutes=1))
                                    .replace(tzinfo=None)})
        assert moved.rowcount == 1


def assert_hosts_see_only_the_gateway(world: World) -> None:
    """From inside a host, 127.0.0.1 has no PostgreSQL; the gateway's forwarder and sink answer."""
    assert POSTGRES_URL is not None
    pg_port = urlsplit(POSTGRES_URL).port or 5432
    assert not world.hosts.can_connect(0, "127.0.0.1", pg_port)
    assert world.hosts.can_connect(0, world.hosts.gateway, world.forwarder.port)
    assert world.hosts.can_connect(1, world.hosts.gateway, world.sink.port)


def start_workers(world: World, **settings: object) -> list[Proc]:
    """`newsletter worker` on each of the three hosts, each ready before returning."""
    workers = [world.start(i, "worker", "--idle", "0.5", **settings) for i in range(3)]
    for worker in workers:
        worker.wait_for("Worker sending through smtp")
    # Each starts one sending process per core; they are ready once registered.
    wait_until(lambda: world.live_workers() >= 3 * default_processes(),
               "every sending process to register")
    return workers


def fan_out_from_host(world: World, index: int) -> None:
    """One scheduler heartbeat on a host: it fans the due broadcast out and sends nothing."""
    beat = world.start(index, "scheduler", "--once", "--no-drain")
    beat.wait_for(f"fanned out care #1 to {AUDIENCE}")
    beat.stop(terminate=False)
    assert beat.process.returncode == 0, beat.lines


def kill_mid_send(world: World, workers: list[Proc]) -> tuple[str, set[str]]:
    """SIGKILL the first worker whose host has delivered KILL_AFTER copies (it is mid-send).

    Returns that host's address and the recipients of the rows it had claimed and not
    recorded (its in-flight mail): read while it is stopped (SIGSTOP), so neither it nor
    the others can change them, then it is killed. Which host gets work first depends on
    who polls first after the fan-out, so the victim is chosen by what it did.
    """
    addresses = [world.hosts.address(i) for i in range(len(workers))]
    deadline = time.monotonic() + GUARD
    while True:
        delivered = world.sink.by_peer()
        busy = [i for i, address in enumerate(addresses) if delivered[address] >= KILL_AFTER]
        if busy:
            break
        assert time.monotonic() < deadline, f"no host delivered {KILL_AFTER}: {delivered}"
        assert all(w.process.poll() is None for w in workers), [w.lines for w in workers]
        time.sleep(0.02)
    victim = workers[busy[0]]
    # `worker` runs one sending process per core: stop the whole family, then kill the
    # parent (its children die with it, as when a host goes down).
    family = [victim.process.pid, *children_of(victim.process.pid)]
    for pid in family:
        os.kill(pid, signal.SIGSTOP)
    in_flight = world.held_by(family)
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait()
    for pid in family[1:]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return addresses[busy[0]], in_flight


def wait_until(condition: object, what: str, timeout: float = GUARD) -> None:
    """Poll ``condition()`` until true; fail with ``what`` after ``timeout`` (a hang guard)."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


def test_three_hosts_share_the_queue_and_a_killed_host_loses_nobody_and_duplicates_only_its_in_flight_mail(  # noqa: E501
        world: World) -> None:
    pool, batch, lease = 2, 10, 15
    assert_hosts_see_only_the_gateway(world)
    queue_issue_for(world, AUDIENCE)
    workers = start_workers(world, smtp_pool_size=pool, delivery_batch_size=batch,
                            delivery_lease_seconds=lease, smtp_rate_per_second=25)
    try:
        fan_out_from_host(world, 0)
        victim, in_flight = kill_mid_send(world, workers)
        everyone = {reader(n) for n in range(AUDIENCE)}
        wait_until(lambda: world.statuses() == {"sent": AUDIENCE}
                   and world.sink.recipients() >= everyone, "every delivery to be sent")
    finally:
        for worker in workers:
            worker.stop()

    copies = world.sink.copies
    by_recipient: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for copy in copies:
        by_recipient[copy.rcpt].append((copy.peer, copy.message_id))
    hosts = {world.hosts.address(i) for i in range(3)}
    # Every recipient got the issue, from the hosts only (never from the machine itself).
    assert set(by_recipient) == everyone
    assert {copy.peer for copy in copies} == hosts
    # Claims are disjoint: no host sent anyone twice, and the only person to get copies from
    # two hosts is one the killed host had in flight (its copy first, a live host's after).
    twice = {rcpt: got for rcpt, got in by_recipient.items() if len(got) > 1}
    for rcpt, got in twice.items():
        peers = [peer for peer, _mid in got]
        assert len(got) == 2, (rcpt, got)
        assert peers[0] == victim, (rcpt, got)
        assert peers[1] != victim, (rcpt, got)
        assert rcpt in in_flight, (rcpt, got)
    # Duplicates carry the same Message-ID, and are bounded by what was in flight.
    assert all(len({mid for _peer, mid in got}) == 1 for got in by_recipient.values())
    assert len(in_flight) <= pool * batch * default_processes()  # one worker process per core
    assert len(twice) <= len(in_flight)
    assert world.forwarder.connections >= 3  # the hosts' database traffic came through it
    print(f"\nmany hosts: {len(copies)} copies to {AUDIENCE} people from "
          f"{dict(world.sink.by_peer())}; host {victim} killed with {len(in_flight)} in flight; "
          f"{len(twice)} duplicates")


def test_a_dead_hosts_claims_are_sent_by_the_live_hosts_within_60_seconds_on_default_settings(
        world: World) -> None:
    queue_issue_for(world, AUDIENCE)
    # Default settings (lease 15 min, pool 4, batch 50), slowed so the kill lands mid-send.
    workers = start_workers(world, smtp_rate_per_second=15)
    try:
        fan_out_from_host(world, 0)
        _victim, in_flight = kill_mid_send(world, workers)
        killed = time.monotonic()
        everyone = {reader(n) for n in range(AUDIENCE)}
        while world.sink.recipients() < everyone:
            if time.monotonic() - killed > 60:
                missing = everyone - world.sink.recipients()
                raise NotRecoveredInTime(
                    f"{len(missing)} of {AUDIENCE} recipients still without the issue 60 s "
                    f"after the kill; deliveries: {world.statuses()}")
            time.sleep(0.2)
        wait_until(lambda: world.statuses() == {"sent": AUDIENCE}, "every delivery recorded")
    finally:
        for worker in workers:
            worker.stop()
    copies = world.sink.copies
    ids: dict[str, set[str]] = defaultdict(set)
    count: dict[str, int] = defaultdict(int)
    for copy in copies:
        ids[copy.rcpt].add(copy.message_id)
        count[copy.rcpt] += 1
    assert all(len(found) == 1 for found in ids.values())
    assert {rcpt for rcpt, n in count.items() if n > 1} <= in_flight


def test_two_schedulers_on_two_hosts_fan_out_once_and_the_other_waits(world: World) -> None:
    queue_issue_for(world, AUDIENCE)
    schedulers = [world.start(i, "scheduler", "--interval", "0.5", "--lease", "3", "--no-drain")
                  for i in (0, 1)]
    try:
        lines: dict[str, str] = {}

        def watch(proc: Proc) -> None:
            lines[proc.name] = proc.wait_for("lock")

        watchers = [threading.Thread(target=watch, args=(p,)) for p in schedulers]
        for watcher in watchers:
            watcher.start()
        for watcher in watchers:
            watcher.join(timeout=GUARD)
        holder = next(p for p in schedulers if "acquired" in lines.get(p.name, ""))
        waiter = next(p for p in schedulers if p is not holder)
        assert lines[waiter.name].startswith("waiting: the scheduler lock is held by "), (
            waiter.lines)
        holder.wait_for(f"fanned out care #1 to {AUDIENCE}")
        assert waiter.process.poll() is None  # still there, waiting (it says so once)
    finally:
        for proc in schedulers:
            proc.stop()
    everything = [line for proc in schedulers for line in proc.lines]
    assert sum("fanned out care #1" in line for line in everything) == 1
    assert not any("fanned out" in line for line in waiter.lines)
    assert not [line for line in everything if "Traceback" in line or "failed" in line]
    assert world.statuses() == {"queued": AUDIENCE}
    with world.engine.connect() as connection:
        assert connection.execute(text("SELECT status FROM broadcasts")).scalars().all() == [
            "fanned_out"]
