"""The processes a test started: stopping one (a polite signal, then SIGKILL), its children."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path


def children_of(parent: int) -> list[int]:
    """Pids of the processes whose parent is ``parent`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(stat.parent.name))
    return found


def stop_process(process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM,
                 timeout: float = 40) -> None:
    """Send ``sig``, wait up to ``timeout`` seconds, then kill; returns once it has exited."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
