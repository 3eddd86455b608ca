"""Web commands: ``serve`` (the public HTTP app) and ``form-snippet`` (the embeddable form)."""

from __future__ import annotations

import click
import uvicorn

from newsletter.accounts.staff import has_staff
from newsletter.audience.form import form_snippet
from newsletter.cli.base import State, main, pass_state
from newsletter.content.lists import read_lists
from newsletter.web.app import create_web_app


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="TCP port to listen on.")
@pass_state
def serve_command(state: State, host: str, port: int) -> None:
    """Serve the signup, confirm, unsubscribe and archive pages and the staff console (/admin).

    Put it behind a TLS-terminating proxy in production and set base_url to the
    public address. Per-IP rate limits are kept per process.

    Example: newsletter serve --host 127.0.0.1 --port 8000
    """
    app = state.app()
    web = create_web_app(app)
    if not has_staff(app):
        click.echo("The staff console (/admin) has no account yet: make the first owner with\n"
                   "  newsletter staff add EMAIL --role owner", err=True)
    uvicorn.run(web, host=host, port=port, proxy_headers=False, server_header=False,
                log_level="info")


@main.command("form-snippet")
@click.option("--list", "list_slug", required=True, help="Slug of the list in lists.toml.")
@click.option("--no-script", is_flag=True, help="Only the plain HTML form, no inline script.")
@pass_state
def form_snippet_command(state: State, list_slug: str, no_script: bool) -> None:
    """Print the HTML signup form to paste into a web page.

    The form posts to BASE_URL/subscribe and works without JavaScript; the small
    script submits in place and sends the visitor's time zone. Add the page's
    origin to allowed_origins so the script can read the answer.

    Example: newsletter form-snippet --list clinic-news > form.html
    """
    settings = state.settings
    configs = {c.slug: c for c in read_lists(settings.subscribers_path)}
    if list_slug not in configs:
        known = ", ".join(sorted(configs)) or "none"
        raise click.ClickException(
            f"no list {list_slug!r} in {settings.subscribers_path / 'lists.toml'} (known: {known})"
        )
    click.echo(form_snippet(settings.base_url, configs[list_slug], script=not no_script), nl=False)
