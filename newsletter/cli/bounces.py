"""``newsletter bounces process|serve|poll``: bounces and complaints in, by pipe, SMTP or IMAP."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import click

from newsletter.cli.base import State, main, pass_state
from newsletter.errors import DatabaseError
from newsletter.feedback.inbound import BounceListener
from newsletter.feedback.intake import process_message
from newsletter.feedback.mailbox import poll_mailbox

EX_TEMPFAIL = 75  # sysexits.h: an MTA keeps the message and runs the pipe again later


@main.group()
def bounces() -> None:
    """Take in bounces and complaints: from a file or pipe, over SMTP, or from a mailbox.

    Example: newsletter bounces process bounce.eml
    """


@bounces.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--envelope-to", metavar="ADDRESS",
              help="The SMTP recipient the message arrived for (an MTA pipe's $RECIPIENT).")
@pass_state
def process(state: State, files: tuple[str, ...], envelope_to: str | None) -> None:
    """Record raw messages (FILE..., or - for standard input) and act on them.

    For an MTA pipe (Postfix: `bounces unix - n n - - pipe ... newsletter bounces
    process --envelope-to ${recipient}`) or a maildir. A database that cannot be
    reached exits 75 (temporary failure), so the MTA tries again.

    Example: newsletter bounces process - < bounce.eml
    """
    for name in files or ("-",):
        with click.open_file(name, "rb") as handle:
            raw = handle.read()
        try:
            recorded = process_message(state.app(), raw, source="process",
                                       envelope_to=envelope_to)
        except DatabaseError as err:
            click.echo(f"{name}: {err}", err=True)
            sys.exit(EX_TEMPFAIL)
        label = "standard input" if name == "-" else name
        click.echo(f"{label}: {recorded.describe()}")
        for alert in recorded.alerts:
            click.secho(f"Alert: {alert}", fg="red", bold=True)


@bounces.command()
@click.option("--host", help="Interface to listen on (default: bounce_listen_host).")
@click.option("--port", type=click.IntRange(1, 65535),
              help="Port to listen on (default: bounce_listen_port).")
@pass_state
def serve(state: State, host: str | None, port: int | None) -> None:
    """Listen for bounces over SMTP (for a relay that forwards them) until stopped.

    Only recipients at the bounce domain are accepted. Stop with Ctrl-C.

    Example: newsletter bounces serve --port 2526
    """
    app = state.app()
    stop = threading.Event()

    def on_signal(_number: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    listener = BounceListener(app, host, port).start()
    click.echo(f"Listening for bounces on smtp://{listener.host}:{listener.port} "
               f"(mail for {app.verp.domain}); Ctrl-C stops it.")
    try:
        stop.wait()
    finally:
        listener.stop()


@bounces.command()
@click.option("--limit", type=click.IntRange(min=1), help="Take at most this many messages.")
@click.option("--every", type=click.FloatRange(min=5), metavar="SECONDS",
              help="Keep polling at this interval until stopped (default: poll once).")
@pass_state
def poll(state: State, limit: int | None, every: float | None) -> None:
    """Record the messages in the IMAP bounce mailbox and move them to the processed folder.

    Settings: imap_host, imap_port, imap_username, imap_password, imap_folder,
    imap_processed_folder (TLS is always verified; imap_ca_file for a private CA).

    Example: newsletter bounces poll --every 300
    """
    app = state.app()
    stop = threading.Event()
    if every is not None:
        signal.signal(signal.SIGTERM, lambda _n, _f: stop.set())
    while True:
        result = poll_mailbox(app, limit=limit)
        click.echo(f"Mailbox {app.settings.imap_folder}: {result.describe()}.")
        for recorded in result.recorded:
            for alert in recorded.alerts:
                click.secho(f"Alert: {alert}", fg="red", bold=True)
        if every is None or stop.wait(every):
            return
