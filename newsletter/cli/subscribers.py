"""Staff commands: ``subscribers add|list|show|import|export|erase`` and ``lists sync``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from newsletter import wording
from newsletter.audience.csv_files import export_csv, import_csv
from newsletter.audience.staff import (
    add_subscriber,
    erase_subscriber,
    list_subscribers,
    person_export,
)
from newsletter.cli.base import State, add_whole_column, main, pass_state
from newsletter.db.models import SubscriptionStatus

STATUSES = [status.value for status in SubscriptionStatus]


@main.group("subscribers")
def subscribers_group() -> None:
    """Manage subscribers: add, list, show, import, export, erase.

    Example: newsletter subscribers list --list clinic-news --status active
    """


@subscribers_group.command("add")
@click.argument("email")
@click.option("--list", "list_slug", required=True, help="Slug of the list in lists.toml.")
@click.option("--name", default=None, help="The person's name (optional).")
@click.option("--time-zone", default=None, help="IANA zone, e.g. Europe/Berlin (optional).")
@click.option("--confirmed", is_flag=True,
              help="Skip the confirmation email: the person already gave consent to you.")
@pass_state
def add_command(state: State, email: str, list_slug: str, name: str | None,
                time_zone: str | None, confirmed: bool) -> None:
    """Add one person to a list (by default they get a confirmation email first).

    Example: newsletter subscribers add ana@example.com --list clinic-news --name Ana
    """
    result = add_subscriber(state.app(), email, list_slug, name=name, time_zone=time_zone,
                            confirmed=confirmed)
    click.echo(f"{email}: {result}")


@subscribers_group.command("list")
@click.option("--list", "list_slug", default=None, help="Only this list.")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only this status.")
@pass_state
def list_command(state: State, list_slug: str | None, status: str | None) -> None:
    """Show subscriptions, newest first.

    Example: newsletter subscribers list --status pending
    """
    rows = list_subscribers(state.app(), list_slug=list_slug, status=status)
    table = Table(title=wording.count(len(rows), "subscription"))
    add_whole_column(table, "email", [row.email for row in rows])
    for column in ("name", "list", "status", "since", "confirmed"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.email, row.name or "", row.list_slug, row.status,
                      f"{row.created_at:%Y-%m-%d %H:%M}",
                      f"{row.confirmed_at:%Y-%m-%d %H:%M}" if row.confirmed_at else "")
    # Piped output keeps whole addresses on one line (greppable); a terminal gets its width.
    Console(width=None if sys.stdout.isatty() else 200).print(table)


@subscribers_group.command("show")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True,
              help="Print everything held about the person as JSON (GDPR access request).")
@pass_state
def show_command(state: State, email: str, as_json: bool) -> None:
    """Show one person: lists, consent records and messages.

    Example: newsletter subscribers show ana@example.com --json > ana.json
    """
    data = person_export(state.app(), email)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    console = Console(soft_wrap=True)
    console.print(f"[bold]{data['email']}[/] {data.get('name') or ''}", markup=True)
    if "held" in data:
        console.print(data["held"])
        return
    for sub in data["subscriptions"]:
        console.print(f"  {sub['list']}: {sub['status']} (since {sub['created_at']})",
                      markup=False)
    for record in data["consent_records"]:
        console.print(f"  consent {record['event']} at {record['at']} "
                      f"from {record['ip'] or '-'} ({record['form'] or '-'})", markup=False)
    console.print(f"  {wording.count(len(data['messages']), 'message')}", markup=False)


@subscribers_group.command("import")
@click.argument("csv_file", type=click.Path(path_type=Path))
@click.option("--list", "list_slug", required=True, help="Slug of the list to import into.")
@click.option("--dry-run", is_flag=True,
              help="Only report what the import would do; write nothing.")
@click.option("--basis", default=None,
              help="Where and how these people agreed (kept in their consent records).")
@pass_state
def import_command(state: State, csv_file: Path, list_slug: str, dry_run: bool,
                   basis: str | None) -> None:
    """Import people from a CSV file (columns: email, optional name and time_zone).

    Imported people become active with an "import" consent record naming the
    file and line (and the --basis, when given). Bad rows are reported with
    their line numbers and skipped; nobody who unsubscribed or was erased is
    resubscribed. Importing the same file again adds nobody twice.

    Example: newsletter subscribers import subscribers/clinic.csv --list clinic-news --dry-run
    """
    app = state.app()
    with Progress(transient=True) as progress:
        task = progress.add_task("checking" if dry_run else "importing", total=None)
        report = import_csv(
            app, csv_file, list_slug, dry_run=dry_run, basis=basis,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    for line, message in report.bad:
        click.echo(f"{csv_file}:{line}: {message}", err=True)
    if report.refused > len(report.bad):
        click.echo(f"(and {report.refused - len(report.bad)} more bad rows)", err=True)
    would = "would be added" if dry_run else "added"
    click.echo(
        f"{'dry run: ' if dry_run else ''}{wording.count(report.rows, 'row')}: {report.added} "
        f"{would}, {report.existing} already "
        f"subscribed, {wording.count(report.duplicates, 'duplicate')}, "
        f"{report.unsubscribed} unsubscribed (kept out), "
        f"{report.suppressed} suppressed (kept out), {report.blocked} bounced/complained "
        f"(kept out), {report.refused} bad"
    )


@subscribers_group.command("export")
@click.option("--list", "list_slug", default=None, help="Only this list.")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only this status.")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write to this file instead of standard output.")
@pass_state
def export_command(state: State, list_slug: str | None, status: str | None,
                   output: Path | None) -> None:
    """Export subscriptions as CSV, safe to open in a spreadsheet (no formula injection).

    Example: newsletter subscribers export --list clinic-news -o subscribers/export.csv
    """
    app = state.app()
    if output is None:
        count = export_csv(app, sys.stdout, list_slug=list_slug, status=status)
    else:
        with output.open("w", encoding="utf-8", newline="") as handle:
            count = export_csv(app, handle, list_slug=list_slug, status=status)
    click.echo(f"{wording.count(count, 'row')} exported", err=True)


@subscribers_group.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def erase_command(state: State, email: str, yes: bool) -> None:
    """Erase a person (GDPR Article 17): only a hash remains, so they are never mailed again.

    Example: newsletter subscribers erase ana@example.com --yes
    """
    if not yes:
        click.confirm(f"Erase everything about {email}? This cannot be undone", abort=True)
    found = erase_subscriber(state.app(), email)
    click.echo(f"{email}: erased" if found else
               f"{email}: no such subscriber; the address is suppressed from now on")


@main.group("lists")
def lists_group() -> None:
    """Mailing lists declared in subscribers/lists.toml.

    Example: newsletter lists sync
    """


@lists_group.command("sync")
@pass_state
def lists_sync_command(state: State) -> None:
    """Create or update the lists in the database from subscribers/lists.toml.

    Example: newsletter lists sync
    """
    known = state.app().catalog.lists()
    for slug, entry in sorted(known.items()):
        opt_in = "double opt-in" if entry.config.double_opt_in else "single opt-in"
        click.echo(f"{slug}: {entry.config.name} ({opt_in})")
    if not known:
        click.echo("no lists declared in subscribers/lists.toml")
