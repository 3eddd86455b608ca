"""Several sender processes: ``send --processes N`` and ``worker --processes N``.

One Python process sends on one core (the GIL), so a host with more cores runs
more processes. Each child builds its own App from the parent's settings,
registers as a worker of its own (heartbeats, :mod:`newsletter.delivery.heartbeat`)
and claims its own batches; claims are disjoint on both databases (SQLite: one
writer at a time; PostgreSQL: ``FOR UPDATE SKIP LOCKED``).

``send``'s children are forked on Linux (they start in milliseconds; under load
a spawned child spent seconds importing before it sent anything); the caller
closes its database connections first (:func:`prepare_fork`): a child must
never touch a connection it inherited (SQLite's locks are per process).
``worker``'s children are spawned (long-lived; its parent runs a database
thread). Children die with their parent (``PR_SET_PDEATHSIG``, Linux): killing
``send`` or ``worker`` kills what it started, and a restart takes their claims
back at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized
from typing import TYPE_CHECKING, Any

from newsletter.config import Settings
from newsletter.delivery.sender import SendSummary

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

    from newsletter.app import App

# Builds a child's App from the parent's settings (the CLI passes one that does not
# migrate: the parent already did). A module-level function, so spawn can pickle it.
AppFactory = Callable[[Settings], "App"]

# `send` forks (its parent runs no database thread); `worker` spawns: its parent runs the
# signup processor thread, and a fork while that thread is inside SQLite could leave a
# C-level lock held forever in the child.
_FORK: Any = multiprocessing.get_context(
    "fork" if sys.platform.startswith("linux") else "spawn")
_SPAWN: Any = multiprocessing.get_context("spawn")
RESTART_DELAY = 2.0  # seconds before a worker child that died is started again


def prepare_fork(engine: Any) -> None:
    """Close the pooled connections of ``engine`` before children are started."""
    engine.dispose()


# Sending processes per core by default. A sender spends much of its time waiting (for
# the relay's replies, for the database's write lock), so one per core left cores idle:
# on 2 cores, 100,000 messages into smtp-sink went out at 2,908 msg/s with 2 processes
# and 3,546 msg/s with 4 (docs/benchmarks.md, "Issue 14 on a quiet machine").
PROCESSES_PER_CORE = 2


def cores() -> int:
    """The number of cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def default_processes() -> int:
    """How many sending processes ``send`` and ``worker`` start: two per core."""
    return PROCESSES_PER_CORE * cores()


