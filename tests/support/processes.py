"""Stopping a server process a test started: a polite signal, then SIGKILL if it lingers."""

from __future__ import annotations

import signal
import subprocess


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
