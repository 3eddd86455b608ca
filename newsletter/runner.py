"""``newsletter run``: the whole service on one machine, on the embedded defaults.

:func:`prepare` imports the sample article (never over staff edits), mirrors
lists and series into the database and renders every series into a browsable
folder. :func:`serve` then runs, until stopped: a local SMTP mail catcher, the
delivery worker (sending to that catcher over real SMTP, or to the configured
relay), the scheduler, and the web app, whose ``/caught`` page lists the
caught messages.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from newsletter.app import App, create_app
from newsletter.audience.signup import ensure_lists
from newsletter.catalog import sync_all_series
from newsletter.content.importer import import_article
from newsletter.db.engine import write_transaction
from newsletter.errors import EditedFilesError
from newsletter.render.site import render_site

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
        )
    except EditedFilesError as err:
        return f"kept your edits to {len(err.paths)} file(s) of {SAMPLE_SERIES}; not re-imported"
    actions = Counter(str(change.action) for change in report.changes)
    counts = ", ".join(f"{n} {action}" for action, n in sorted(actions.items()))
    return f"imported {SAMPLE_ARTICLE} as {SAMPLE_SERIES}: {counts}"


def prepare(app: App) -> Prepared:
    """Import the sample, mirror lists and series into the database, render the site."""
    note = import_sample(app)
    ensure_lists(app)
    with write_transaction(app.sessions) as session:
        rows = sync_all_series(session, app.settings.issues_path, app.clock.now())
        slugs = [row.slug for row in rows]
    index = render_site(app.renderer, app.settings, app.settings.var_path / SITE_DIR)
    return Prepared(site_index=index, series=slugs, import_note=note)


def delivery_app(app: App) -> App:
    """The App the worker sends with: on the catcher default, SMTP to the local catcher."""
    if app.settings.transport != "catcher":
        return app
    settings = app.settings.model_copy(
        update={"transport": "smtp", "smtp_host": "127.0.0.1", "smtp_security": "none",
                "smtp_username": None, "smtp_password": None}
    )
    return create_app(settings, clock=app.clock, migrate=False)


def serve(app: App, *, host: str, port: int, stop: threading.Event, out: Out,
          scheduler_interval: float = 15.0) -> None:
    """Run catcher, worker, scheduler and web app until ``stop`` is set (or Ctrl-C)."""
    import uvicorn

    from newsletter.delivery.catcher import CATCHER_DIR, MailCatcher, MailStore
    from newsletter.delivery.worker import run_worker
    from newsletter.schedule.process import run_scheduler
    from newsletter.web.app import create_web_app

    catcher = None
    if app.settings.transport == "catcher":
        store = MailStore(app.settings.var_path / CATCHER_DIR)
        catcher = MailCatcher(store, "127.0.0.1", app.settings.smtp_port).start()
        out(f"mail catcher: smtp://127.0.0.1:{app.settings.smtp_port}")
    sender = delivery_app(app)
    threads = [
        threading.Thread(target=run_worker, args=(sender,), kwargs={"stop": stop},
                         name="worker", daemon=True),
        threading.Thread(
            target=run_scheduler, args=(app,), name="scheduler", daemon=True,
            kwargs={"interval": scheduler_interval, "lease": timedelta(seconds=90),
                    "drain": False, "stop": stop, "out": out},
        ),
    ]
    for thread in threads:
        thread.start()
    server = uvicorn.Server(uvicorn.Config(create_web_app(app), host=host, port=port,
                                           log_level="warning", server_header=False))
    watcher = threading.Thread(target=_stop_server_when, args=(stop, server), daemon=True)
    watcher.start()
    try:
        server.run()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        if catcher is not None:
            catcher.stop()
        if sender is not app:
            sender.close()


def _stop_server_when(stop: threading.Event, server: object) -> None:
    stop.wait()
    server.should_exit = True  # type: ignore[attr-defined]