def split(limit: int | None, parts: int) -> list[int | None]:
    """``limit`` shared out over ``parts`` children (None: no limit for any)."""
    if limit is None:
        return [None] * parts
    base, extra = divmod(limit, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def die_with_parent(parent: int) -> None:
    """In a child: be killed when process ``parent`` dies (Linux), or exit if it already has."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _child_signals(halt: Event) -> _StopFlag:
    flag = _StopFlag(halt)

    def stop(_number: int, _frame: object) -> None:
        flag.local.set()  # a thread event: safe in a handler (see work_in_processes)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C for the group
    return flag


def _send_child(make_app: AppFactory, settings: Settings, parent: int, limit: int | None,
                halt: Event, done: Synchronized[int], results: Queue[dict[str, Any]]) -> None:
    die_with_parent(parent)
    flag = _child_signals(halt)
    from newsletter.delivery.sender import drain

    app = make_app(settings)

    def progress(count: int) -> None:
        with done.get_lock():
            done.value += count

    try:
        summary = drain(app, limit=limit, progress=progress, halt=flag)
        results.put({"counts": dict(summary.counts), "alerts": summary.alerts,
                     "stopped": summary.stopped, "error": None})
    except Exception as err:  # reported by the parent, which names the process
        results.put({"counts": {}, "alerts": [], "stopped": None, "error": str(err)})
    finally:
        app.close()


def _worker_child(make_app: AppFactory, settings: Settings, parent: int, halt: Event,
                  idle: float, number: int) -> None:
    die_with_parent(parent)
    stop = _child_signals(halt)
    from newsletter.delivery.worker import run_worker

    app = make_app(settings)

    def report(summary: SendSummary) -> None:
        print(f"[{number}] Done: {summary.describe()}.", flush=True)
        for alert in summary.alerts:
            print(f"[{number}] Alert: {alert}", flush=True)
        if summary.stopped:
            print(f"[{number}] Stopped early: {summary.stopped}", flush=True)

    try:
        run_worker(app, stop=stop, idle_seconds=idle, on_summary=report)  # type: ignore[arg-type]
    finally:
        app.close()


class _StopFlag:
    """Stop when the parent says so (a process event) or on SIGTERM (a thread event).

    Offers the ``threading.Event`` methods run_worker and drain use.
    """

    def __init__(self, halt: Event) -> None:
        self.halt = halt
        self.local = threading.Event()

    def is_set(self) -> bool:
        return self.local.is_set() or self.halt.is_set()

    def set(self) -> None:
        self.local.set()

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if left <= 0:
                return False
            self.local.wait(left)
        return True


def send_in_processes(make_app: AppFactory, settings: Settings, processes: int, *,
                      limit: int | None = None,
                      progress: Callable[[int], None] | None = None,
                      stop: threading.Event | None = None) -> SendSummary:
    """Drain the outbox with ``processes`` child processes; their summaries added up.

    ``stop`` (set by a signal handler) tells the children to finish their batches.
    """
    halt = _FORK.Event()
    done: Synchronized[int] = _FORK.Value("q", 0)
    results: Queue[dict[str, Any]] = _FORK.Queue()
    children = [_FORK.Process(target=_send_child, name=f"send-{n}",
                               args=(make_app, settings, os.getpid(), share, halt, done,
                                     results))
                for n, share in enumerate(split(limit, processes))]
    for child in children:
        child.start()
    shown = 0
    reports: list[dict[str, Any]] = []
    while len(reports) < len(children):
        with contextlib.suppress(queue.Empty):  # nothing yet
            reports.append(results.get(timeout=0.2))
        shown = _advance(done, shown, progress)
        if stop is not None and stop.is_set() and not halt.is_set():
            halt.set()
        if any(child.exitcode not in (None, 0) for child in children):
            break  # a child died without reporting (killed): the others are told to stop
    if len(reports) < len(children):
        halt.set()
    for child in children:
        child.join()
    while len(reports) < len(children):
        try:
            reports.append(results.get(timeout=0.5))
        except queue.Empty:  # that child reported nothing
            break
    _advance(done, shown, progress)
    return _merge(reports, children)


def _advance(done: Synchronized[int], shown: int, progress: Callable[[int], None] | None) -> int:
    now = done.value
    if progress is not None and now > shown:
        progress(now - shown)
    return now


def _merge(reports: list[dict[str, Any]], children: list[BaseProcess]) -> SendSummary:
    summary = SendSummary(counts=Counter())
    for report in reports:
        summary.counts.update(report["counts"])
        summary.alerts.extend(report["alerts"])
        if summary.stopped is None and report["stopped"]:
            summary.stopped = report["stopped"]
        if report["error"] and summary.stopped is None:
            summary.stopped = f"a sending process failed: {report['error']}"
    lost = [child.name for child in children if child.exitcode not in (0, None)]
    if lost and summary.stopped is None:
        summary.stopped = (f"sending process {', '.join(lost)} ended abnormally; its claims "
                           "go back to the queue (run send again)")
    return summary


def work_in_processes(make_app: AppFactory, settings: Settings, processes: int, *,
                      stop: threading.Event, idle: float = 2.0) -> None:
    """Run ``processes`` worker children until ``stop`` is set; restart any that dies.

    ``stop`` is a thread event, safe to set from a signal handler; the children's
    process event is set here, outside the handler (setting a multiprocessing
    event from a handler can deadlock with a wait on it in the same thread).
    """
    halt = _SPAWN.Event()

    def start(number: int) -> BaseProcess:
        child: BaseProcess = _SPAWN.Process(target=_worker_child, name=f"worker-{number}",
                               args=(make_app, settings, os.getpid(), halt, idle, number))
        child.start()
        return child

    children = {number: start(number) for number in range(1, processes + 1)}
    while not stop.wait(0.5):
        for number, child in list(children.items()):
            if child.exitcode is not None and not stop.is_set():
                print(f"[{number}] worker process ended (exit code {child.exitcode}); "
                      f"starting it again in {RESTART_DELAY:g} s", flush=True)
                time.sleep(RESTART_DELAY)
                children[number] = start(number)
    halt.set()
    for child in children.values():
        child.join()
