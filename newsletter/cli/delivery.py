"""Delivery commands: send, worker, status, resume, editions, send-corrected."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from newsletter import wording
from newsletter.cli.base import State, main, pass_state
from newsletter.cli.deliverability import warn_if_unsigned
from newsletter.db.models import DeliveryStatus
from newsletter.delivery.editions import editions_of, send_corrected
from newsletter.delivery.outbox import due_count, fan_out_preview, send_issue_now
from newsletter.delivery.processes import (
    default_processes,
    prepare_fork,
    send_in_processes,
    work_in_processes,
)
from newsletter.delivery.sender import SendSummary, drain
from newsletter.delivery.status import lift_pauses, sending_status
from newsletter.delivery.worker import run_worker


def _parse_issue(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[str, int] | None:
    if value is None:
        return None
    slug, _, number = value.rpartition("/")
    if not slug or not number.isdigit():
        raise click.BadParameter(f"{value!r}: expected SERIES/N, e.g. pain-care/1")
    return slug, int(number)


def _print_summary(console: Console, summary: SendSummary) -> None:
    console.print(f"Done: {summary.describe()}.")
    for alert in summary.alerts:
        console.print(f"[bold red]Alert:[/] {alert}")
    if summary.stopped:
        console.print(f"[yellow]Stopped early:[/] {summary.stopped}")


@main.command()
@click.option("--issue", "issue", metavar="SERIES/N", callback=_parse_issue,
              help="First queue this issue for its list (a no-op if already queued).")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send nothing.")
@click.option("--limit", type=click.IntRange(min=1), help="Send at most this many messages.")
@click.option("--processes", type=click.IntRange(min=1), default=None,
              help="Sending processes (default: the number of cores).")
@pass_state
def send(state: State, issue: tuple[str, int] | None, dry_run: bool, limit: int | None,
         processes: int | None) -> None:
    """Send everything due now (and, with --issue, queue that issue first).

    Example: newsletter send --issue pain-care/1 --limit 100
    """
    app = state.app()
    console = Console()
    warn_if_unsigned(app.settings)
    if issue:
        slug, position = issue
        if dry_run:
            count = fan_out_preview(app, slug, position)
            console.print(f"Would queue {slug}/{position}: "
                          f"{wording.count(count, 'new recipient')} (dry run).")
        else:
            _issue_id, added = send_issue_now(app, slug, position)
            console.print(f"Queued {slug}/{position}: {wording.count(added, 'new recipient')}.")
    total = due_count(app)
    if dry_run:
        due = "is" if total == 1 else "are"
        console.print(f"{wording.count(total, 'message')} {due} due now; "
                      "nothing was sent (dry run).")
        return
    shown = min(total, limit) if limit else total
    count = processes or default_processes()
    if total < 2 * app.settings.delivery_batch_size:
        count = 1  # not worth starting processes for
    stop = threading.Event()

    def on_signal(_number: int, _frame: FrameType | None) -> None:
        stop.set()

    with Progress(TextColumn("Sending"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=False) as bar:
        task = bar.add_task("send", total=shown or None)
        if count == 1:
            summary = drain(app, limit=limit, progress=lambda n: bar.advance(task, n))
        else:
            signal.signal(signal.SIGTERM, on_signal)
            prepare_fork(app.engine)
            summary = send_in_processes(app.settings, count, limit=limit, stop=stop,
                                        progress=lambda n: bar.advance(task, n))
    _print_summary(console, summary)


@main.command()
@click.option("--idle", type=float, default=2.0, show_default=True,
              help="Seconds to wait when nothing is due.")
@click.option("--processes", type=click.IntRange(min=1), default=None,
              help="Sending processes (default: the number of cores).")
@pass_state
def worker(state: State, idle: float, processes: int | None) -> None:
    """Send due mail continuously until stopped (Ctrl-C or SIGTERM: after the current batch).

    Example: newsletter worker --idle 5 --processes 2
    """
    app = state.app()
    console = Console()
    count = processes or default_processes()
    stop = threading.Event()

    def on_signal(_number: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    warn_if_unsigned(app.settings)
    console.print(f"Worker sending through {app.settings.transport} with "
                  f"{wording.count(count, 'process', 'processes')}; Ctrl-C stops it.")
    if count == 1:
        run_worker(app, stop=stop, idle_seconds=idle,
                   on_summary=lambda summary: _print_summary(console, summary))
        return
    app.close()
    work_in_processes(app.settings, count, stop=stop, idle=idle)


@main.command()
@pass_state
def status(state: State) -> None:
    """Show each issue's deliveries by state, and any pause.

    Example: newsletter status
    """
    rows, pauses = sending_status(state.app())
    # Only the states some issue is in (and always "sent"), so the table fits a terminal.
    states = [s.value for s in DeliveryStatus
              if s == DeliveryStatus.SENT or any(row.counts.get(s) for row in rows)]
    table = Table("issue", "title", *states, "total", "state", box=box.SIMPLE_HEAD)
    for row in rows:
        state_text = ("paused: " + row.paused) if row.paused else (
            "finished" if row.finished else "sending")
        table.add_row(row.label, row.title, *(str(row.counts.get(s, 0)) for s in states),
                      str(row.audience), state_text)
    console = Console()
    console.print(table)
    for issue_id, reason in pauses:
        if issue_id is None:
            console.print(f"[bold red]All sending is paused:[/] {reason} "
                          "(fix it, then: newsletter resume)")


@main.command(name="resume")
@click.option("--issue", "issue", metavar="SERIES/N", callback=_parse_issue,
              help="Resume only this issue.")
@click.option("--all", "everything", is_flag=True, help="Lift every pause.")
@pass_state
def resume_command(state: State, issue: tuple[str, int] | None, everything: bool) -> None:
    """Lift a pause (the global one by default) so queued mail goes out again.

    Example: newsletter resume --issue pain-care/1
    """
    count = lift_pauses(state.app(), issue, everything=everything)
    click.echo(f"Lifted {wording.count(count, 'pause')}.")


def _issue_argument(value: str) -> tuple[str, int]:
    parsed = _parse_issue(click.get_current_context(), click.Argument(["issue"]), value)
    assert parsed is not None
    return parsed


@main.command()
@click.argument("issue", metavar="SERIES/N")
@pass_state
def editions(state: State, issue: str) -> None:
    """List the frozen editions of an issue and who got (or gets) each.

    Example: newsletter editions pain-care/1
    """
    slug, position = _issue_argument(issue)
    found = editions_of(state.app(), slug, position)
    console = Console()
    if not found:
        console.print(f"{slug}/{position} has no edition yet: it has not been sent.")
        return
    table = Table("edition", "frozen at", "why", "recipients", "by state", box=box.SIMPLE_HEAD)
    for item in found:
        states = ", ".join(f"{key} {value}" for key, value in sorted(item.counts.items()))
        table.add_row(str(item.number), f"{item.created_at:%Y-%m-%d %H:%M:%S}Z", item.reason,
                      str(sum(item.counts.values())), states or "-")
    console.print(table)


@main.command(name="send-corrected")
@click.argument("issue", metavar="SERIES/N")
@pass_state
def send_corrected_command(state: State, issue: str) -> None:
    """Send the issue as its files are now to everyone not sent it yet.

    Freezes a new edition from the edited files; recipients still waiting
    (queued or deferred) get it, everyone already sent keeps the edition they got.
    Example: newsletter send-corrected pain-care/1
    """
    slug, position = _issue_argument(issue)
    done = send_corrected(state.app(), slug, position)
    if not done.new and not done.switched:
        click.echo(f"{done.label}: the files are the same as edition {done.number}; "
                   "nothing to correct.")
        return
    click.echo(f"{done.label}: edition {done.number} goes to "
               f"{wording.count(done.switched, 'recipient')} not yet sent; the edition of "
               f"{wording.count(done.kept, 'other recipient')} stays as it was.")
