"""Web commands: ``serve`` (the public HTTP app) and ``form-snippet`` (the embeddable form)."""

from __future__ import annotations

import multiprocessing
import os
import signal

import click

from newsletter.accounts.staff import has_staff
from newsletter.app import create_app
from newsletter.audience.form import FormFields, form_snippet
from newsletter.audience.ingest import StopSignal, run_signup_ingest
from newsletter.audience.origins import configured_origins
from newsletter.cli.base import State, main, pass_state
from newsletter.cli.serving import listen, refuse_public_catcher, web_server, with_local_base_url
from newsletter.config import Settings
from newsletter.content.lists import read_lists
from newsletter.delivery.processes import die_with_parent
from newsletter.errors import NewsletterError
from newsletter.web.app import create_web_app


def _signup_process(settings: Settings, stop: StopSignal, parent: int) -> None:
    """The child process of ``serve`` that turns stored signups into people and email."""
    die_with_parent(parent)  # a killed `serve` leaves no processor behind
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the parent decides
    app = create_app(settings, migrate=False)
    try:
        run_signup_ingest(app, stop=stop)
    finally:
        app.close()


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="TCP port to listen on.")
@click.option("--ingest/--no-ingest", default=True, show_default=True,
              help="Also process form signups, in a child process (--no-ingest: workers do it).")
@click.option("--access-log", is_flag=True, help="Log every request (off: it costs throughput).")
@pass_state
def serve_command(state: State, host: str, port: int, ingest: bool, access_log: bool) -> None:
    """Serve the signup, confirm, unsubscribe and archive pages and the staff console (/admin).

    Put it behind a TLS-terminating proxy in production, set base_url to the
    public address and trusted_proxies to the proxy's. Without base_url, links
    use --host and --port. Per-IP rate limits are kept per process. A form post
    only stores the signup; a child process of this command turns it into a
    confirmation email within a moment, unless --no-ingest says that a
    `newsletter worker` does it.

    Example: newsletter serve --host 127.0.0.1 --port 8000
    """
    settings = with_local_base_url(state.settings, host, port)
    refuse_public_catcher(settings, host)
    state.use_settings(settings)
    app = state.app()
    web = create_web_app(app, host=host)
    if not has_staff(app):
        click.echo("The staff console (/admin) has no account yet: make the first owner with\n"
                   "  newsletter staff add EMAIL --role owner", err=True)
    sock = listen(host, port)
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    child = None
    if ingest:
        child = context.Process(target=_signup_process, args=(settings, stop, os.getpid()),
                                name="newsletter-signups", daemon=True)
        child.start()
    try:
        web_server(web, sock, log_level="info", access_log=access_log).run(sockets=[sock])
    finally:
        sock.close()
        stop.set()
        if child is not None:
            child.join(timeout=30)


@main.command("form-snippet")
@click.option("--list", "list_slug", required=True, help="Slug of the list in lists.toml.")
@click.option("--no-script", is_flag=True, help="Only the plain HTML form, no inline script.")
@click.option("--no-name", is_flag=True, help="Leave out the optional first-name field.")
@click.option("--no-time-zone", is_flag=True,
              help="Do not send the visitor's time zone (detected by the script).")
@pass_state
def form_snippet_command(state: State, list_slug: str, no_script: bool, no_name: bool,
                         no_time_zone: bool) -> None:
    """Print the HTML signup form to paste into a web page.

    The form posts to BASE_URL/subscribe and works without JavaScript; the small
    script submits in place and sends the visitor's time zone. Add the page's
    origin to allowed_origins (or in the console's form builder) so the script
    can read the answer. The console's form builder makes the same snippet.

    Example: newsletter form-snippet --list clinic-news --no-name > form.html
    """
    settings = state.settings
    configs = {c.slug: c for c in read_lists(settings.subscribers_path)}
    if list_slug not in configs:
        known = ", ".join(sorted(configs)) or "none"
        raise click.ClickException(
            f"no list {list_slug!r} in {settings.subscribers_path / 'lists.toml'} (known: {known})"
        )
    config = configs[list_slug]
    if settings.base_url_is_loopback:
        click.echo(f"warning: base_url {settings.base_url} is a loopback address: a form pasted "
                   "on a website would post to the visitor's own computer. Set base_url to the "
                   "public address of `newsletter serve` first.", err=True)
    try:  # the setting plus the origins staff allowed in the console
        allowed = state.app().origins.allowed()
    except NewsletterError:  # no database here: the setting alone
        allowed = configured_origins(settings)
    if not allowed and not config.thank_you_url:
        click.echo("note: with no allowed_origins, the script cannot answer in place: visitors "
                   "leave your page for the thank-you page (it links back to this newsletter's "
                   "page). Add your site to allowed_origins or in the console's form builder, "
                   "or set thank_you_url for the list in lists.toml.", err=True)
    fields = FormFields(name=not no_name, time_zone=not no_time_zone)
    click.echo(form_snippet(settings.base_url, config, script=not no_script, fields=fields),
               nl=False)
