"""The continuous sender: drain, wait a little when idle, repeat until told to stop.

Leases make it safe to run several (on PostgreSQL) or to kill one at any
moment: rows it had claimed are reclaimed when their lease expires.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from newsletter.app import App
from newsletter.delivery.sender import SendSummary, drain
from newsletter.delivery.transport import transport_from_settings


def run_worker(app: App, *, stop: threading.Event, idle_seconds: float = 2.0,
               on_summary: Callable[[SendSummary], None] | None = None) -> None:
    """Send due mail until ``stop`` is set; one transport (and its pool) for the whole run."""
    transport = transport_from_settings(app.settings)
    try:
        while not stop.is_set():
            summary = drain(app, transport=transport)
            if summary.attempted and on_summary is not None:
                on_summary(summary)
            if not summary.attempted or summary.stopped:
                stop.wait(idle_seconds)
    finally:
        transport.close()
