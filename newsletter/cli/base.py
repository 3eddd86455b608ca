"""The root click group, the lazily built App, and error translation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click
from rich.table import Table

from newsletter.app import App, create_app
from newsletter.config import Settings, load_settings
from newsletter.errors import NewsletterError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NewsletterError as err:
            raise click.ClickException(str(err)) from err


class State:
    """Per-invocation state: settings and the App, built on first use."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._app: App | None = None

    @property
    def settings(self) -> Settings:
        """Settings read from the working folder and the environment."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    def app(self) -> App:
        """The composed application, migrated to the newest schema."""
        if self._app is None:
            self._app = create_app(self.settings)
        return self._app

    def close(self) -> None:
        """Release what the App holds."""
        if self._app is not None:
            self._app.close()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsletter")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Turn long articles into newsletter series and deliver them.

    Settings come from newsletter.toml in the working folder and NEWSLETTER_*
    environment variables.

    Example: newsletter import-article article.txt --series pain-care
    """
    state = State()
    ctx.obj = state
    ctx.call_on_close(state.close)


pass_state = click.make_pass_decorator(State)


def add_whole_column(table: Table, header: str, values: Sequence[str]) -> None:
    """Add a column whose cells never break mid-word: file names, addresses, slugs.

    Rich folds a cell wherever the column ends; a file name cut in two cannot be
    copied. This column keeps its widest value's width and other columns wrap.
    """
    table.add_column(header, no_wrap=True, min_width=max([len(header), *map(len, values)]))
