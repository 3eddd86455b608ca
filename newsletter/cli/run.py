"""``newsletter run``: the whole service on one machine, on the embedded defaults.

:func:`prepare` imports the sample article (never over staff edits), mirrors
lists and series into the database and renders every series into a browsable
folder. :func:`serve` then runs, until stopped: a local SMTP mail catcher, the
inbound SMTP listener for bounces (``bounce_listen_port``), the delivery
worker (sending to that catcher over real SMTP, or to the configured relay),
the scheduler, and the web app, whose ``/caught`` page lists the caught
messages and ``/admin`` is the staff console (the first run makes its first
owner: cli/first_owner.py). One App serves them all.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType

import click
import uvicorn
from rich.console import Console
from rich.panel import Panel

from newsletter.app import App
from newsletter.cli.base import State, main, pass_state, start_signup_ingest
from newsletter.cli.deliverability import warn_if_unsigned
from newsletter.cli.first_owner import ensure_first_owner
from newsletter.cli.serving import (
    listen,
    refuse_public_catcher,
    url_host,
    web_server,
    with_local_base_url,
)
from newsletter.content.importer import import_article
from newsletter.delivery.catcher import CATCHER_DIR, MailCatcher, MailStore
from newsletter.delivery.transport import loopback_catcher_transport
from newsletter.delivery.worker import run_worker
from newsletter.errors import EditedFilesError, NewsletterError
from newsletter.feedback.inbound import BounceListener
from newsletter.hooks.dispatch import run_hook_dispatcher
from newsletter.render.site import render_site
from newsletter.schedule.process import run_scheduler
from newsletter.web.app import caught_pages_allowed, create_web_app

SAMPLE_ARTICLE = Path("docs/examples/chronic-pain-article.txt")
SAMPLE_SERIES = "pain-care"
SITE_DIR = "site"

Out = Callable[[str], None]


@dataclass(frozen=True)
class Prepared:
    """What :func:`prepare` did: where the rendered site is, and which series exist."""

    site_index: Path
    series: list[str]
    import_note: str
    notes: list[str]  # what mirroring changed (e.g. a series that became a drip)


def import_sample(app: App) -> str:
    """Import the sample article as ``pain-care`` when it is there; staff edits always win."""
    source = app.settings.root / SAMPLE_ARTICLE
    if not source.is_file():
        return "no sample article here; using the series in issues/ as they are"
    try:
        report = import_article(
            source,
            issues_dir=app.settings.issues_path,
            subscribers_dir=app.settings.subscribers_path,
            series=SAMPLE_SERIES,
            now=app.clock.now(),
            time_zone=app.settings.time_zone,
        )
    except EditedFilesError as err:
        return f"kept your edits to {len(err.paths)} file(s) of {SAMPLE_SERIES}; not re-imported"
    actions = Counter(str(change.action) for change in report.changes)
    counts = ", ".join(f"{n} {action}" for action, n in sorted(actions.items()))
    return f"imported {SAMPLE_ARTICLE} as {SAMPLE_SERIES}: {counts}"


def prepare(app: App) -> Prepared:
    """Import the sample, mirror lists and series into the database, render the site."""
    note = import_sample(app)
    app.catalog.lists()
    view = app.catalog.mirror_all(app.clock.now())
    if view.problems:
        raise view.problems[0]  # a broken series stops the start, naming its file
    index = render_site(app.renderer, app.links, app.settings, app.settings.var_path / SITE_DIR)
    return Prepared(site_index=index, series=list(view.docs), import_note=note, notes=view.notes)


def serve(app: App, *, stop: threading.Event, out: Out, sock: socket.socket | None = None,
          host: str = "127.0.0.1", port: int = 8000, scheduler_interval: float = 15.0) -> None:
    """Run catcher, worker, scheduler and the web app until ``stop`` is set.

    The web app serves ``sock`` (bound beforehand, as ``run`` does), else a
    socket bound here on ``host:port``; the caught-mail pages follow that bind.
    """
    owned = sock is None
    if sock is None:
        sock = listen(host, port)
    catcher = None
    transport = None
    if app.settings.transport == "catcher":
        store = MailStore(app.settings.var_path / CATCHER_DIR, app.clock)
        catcher = MailCatcher(store, "127.0.0.1", app.settings.smtp_port).start()
        out(f"mail catcher: smtp://127.0.0.1:{app.settings.smtp_port}")
        # The worker talks real SMTP to the catcher, as it would to a relay.
        transport = loopback_catcher_transport(app.settings)
    threads = [
        start_signup_ingest(app, stop),
        threading.Thread(target=run_worker, args=(app,),
                         kwargs={"stop": stop, "transport": transport},
                         name="worker", daemon=True),
        threading.Thread(target=run_hook_dispatcher, args=(app,), kwargs={"stop": stop},
                         name="webhooks", daemon=True),
        threading.Thread(
            target=run_scheduler, args=(app,), name="scheduler", daemon=True,
            kwargs={"interval": scheduler_interval, "lease": timedelta(seconds=90),
                    "drain": False, "stop": stop, "out": out},
        ),
    ]
    listener = _start_bounce_listener(app, out)
    for thread in threads[1:]:  # the first (signup ingest) is running
        thread.start()
    host = str(sock.getsockname()[0])
    server = web_server(create_web_app(app, host=host), sock, log_level="warning",
                        access_log=False)
    watcher = threading.Thread(target=_stop_server_when, args=(stop, server), daemon=True)
    watcher.start()
    try:
        server.run(sockets=[sock])
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        if catcher is not None:
            catcher.stop()
        if listener is not None:
            listener.stop()
        if owned:
            sock.close()


def _start_bounce_listener(app: App, out: Out) -> BounceListener | None:
    """The inbound SMTP listener for bounces, unless ``bounce_listen_port`` is 0."""
    if not app.settings.bounce_listen_port:
        return None
    try:
        listener = BounceListener(app).start()
    except NewsletterError as err:
        out(f"[yellow]bounces:[/] {err} (set bounce_listen_port, or 0 to turn it off)")
        return None
    out(f"bounce listener: smtp://{listener.host}:{listener.port}")
    return listener


def _stop_server_when(stop: threading.Event, server: uvicorn.Server) -> None:
    stop.wait()
    server.should_exit = True


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface for the web app.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="Port for the web app.")
@click.option("--prepare-only", is_flag=True,
              help="Import, mirror and render the site, then exit without serving.")
@pass_state
def run_command(state: State, host: str, port: int, prepare_only: bool) -> None:
    """Run everything: import the sample, render the site, serve, send, schedule.

    On the embedded defaults (SQLite under var/, the built-in mail catcher) this
    needs no configuration: sign up on the home page, then read the caught
    confirmation email at /caught. The first run with no staff account makes
    the console's first owner (asking at a terminal, else printing a generated
    password once). Stop with Ctrl-C.

    Without base_url, links use --host and --port; the port is checked before
    anything starts. The catcher's mail is served only on a loopback --host.

    Example: newsletter run --port 8000
    """
    console = Console()
    settings = with_local_base_url(state.settings, host, port)
    refuse_public_catcher(settings, host)
    state.use_settings(settings)
    app = state.app()
    warn_if_unsigned(app.settings)
    with console.status("importing and rendering"):
        prepared = prepare(app)
    console.print(prepared.import_note)
    for note in prepared.notes:
        console.print(f"note: {note}", markup=False)
    console.print(f"rendered {len(prepared.series)} series: {prepared.site_index}")
    if prepare_only:
        return
    if app.settings.transport == "catcher":  # its port too, before saying "running"
        listen("127.0.0.1", app.settings.smtp_port,
               hint="set another smtp_port (NEWSLETTER_SMTP_PORT) for the mail catcher").close()
    sock = listen(host, port)  # before saying "running": a port in use stops us here
    base = f"http://{url_host(host)}:{port}"
    owner = ensure_first_owner(app)
    lines = [
        f"staff console         {base}/admin",
        *([f"  log in as           {owner.email}"] if owner else []),
        *([f"  password            {owner.password}  (shown once)"]
          if owner and owner.password else []),
        f"home and signup form  {base}/",
        *(f"archive               {base}/archive/{slug}" for slug in prepared.series),
    ]
    if caught_pages_allowed(app.settings, host):
        lines.append(f"caught mail           {base}/caught")
    lines.append(f"rendered site         {prepared.site_index}")
    console.print(Panel("\n".join(lines), title="newsletter is running (Ctrl-C stops it)"))
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    try:
        serve(app, sock=sock, stop=stop, out=console.print)
    finally:
        sock.close()
