"""The ``newsletter`` command: thin click commands that call the services.

Each command module registers its commands on :data:`main`; a
``NewsletterError`` becomes a one-line message and exit status 1, never a
stack trace. ``base`` holds the group, the per-invocation State (settings,
clock, App) and :data:`~newsletter.cli.base.COMMAND_MODULES`, which says which
module to import for a command: only the command that runs is loaded.
``run`` is ``newsletter run``, the whole service on one machine.
"""

from __future__ import annotations

from newsletter.cli.base import main

__all__ = ["main"]
