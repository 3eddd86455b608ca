"""``newsletter db ...``: schema migrations."""

from __future__ import annotations

import click

from newsletter.cli.base import State, main, pass_state
from newsletter.db.migrate import current_revision, upgrade


@main.group()
def db() -> None:
    """Manage the database schema.

    Example: newsletter db upgrade
    """


@db.command("upgrade")
@pass_state
def db_upgrade(state: State) -> None:
    """Apply every pending migration (commands that need the schema do this themselves).

    Example: newsletter db upgrade
    """
    before, after = upgrade(state.app(migrate=False).engine)
    if before == after:
        click.echo(f"database already at revision {after}")
    else:
        click.echo(f"database upgraded from {before or 'empty'} to {after}")


@db.command("current")
@pass_state
def db_current(state: State) -> None:
    """Print the schema revision the database is at.

    Example: newsletter db current
    """
    click.echo(current_revision(state.app(migrate=False).engine) or "empty")
