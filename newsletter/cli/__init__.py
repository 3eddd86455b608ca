"""The ``newsletter`` command: thin click commands that call the services.

Each command module registers its commands on :data:`main`; a
``NewsletterError`` becomes a one-line message and exit status 1, never a
stack trace. ``base`` holds the group and the per-invocation State (settings,
clock, App); ``run`` is ``newsletter run``, the whole service on one machine.
"""

from __future__ import annotations

from newsletter.cli import bounces as _bounces  # noqa: F401  (registers commands)
from newsletter.cli import content as _content  # noqa: F401
from newsletter.cli import database as _database  # noqa: F401
from newsletter.cli import deliverability as _deliverability  # noqa: F401
from newsletter.cli import delivery as _delivery  # noqa: F401
from newsletter.cli import rendering as _rendering  # noqa: F401
from newsletter.cli import run as _run  # noqa: F401
from newsletter.cli import schedule as _schedule  # noqa: F401
from newsletter.cli import staff as _staff  # noqa: F401
from newsletter.cli import subscribers as _subscribers  # noqa: F401
from newsletter.cli import tokens as _tokens  # noqa: F401
from newsletter.cli import web as _web  # noqa: F401
from newsletter.cli.base import main

__all__ = ["main"]
