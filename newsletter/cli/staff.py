"""Console accounts: ``staff add|list|remove|reset-password`` (people who log in at /admin).

Not to be confused with ``subscribers``: these are the clinic's staff, not the
audience. Each command calls the same service as the console's staff page
(newsletter.accounts.staff) and is written to the audit log as
``command line (<user>)``.
"""

from __future__ import annotations

import getpass
import sys

import click
from rich.console import Console
from rich.table import Table

from newsletter.accounts.audit import Actor
from newsletter.accounts.passwords import MIN_LENGTH, generate_password
from newsletter.accounts.roles import Role, parse_role
from newsletter.accounts.staff import add_staff, list_staff, remove_staff, reset_password
from newsletter.cli.base import State, add_whole_column, main, pass_state

ROLES = [role.value for role in Role]


def cli_actor() -> Actor:
    """Who acts from the command line: the operating-system user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(f"command line ({user})")


def read_password(from_stdin: bool, generate: bool) -> tuple[str, bool]:
    """The new password (from stdin, generated, or typed twice) and whether it was generated."""
    if generate:
        return generate_password(), True
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise click.ClickException("no password on standard input")
        return line, False
    typed = click.prompt(f"Password (at least {MIN_LENGTH} characters)", hide_input=True,
                         confirmation_prompt=True)
    return str(typed), False


@main.group("staff")
def staff_group() -> None:
    """Manage who can log in to the staff console (/admin): add, list, remove, reset-password.

    Roles: viewer (reads), editor (edits, schedules, sends tests), owner (also
    manages staff and sends to a whole list at once).

    Example: newsletter staff add lena@clinic.example.com --role editor
    """


@staff_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What they may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
@pass_state
def staff_add_command(state: State, email: str, role: str, password_stdin: bool,
                      generate: bool) -> None:
    """Give someone a console login (asks for the password unless told otherwise).

    Example: newsletter staff add lena@clinic.example.com --role editor --password-stdin
    """
    password, generated = read_password(password_stdin, generate)
    added = add_staff(state.app(), email, parse_role(role), password, actor=cli_actor())
    click.echo(f"added {added.email} as {added.role}")
    if generated:
        click.echo(f"password (shown once): {password}")


@staff_group.command("list")
@pass_state
def staff_list_command(state: State) -> None:
    """Show every console account with its role and last login.

    Example: newsletter staff list
    """
    accounts = list_staff(state.app())
    if not accounts:
        click.echo("no staff accounts yet: newsletter staff add EMAIL --role owner")
        return
    table = Table(box=None)
    add_whole_column(table, "email", [a.email for a in accounts])
    table.add_column("role")
    table.add_column("last login")
    for account in accounts:
        last = f"{account.last_login_at:%Y-%m-%d %H:%M} UTC" if account.last_login_at else "never"
        table.add_row(account.email, str(account.role), last)
    Console().print(table)


@staff_group.command("remove")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def staff_remove_command(state: State, email: str, yes: bool) -> None:
    """Take someone's console login away and end their sessions (the last owner stays).

    Example: newsletter staff remove lena@clinic.example.com --yes
    """
    if not yes:
        click.confirm(f"Remove the console account of {email}?", abort=True)
    remove_staff(state.app(), email, actor=cli_actor())
    click.echo(f"removed {email.strip().lower()}")


@staff_group.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--generate", is_flag=True, help="Generate a password and print it once.")
@pass_state
def staff_reset_password_command(state: State, email: str, password_stdin: bool,
                                 generate: bool) -> None:
    """Set a new console password for someone and log them out everywhere.

    Example: newsletter staff reset-password lena@clinic.example.com --generate
    """
    password, generated = read_password(password_stdin, generate)
    changed = reset_password(state.app(), email, password, actor=cli_actor())
    click.echo(f"new password set for {changed.email}; their sessions have ended")
    if generated:
        click.echo(f"password (shown once): {password}")
