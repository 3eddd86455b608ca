"""REST API tokens: ``staff token create|list|revoke`` (for /api/v1; see docs/api.md).

Each command calls the same service as the console's tokens page
(newsletter.accounts.api_tokens) and is written to the audit log as
``command line (<user>)``. A new token is printed once and never again.
"""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from newsletter.accounts.api_tokens import create_token, list_tokens, revoke_token
from newsletter.accounts.roles import parse_role
from newsletter.cli.base import State, add_whole_column, pass_state
from newsletter.cli.staff import ROLES, cli_actor, staff_group


@staff_group.group("token")
def token_group() -> None:
    """Manage REST API tokens (/api/v1): create, list, revoke.

    Roles: viewer (reads), editor (also adds and unsubscribes people), owner
    (also erases people).

    Example: newsletter staff token create website --role editor
    """


@token_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the token may do.")
@pass_state
def token_create_command(state: State, name: str, role: str) -> None:
    """Make an API token and print it once (store it in your secret store now).

    Example: newsletter staff token create crm-sync --role viewer
    """
    made = create_token(state.app(), name, parse_role(role), actor=cli_actor())
    click.echo(f"created API token {made.info.name!r} (id {made.info.id}, role "
               f"{made.info.role}, prefix {made.info.prefix})")
    click.echo("token (shown once, keep it secret):")
    click.echo(made.token)


@token_group.command("list")
@pass_state
def token_list_command(state: State) -> None:
    """Show every API token: name, id, role, prefix, last use, revoked or not (never the secret).

    Example: newsletter staff token list
    """
    tokens = list_tokens(state.app())
    if not tokens:
        click.echo("no API tokens yet: newsletter staff token create NAME --role viewer")
        return
    table = Table(box=None)
    add_whole_column(table, "name", [t.name for t in tokens])
    table.add_column("id")
    table.add_column("role")
    table.add_column("prefix", no_wrap=True)
    table.add_column("last used")
    table.add_column("state")
    for token in tokens:
        used = f"{token.last_used_at:%Y-%m-%d %H:%M} UTC" if token.last_used_at else "never"
        state_text = ("active" if token.active
                      else f"revoked {token.revoked_at:%Y-%m-%d %H:%M} UTC")
        table.add_row(token.name, str(token.id), str(token.role), token.prefix, used, state_text)
    Console().print(table)


@token_group.command("revoke")
@click.argument("name_or_id", metavar="NAME|ID")
@pass_state
def token_revoke_command(state: State, name_or_id: str) -> None:
    """Revoke an API token at once: its next request gets 401.

    Example: newsletter staff token revoke crm-sync
    """
    revoked = revoke_token(state.app(), name_or_id, actor=cli_actor())
    click.echo(f"revoked API token {revoked.name!r} (id {revoked.id})")
