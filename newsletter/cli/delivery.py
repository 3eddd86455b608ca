"""Delivery commands: ``send``, ``test-send``, ``worker``, ``status``, ``resume``,
``editions``, ``send-corrected``."""

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
from newsletter.app import App, create_app
from newsletter.cli.base import State, main, pass_state, start_signup_ingest
from newsletter.cli.deliverability import warn_if_unsigned
from newsletter.config import Settings
from newsletter.db.models import DeliveryStatus
from newsletter.delivery.editions import editions_of, send_corrected
from newsletter.delivery.heartbeat import reap_now
from newsletter.delivery.outbox import due_count
from newsletter.delivery.processes import (
    default_processes,
    prepare_fork,
    send_in_processes,
    work_in_processes,
)
from newsletter.delivery.records import Recipient, recipient_record
from newsletter.delivery.sender import SendSummary, drain
from newsletter.delivery.status import lift_pauses, sending_status
from newsletter.delivery.testsend import send_test
from newsletter.delivery.worker import run_worker
from newsletter.feedback.summary import FeedbackStatus, feedback_status
from newsletter.hooks.dispatch import start_hook_dispatcher
from newsletter.schedule.send_now import audience_count, send_now

# Below this many due messages `send` uses one process: starting more is not worth it.
SMALL_SEND = 200


def _parse_issue(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[str, int] | None:
    if value is None:
        return None
    slug, _, number = value.rpartition("/")
    if not slug or not number.isdigit():
        raise click.BadParameter(f"{value!r}: expected SERIES/N, e.g. pain-care/1")
    return slug, int(number)


def child_app(settings: Settings) -> App:
    """The App of a sending process (the parent has migrated the database already)."""
    return create_app(settings, migrate=False)


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
              help="Sending processes (default: two per core).")
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
            count = audience_count(app, slug, position)
            console.print(f"Would queue {slug}/{position}: "
                          f"{wording.count(count, 'new recipient')} (dry run).")
        else:
            sent = send_now(app, slug, position)
            added = wording.count(sent.added, "new recipient")
            console.print(f"Queued {slug}/{position}: {added}.")
    if not dry_run:
        reap_now(app)  # the claims of a killed `send` on this host count as due at once
    total = due_count(app)
    if dry_run:
        due = "is" if total == 1 else "are"
        console.print(f"{wording.count(total, 'message')} {due} due now; "
                      "nothing was sent (dry run).")
        return
    shown = min(total, limit) if limit else total
    count = processes or default_processes()
    if total < SMALL_SEND:
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
            summary = send_in_processes(child_app, app.settings, count, limit=limit, stop=stop,
                                        progress=lambda n: bar.advance(task, n))
    _print_summary(console, summary)


@main.command("test-send")
@click.argument("series")
@click.argument("position", metavar="N", type=click.IntRange(min=1))
@click.option("--to", "to", multiple=True, required=True, metavar="ADDRESS",
              help="Where the test goes (repeat for several addresses).")
@pass_state
def test_send(state: State, series: str, position: int, to: tuple[str, ...]) -> None:
    """Send issue N of SERIES, marked [TEST], to staff addresses (nobody on the list).

    The issue is personalised for the sample subscriber and goes through the
    configured transport at once; the list's deliveries are not touched.

    Example: newsletter test-send pain-care 1 --to editor@clinic.example
    """
    app = state.app()
    result = send_test(app, series, position, list(to))
    for item in result.results:
        click.echo(f"{'sent' if item.sent else 'NOT sent'} to {item.to}: {result.subject} "
                   f"{item.message_id}" + ("" if item.sent else f" ({item.detail})"))
    if result.failed:
        raise click.ClickException(
            f"{wording.count(len(result.failed), 'test')} not accepted by the relay")


@main.command()
@click.option("--idle", type=float, default=2.0, show_default=True,
              help="Seconds to wait when nothing is due.")
@click.option("--processes", type=click.IntRange(min=1), default=None,
              help="Sending processes (default: two per core).")
@pass_state
def worker(state: State, idle: float, processes: int | None) -> None:
    """Send due mail and process form signups continuously until stopped (Ctrl-C or SIGTERM).

    Sending runs in two processes per core (--processes); SIGTERM stops them after
    their current batch. Signups are looked for every tenth of a second in a
    thread of their own, so a confirmation email is queued within a moment even
    during a long send. Outbound webhooks are posted by another thread.

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
    signups = start_signup_ingest(app, stop)
    hooks = start_hook_dispatcher(app, stop)  # outbound webhooks, in a thread of their own
    try:
        if count == 1:
            run_worker(app, stop=stop, idle_seconds=idle,
                       on_summary=lambda summary: _print_summary(console, summary))
        else:
            prepare_fork(app.engine)  # the children open their own connections
            work_in_processes(child_app, app.settings, count, stop=stop, idle=idle)
    finally:
        stop.set()
        signups.join(timeout=30)
        hooks.join(timeout=30)


@main.command()
@click.option("--recipient", metavar="EMAIL", default=None,
              help="Show instead what was sent to one address (state, times, Message-ID).")
@pass_state
def status(state: State, recipient: str | None) -> None:
    """Show each issue's deliveries by state, any pause, bounces, complaints and suppressions.

    Example: newsletter status --recipient maria@example.org
    """
    if recipient is not None:
        _print_recipient(recipient_record(state.app(), recipient))
        return
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
    _print_feedback(console, feedback_status(state.app()))


def _print_recipient(found: Recipient) -> None:
    """One address's deliveries, newest first (the console's recipient search)."""
    if not found.found:
        click.echo(f"nobody with the address {found.email} is on any list")
        return
    table = Table("what", "state", "tries", "queued", "sent", "Message-ID", "last error",
                  title=f"Sent to {found.email}", box=box.SIMPLE_HEAD)
    for r in found.records:
        table.add_row(r.what, r.status, str(r.attempts), f"{r.queued_at:%Y-%m-%d %H:%M}",
                      f"{r.sent_at:%Y-%m-%d %H:%M}" if r.sent_at else "-", r.message_id or "-",
                      r.last_error or "")
    Console(width=200).print(table)


def _print_feedback(console: Console, found: FeedbackStatus) -> None:
    """Bounces and complaints per issue, the suppression list with reasons, held events."""
    if found.issues:
        kinds = sorted({kind for row in found.issues for kind in row.counts})
        table = Table("issue", "title", *kinds, title="Bounces and complaints",
                      box=box.SIMPLE_HEAD)
        for row in found.issues:
            table.add_row(row.label, row.title, *(str(row.counts.get(k, 0)) for k in kinds))
        console.print(table)
    if found.suppressed_total:
        table = Table("address", "reason", "since", "evidence",
                      title=f"Suppressed addresses ({found.suppressed_total}, newest first)",
                      box=box.SIMPLE_HEAD)
        for entry in found.suppressed:
            table.add_row(entry.address or "(erased or unknown)", entry.reason,
                          entry.since.strftime("%Y-%m-%d %H:%M"), entry.detail or "")
        console.print(table)
    if found.held:
        table = Table("received", "source", "kind", "address", "why kept", "stored as",
                      title="Kept for staff (not understood or matching no delivery)",
                      box=box.SIMPLE_HEAD)
        for event in found.held:
            table.add_row(event.received_at.strftime("%Y-%m-%d %H:%M"), event.source,
                          event.kind, event.address or "", event.reason, event.raw_ref or "")
        console.print(table)


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
