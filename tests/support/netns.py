"""Several "hosts" on one machine: Linux network namespaces joined by veth pairs to a bridge.

Usage (as root, on Linux)::

    with Hosts(3) as hosts:                      # pytest.skip(...) where it cannot be done
        hosts.gateway                            # "10.77.K.1": the machine, seen from a host
        with TcpForwarder(hosts.gateway, "127.0.0.1", 5432) as pg:
            hosts.popen(0, [sys.executable, "-m", "newsletter", "worker"], env=...)

Layout: a bridge in the machine's own namespace holds ``10.77.K.1/24`` (K is
picked at random among the /24s of 10.77.0.0/16 that no interface uses, so
parallel runs on a shared machine do not collide); host i is the namespace
``nltest-<pid>-<tag>-h<i>`` whose only interface besides its own loopback is
``eth0``, the far end of a veth pair attached to the bridge, at
``10.77.K.<10+i>``. A process started with :meth:`Hosts.popen` (``ip netns
exec``) sees its own 127.0.0.1, where nothing listens: it reaches the
machine's services only through the gateway address, where the test binds its
SMTP sink and a :class:`TcpForwarder` to PostgreSQL (which listens on
127.0.0.1 only, and whose configuration the test does not touch).

Everything is removed when the ``with`` block ends, also after a failure:
processes left in the namespaces are killed, the namespaces deleted (which
deletes their veth ends and so the pairs) and the bridge deleted. Leftovers of
a run that was killed itself (its pid no longer exists) are removed at the
next start.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

NAME = re.compile(r"^nltest-(\d+)-([0-9a-f]{4})-h\d+$")
PREFIX = "10.77"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done


def why_not() -> str | None:
    """Why network namespaces cannot be made here (None when they can)."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "creating network namespaces needs root (run the suite as root to include it)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    probe = f"nltest-{os.getpid()}-probe"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` is not allowed here: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_inside(namespace: str) -> None:
    pids = _ip("netns", "pids", namespace, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


def remove_stale() -> None:
    """Delete namespaces and bridges left by earlier runs whose process is gone."""
    listing = _ip("netns", "list", check=False).stdout.split("\n")
    for line in listing:
        name = line.split(" ")[0]
        match = NAME.match(name)
        if match and not _alive(int(match.group(1))):
            _kill_inside(name)
            _ip("netns", "del", name, check=False)
            _ip("link", "del", f"nlb{match.group(2)}", check=False)


def _used_subnets() -> set[str]:
    text = _ip("-4", "-o", "addr", "show", check=False).stdout
    text += _ip("-4", "route", "show", check=False).stdout
    return set(re.findall(rf"\b{re.escape(PREFIX)}\.(\d+)\.", text))


class Hosts:
    """``count`` network namespaces on a private /24, each a "host" with one veth address."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.tag = uuid.uuid4().hex[:4]
        self.bridge = f"nlb{self.tag}"
        self.names = [f"nltest-{os.getpid()}-{self.tag}-h{i}" for i in range(count)]
        self.subnet = -1
        self._processes: list[subprocess.Popen[Any]] = []
        self._made_bridge = False
        self._made: list[str] = []

    @property
    def gateway(self) -> str:
        """The machine's address as the hosts see it (the bridge)."""
        return f"{PREFIX}.{self.subnet}.1"

    def address(self, index: int) -> str:
        """Host ``index``'s address."""
        return f"{PREFIX}.{self.subnet}.{10 + index}"

    def __enter__(self) -> Hosts:
        reason = why_not()
        if reason is not None:
            pytest.skip(reason)
        remove_stale()
        atexit.register(self.close)  # a last resort if the test process is interrupted
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def _build(self) -> None:
        free = sorted(set(range(256)) - {int(n) for n in _used_subnets()})
        if not free:
            raise RuntimeError(f"no free /24 left in {PREFIX}.0.0/16")
        self.subnet = random.choice(free)
        _ip("link", "add", self.bridge, "type", "bridge")
        self._made_bridge = True
        _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for index, name in enumerate(self.names):
            outside, inside = f"nlv{self.tag}{index}", f"nlp{self.tag}{index}"
            _ip("netns", "add", name)
            self._made.append(name)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", name)
            _ip("link", "set", outside, "master", self.bridge, "up")
            _ip("-n", name, "link", "set", inside, "name", "eth0")
            _ip("-n", name, "addr", "add", f"{self.address(index)}/24", "dev", "eth0")
            _ip("-n", name, "link", "set", "eth0", "up")
            _ip("-n", name, "link", "set", "lo", "up")

    def popen(self, index: int, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside host ``index`` (``ip netns exec`` execs it: same pid)."""
        process = subprocess.Popen(["ip", "netns", "exec", self.names[index], *argv], **kwargs)
        self._processes.append(process)
        return process

    def run(self, index: int, argv: Sequence[str], *, timeout: float = 120,
            **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside host ``index`` to the end; its output as text."""
        return subprocess.run(["ip", "netns", "exec", self.names[index], *argv],
                              capture_output=True, text=True, timeout=timeout, check=False,
                              **kwargs)

    def can_connect(self, index: int, host: str, port: int) -> bool:
        """Whether a TCP connection from host ``index`` to host:port succeeds."""
        code = (f"import socket; socket.create_connection(({host!r}, {port}), timeout=3)"
                ".close()")
        return self.run(index, [sys.executable, "-c", code], timeout=30).returncode == 0

    def close(self) -> None:
        """Kill what runs inside, delete the namespaces and the bridge (idempotent)."""
        for process in self._processes:
            if process.poll() is None:
                process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
        for name in self._made:
            _kill_inside(name)
            _ip("netns", "del", name, check=False)
        self._made = []
        if self._made_bridge:
            _ip("link", "del", self.bridge, check=False)
            self._made_bridge = False
        atexit.unregister(self.close)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class TcpForwarder:
    """Accepts TCP on ``listen_host`` (a free port) and pipes each connection to target:port.

    Runs an asyncio loop in a thread of the test process; counts the
    connections it carried, so a test can show the hosts really came through it.
    """

    def __init__(self, listen_host: str, target_host: str, target_port: int) -> None:
        self.listen_host = listen_host
        self.target = (target_host, target_port)
        self.port = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _start(self) -> None:
        def track(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.ensure_future(self._handle(reader, writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._server = await asyncio.start_server(track, self.listen_host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def __enter__(self) -> TcpForwarder:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def project_copy(source: Path, target: Path) -> Path:
    """A host's own copy of a project folder (as a deployment has its own checkout)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("var"))
    return target
