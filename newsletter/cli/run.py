"""``newsletter run``: the main job on the embedded defaults (see newsletter.runner)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from rich.console import Console
from rich.panel import Panel

from newsletter.cli.base import State, main, pass_state
from newsletter.cli.deliverability import warn_if_unsigned
from newsletter.runner import prepare, serve


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
    confirmation email at /caught. Stop with Ctrl-C.

    Example: newsletter run --port 8000
    """
    console = Console()
    app = state.app()
    warn_if_unsigned(app.settings)
    with console.status("importing and rendering"):
        prepared = prepare(app)
    console.print(prepared.import_note)
    console.print(f"rendered {len(prepared.series)} series: {prepared.site_index}")
    if prepare_only:
        return
    base = f"http://{host}:{port}"
    lines = [
        f"home and signup form  {base}/",
        *(f"archive               {base}/archive/{slug}" for slug in prepared.series),
    ]
    if app.settings.transport == "catcher":
        lines.append(f"caught mail           {base}/caught")
    lines.append(f"rendered site         {prepared.site_index}")
    console.print(Panel("\n".join(lines), title="newsletter is running (Ctrl-C stops it)"))
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    serve(app, host=host, port=port, stop=stop, out=console.print)
