"""The real ``newsletter`` command run in-process, on a test's settings and clock.

The command group takes a :class:`~newsletter.cli.base.State` as click's
``obj``: no changed working folder, no patched environment, and the test's
``ManualClock``, so dates in commands can be near the test's "now".
"""

from __future__ import annotations

from collections.abc import Mapping

from click.testing import CliRunner, Result

from newsletter.cli import main
from newsletter.cli.base import State
from newsletter.clock import Clock
from newsletter.config import Settings


class Cli:
    """Invokes ``newsletter ARGS...`` with fixed settings and clock; a fresh App per command."""

    def __init__(
        self, settings: Settings, clock: Clock | None = None, *, columns: int | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock
        # rich lays its tables out for COLUMNS when the output is not a terminal (else 80):
        # the terminal's width, not a setting, so it is the one variable a test may give.
        self._runner = CliRunner(env={"COLUMNS": str(columns)} if columns else None)

    def invoke(self, *args: str, catch_exceptions: bool = True,
               terminal: Mapping[str, str] | None = None, input: str | None = None) -> Result:
        """Run one command; exceptions other than click's exits propagate unless caught.

        ``terminal`` describes the terminal (``{"COLUMNS": "80"}``) for the command's
        duration; settings never come from it. ``input`` is what standard input holds.
        """
        state = State(settings=self.settings, clock=self.clock)
        return self._runner.invoke(main, list(args), obj=state, env=terminal,
                                   catch_exceptions=catch_exceptions, input=input)

    def run(self, *args: str, terminal: Mapping[str, str] | None = None,
            input: str | None = None) -> Result:
        """Run one command and let any unexpected exception fail the test."""
        return self.invoke(*args, catch_exceptions=False, terminal=terminal, input=input)
