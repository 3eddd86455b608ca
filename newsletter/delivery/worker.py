"""The continuous sender: drain, wait a little when idle, repeat until told to stop.

Leases make it safe to run several (on PostgreSQL) or to kill one at any
moment: rows it had claimed are reclaimed when their lease expires.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

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
        while not stop.is_set():
            summary = drain(app, transport=transport)
            if summary.attempted and on_summary is not None:
                on_summary(summary)
            if not summary.attempted or summary.stopped:
                stop.wait(idle_seconds)
    finally:
        transport.close()
