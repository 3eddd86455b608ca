"""The root click group, the per-invocation :class:`State`, and error translation.

Commands get their settings and App from :class:`State`. By default it reads
``newsletter.toml`` in the working folder and the ``NEWSLETTER_*`` environment
and runs on the system clock; a caller (a test, an embedding program) passes
its own ``State(settings=..., clock=..., app_factory=...)`` as click's ``obj``
instead, so nothing needs a changed working folder or environment.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click
from rich.table import Table

from newsletter.app import App, create_app
from newsletter.audience.ingest import run_signup_ingest
from newsletter.clock import Clock, SystemClock
from newsletter.config import Settings, load_settings
from newsletter.errors import NewsletterError

AppFactory = Callable[..., App]  # called as factory(settings, clock=..., migrate=...)


# Which modules of this package register each top-level command. A command's
# module is imported when the command runs, so ``newsletter send`` does not load
# the web console and ``newsletter db current`` loads neither (start-up was 1.8 s
# of CPU with every module imported up front). A test checks this map against
# what the modules register.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "bounces": ("bounces",),
    "db": ("database",),
    "dkim": ("deliverability",), "doctor": ("deliverability",),
    **dict.fromkeys(("editions", "resume", "send", "send-corrected", "status", "test-send",
                     "worker"), ("delivery",)),
    "form-snippet": ("web",), "serve": ("web",),
    "import-article": ("content",),
    "issues": ("rendering",), "preview": ("rendering",), "render-site": ("rendering",),
    "lists": ("subscribers",), "subscribers": ("subscribers",),
    "run": ("run",),
    "schedule": ("schedule",), "scheduler": ("schedule",),
    "staff": ("staff", "tokens"),
}


def load_command_modules(names: Iterable[str]) -> None:
    """Import the modules that register ``names`` (every command's for help and tests)."""
    for name in names:
        for module in COMMAND_MODULES.get(name, ()):
            importlib.import_module(f"newsletter.cli.{module}")


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NewsletterError as err:
            raise click.ClickException(str(err)) from err

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            load_command_modules([cmd_name])
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        load_command_modules(COMMAND_MODULES)
        return super().list_commands(ctx)


class State:
    """Per-invocation state: settings, clock and the App, built on first use."""

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
        app_factory: AppFactory = create_app,
    ) -> None:
        self._settings = settings
        self.clock: Clock = clock or SystemClock()
        self._app_factory = app_factory
        self._app: App | None = None

    @property
    def settings(self) -> Settings:
        """Settings given to the State, else read from the working folder and the environment."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def use_settings(self, settings: Settings) -> None:
        """Replace the settings (a command deriving some from its options) before the App exists."""
        if self._app is not None:
            raise RuntimeError("the App was already built on the old settings")
        self._settings = settings

    def app(self, *, migrate: bool = True) -> App:
        """The composed application (by default migrated to the newest schema)."""
        if self._app is None:
            self._app = self._app_factory(self.settings, clock=self.clock, migrate=migrate)
        return self._app

    def close(self) -> None:
        """Release what the App holds (the State may then build a fresh one)."""
        if self._app is not None:
            self._app.close()
            self._app = None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsletter")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Turn long articles into newsletter series and deliver them.

    Settings come from newsletter.toml in the working folder and NEWSLETTER_*
    environment variables.

    Example: newsletter import-article article.txt --series pain-care
    """
    state = ctx.ensure_object(State)
    ctx.call_on_close(state.close)


pass_state = click.make_pass_decorator(State)


def add_whole_column(table: Table, header: str, values: Sequence[str]) -> None:
    """Add a column whose cells never break mid-word: file names, addresses, slugs.

    Rich folds a cell wherever the column ends; a file name cut in two cannot be
    copied. This column keeps its widest value's width and other columns wrap.
    """
    table.add_column(header, no_wrap=True, min_width=max([len(header), *map(len, values)]))


def start_signup_ingest(app: App, stop: threading.Event) -> threading.Thread:
    """Start the signup processor in a daemon thread of this process; it ends when ``stop`` is set.

    ``worker``, ``run`` and (unless ``--no-ingest``) ``serve`` call this, so a
    form signup becomes a person and a queued confirmation within a moment
    wherever one of them runs.
    """
    thread = threading.Thread(target=run_signup_ingest, args=(app,), kwargs={"stop": stop},
                              name="signup-ingest", daemon=True)
    thread.start()
    return thread
