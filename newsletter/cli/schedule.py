"""``newsletter schedule ...`` (broadcast dates, preview) and ``newsletter scheduler``."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import timedelta
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from newsletter import wording
from newsletter.cli.base import State, main, pass_state
from newsletter.schedule import agenda, broadcasts_admin, enrol, series_schedule
from newsletter.schedule.process import SchedulerRunner, run_scheduler


class ScheduleGroup(click.Group):
    """A group whose first argument may be a series: ``schedule SERIES N`` = ``schedule add``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Route ``schedule SERIES N --at ...`` to the ``add`` subcommand."""
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["add", *args]
        return super().parse_args(ctx, args)


def _echo_view(verb: str, view: broadcasts_admin.BroadcastView) -> None:
    now = f"{view.local_time} {view.time_zone}"
    when = f"{now} = {view.due_at:%Y-%m-%d %H:%M} UTC [{view.status}]"
    what = f"{view.series} #{view.position} ({view.title})"
    if view.previous is None:
        click.echo(f"{verb} {what}: {when}")
    elif view.previous == now:
        click.echo(f"{what} is already scheduled for {when}; nothing changed")
    else:
        click.echo(f"moved {what} from {view.previous} to {when}")
    if view.note:
        click.echo(f"note: {view.note}")
    for warning in view.warnings:
        click.echo(f"warning: {warning}: people on the list would get two emails that day")


@main.group(
    "schedule", cls=ScheduleGroup, subcommand_metavar="SERIES N --at TIME | COMMAND [ARGS]..."
)
def schedule_group() -> None:
    """Pick when issues go out, and preview what a new subscriber would receive.

    `newsletter schedule SERIES N --at ...` is short for `newsletter schedule add ...`.

    Example: newsletter schedule pain-care 2 --at "2026-12-01 09:00" --tz Europe/Berlin
    """


@schedule_group.command("add")
@click.argument("series")
@click.argument("position", type=int)
@click.option("--at", "at", required=True, help='Local wall-clock time, e.g. "2026-12-01 09:00".')
@click.option("--tz", "tz", default=None, help="IANA zone (default: the series' time_zone).")
@pass_state
def schedule_add(state: State, series: str, position: int, at: str, tz: str | None) -> None:
    """Schedule issue N of SERIES to go to its whole list at a local time.

    Example: newsletter schedule add pain-care 1 --at "2026-12-01 09:00" --tz America/New_York
    """
    _echo_view("scheduled", broadcasts_admin.schedule_issue(state.app(), series, position, at, tz))


@schedule_group.command("move")
@click.argument("series")
@click.argument("position", type=int)
@click.option("--at", "at", required=True, help='New local time, e.g. "2026-12-02 09:00".')
@click.option("--tz", "tz", default=None, help="IANA zone (default: the series' time_zone).")
@pass_state
def schedule_move(state: State, series: str, position: int, at: str, tz: str | None) -> None:
    """Move a scheduled (or held) broadcast to a new time.

    Example: newsletter schedule move pain-care 1 --at "2026-12-02 09:00"
    """
    view = broadcasts_admin.schedule_issue(state.app(), series, position, at, tz, must_exist=True)
    _echo_view("moved", view)


@schedule_group.command("cancel")
@click.argument("series")
@click.argument("position", type=int)
@pass_state
def schedule_cancel(state: State, series: str, position: int) -> None:
    """Cancel the broadcast of issue N of SERIES (nothing is sent).

    Example: newsletter schedule cancel pain-care 3
    """
    _echo_view("cancelled", broadcasts_admin.cancel_issue(state.app(), series, position))


@schedule_group.command("enrol")
@click.argument("series")
@click.option("--current-subscribers", "everyone", flag_value=True, default=None,
              help="Enrol everyone already on the list (each gets part 1 at their next slot).")
@click.option("--new-only", "everyone", flag_value=False,
              help="Enrol only people who confirm from now on (the default after a switch).")
@pass_state
def schedule_enrol(state: State, series: str, everyone: bool | None) -> None:
    """Choose whom a drip series takes in: its list's current subscribers too, or new ones only.

    A broadcast series that becomes a drip enrols only people who confirm from
    then on; enrolling the people already on the list is this explicit choice.

    Example: newsletter schedule enrol pain-care --current-subscribers
    """
    if everyone is None:
        raise click.UsageError("choose --current-subscribers or --new-only")
    chosen = (enrol.enrol_current if everyone else enrol.new_only)(state.app(), series)
    people = wording.count(chosen.current, "current subscriber")
    if chosen.everyone:
        click.echo(f"{chosen.series}: the {people} of {chosen.list_slug} not in it yet start "
                   "the drip at their next slot (part 1, or where late_joiners says)")
    else:
        click.echo(f"{chosen.series}: only people who confirm from now on start the drip; "
                   f"the {people} of {chosen.list_slug} who are not in it yet stay out")
    for warning in chosen.warnings:
        click.echo(f"warning: {warning}")


@schedule_group.command("list")
@pass_state
def schedule_list(state: State) -> None:
    """Show every broadcast with its local and UTC time and its status.

    Example: newsletter schedule list
    """
    views = broadcasts_admin.list_broadcasts(state.app())
    if not views:
        click.echo("nothing scheduled")
        return
    table = Table(title="Broadcasts")
    for column in ("series", "#", "title", "local time", "UTC", "status", "sent to", "note"):
        table.add_column(column)
    for v in views:
        table.add_row(
            v.series, str(v.position), v.title, f"{v.local_time} {v.time_zone}",
            f"{v.due_at:%Y-%m-%d %H:%M}", v.status,
            "" if v.recipients is None else str(v.recipients), v.note or "",
        )
    Console(width=160).print(table)


@schedule_group.command("preview")
@click.argument("series")
@click.option("--signup", required=True, help='Local confirm time, e.g. "2026-12-01 14:00".')
@click.option("--tz", "tz", default=None, help="The subscriber's IANA zone (default: the series').")
@pass_state
def schedule_preview(state: State, series: str, signup: str, tz: str | None) -> None:
    """Print when each issue of SERIES would reach someone who confirms at --signup.

    Example: newsletter schedule preview pain-care --signup "2026-12-01 14:00" --tz America/New_York
    """
    rows = broadcasts_admin.preview(state.app(), series, signup, tz)
    table = Table(title=f"{series}: subscriber confirming {signup} {tz or ''}".strip())
    for column in ("#", "title", "local time", "UTC", "how"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r.position), r.title, r.local,
            f"{r.due_at:%Y-%m-%d %H:%M}" if r.due_at else "-", r.how,
        )
    Console(width=160).print(table)


@schedule_group.command("settings")
@click.argument("series")
@click.option("--mode", type=click.Choice(["broadcast", "drip"]), default=None)
@click.option("--time-zone", default=None, help="IANA zone of the series ('' = the setting).")
@click.option("--cadence-days", default=None, help="Drip: days between two issues.")
@click.option("--send-time", default=None, help='Drip: local send time, e.g. "09:00".')
@click.option("--weekdays", default=None, help='Drip: allowed days, e.g. "tue,thu".')
@click.option("--late-joiners", type=click.Choice(["start", "live"]), default=None)
@click.option("--max-late-hours", default=None, help="Later than this: held or moved.")
@pass_state
def schedule_settings(state: State, series: str, mode: str | None, time_zone: str | None,
                      cadence_days: str | None, send_time: str | None, weekdays: str | None,
                      late_joiners: str | None, max_late_hours: str | None) -> None:
    """Show the scheduling settings of SERIES, or change them in its series.toml.

    Example: newsletter schedule settings pain-care --mode drip --weekdays tue,thu
    """
    given = {"mode": mode, "time_zone": time_zone, "cadence_days": cadence_days,
             "send_time": send_time, "send_weekdays": weekdays, "late_joiners": late_joiners,
             "max_late_hours": max_late_hours}
    changes = {key: value for key, value in given.items() if value is not None}
    app = state.app()
    current = (series_schedule.update_settings(app, series, changes) if changes
               else series_schedule.read_settings(app, series))
    click.echo(f"{series}: mode {current.mode}, zone {current.time_zone}, every "
               f"{current.cadence_days} days at {current.send_time} on "
               f"{','.join(current.send_weekdays)}, late joiners {current.late_joiners}, "
               f"max late {current.max_late_hours:g} h")


@schedule_group.command("calendar")
@click.option("--days", default=agenda.DEFAULT_DAYS, show_default=True,
              type=click.IntRange(1, agenda.MAX_DAYS), help="How many days ahead.")
@click.option("--tz", "tz", default=None, help="Your IANA zone (default: the setting).")
@pass_state
def schedule_calendar(state: State, days: int, tz: str | None) -> None:
    """Show what goes out in the coming days per list: broadcasts, drips, clashes.

    Example: newsletter schedule calendar --days 14 --tz Europe/Berlin
    """
    found = agenda.agenda(state.app(), tz, days)
    for problem in found.problems:
        click.echo(f"problem: {problem}")
    if not found.lists:
        click.echo(f"nothing goes out in the next {days} days")
    for entry in found.lists:
        table = Table(title=f"{entry.name} ({entry.slug})", title_justify="left")
        for column in ("day", "series", "what", "series time", f"time in {found.viewer_zone}"):
            table.add_column(column)
        for day in entry.days:
            for send in day.sends:
                what = (f"#{send.position} {send.title} [{send.status}] to {send.count}"
                        if send.kind == "broadcast" else f"drip: {send.count} issues")
                table.add_row(f"{day.day:%a %Y-%m-%d}", send.series, what, send.local,
                              send.viewer_local)
        Console(width=160).print(table)
        for warning in entry.warnings:
            click.echo(f"warning: {warning}")


@main.command("scheduler")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between heartbeats.")
@click.option("--lease", default=90.0, show_default=True, help="Seconds the lock is held per beat.")
@click.option("--no-drain", is_flag=True, help="Do not send: a separate delivery worker runs.")
@click.option("--once", is_flag=True, help="One heartbeat, then exit (for cron or a check).")
@pass_state
def scheduler_command(
    state: State, interval: float, lease: float, no_drain: bool, once: bool
) -> None:
    """Run the scheduler: fan out broadcasts, advance drips, expire signups, send.

    Only one scheduler acts at a time (a lock in the database); a second one waits.

    Example: newsletter scheduler --interval 30
    """
    if interval <= 0 or lease <= interval:
        raise click.BadParameter("--lease must be longer than --interval (both positive)")
    app = state.app()

    def out(line: str) -> None:
        click.echo(line)
        sys.stdout.flush()

    if once:
        runner = SchedulerRunner(app, lease=timedelta(seconds=lease), drain=not no_drain, out=out)
        try:
            runner.beat()
        finally:
            runner.stop()
        return
    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    run_scheduler(
        app, interval=interval, lease=timedelta(seconds=lease), drain=not no_drain,
        stop=stop, out=out,
    )
