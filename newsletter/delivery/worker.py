"""The continuous sender: drain, wait a little when idle, repeat until told to stop.

A worker registers once for its life and heartbeats
(:mod:`newsletter.delivery.heartbeat`). Claims make it safe to run several,
and to kill one at any moment: rows it had claimed go back to the queue when
it is found dead (seconds), or at the latest when their lease expires.
Told to stop (SIGTERM), it finishes the batches in hand and exits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from newsletter.delivery.heartbeat import Registration
from newsletter.delivery.sender import SendSummary, drain
from newsletter.delivery.transport import Transport

if TYPE_CHECKING:
    from newsletter.app import App


def run_worker(app: App, *, stop: threading.Event, idle_seconds: float = 2.0,
               on_summary: Callable[[SendSummary], None] | None = None,
               transport: Transport | None = None) -> None:
    """Send due mail until ``stop`` is set; one transport (and its pool) for the whole run.

    ``transport`` defaults to the App's; it is closed when the worker stops.
    """
    transport = transport if transport is not None else app.transport()
    try:
        with Registration(app) as registration:
            while not stop.is_set():
                summary = drain(app, transport=transport, worker=registration, halt=stop)
                if summary.attempted and on_summary is not None:
                    on_summary(summary)
                if not summary.attempted or summary.stopped:
                    stop.wait(idle_seconds)
    finally:
        transport.close()
