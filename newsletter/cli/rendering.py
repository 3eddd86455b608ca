"""Rendering commands: ``issues list``, ``preview``, ``render-site``.

Rendering needs no database, so these take the renderer and the links from
:mod:`newsletter.app` without building the whole App (a preview works even
when the database is down).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from newsletter.app import make_links, make_renderer
from newsletter.cli.base import State, add_whole_column, main, pass_state
from newsletter.content.issuefile import find_series, list_series
from newsletter.render.site import count_issues, preview_issue, render_site


def _show_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _out_dir(state: State, out: Path | None, default: str) -> Path:
    return out if out is not None else state.settings.var_path / default


@main.group("issues")
def issues_group() -> None:
    """Look at the issue files of each series.

    Example: newsletter issues list pain-care
    """


@issues_group.command("list")
@click.argument("series", required=False)
@pass_state
def issues_list_command(state: State, series: str | None) -> None:
    """List the issues of SERIES (or of every series): title, file, subject as sent, hash.

    Subject and content hash are shown when the terminal is at least 120 columns wide.

    Example: newsletter issues list pain-care
    """
    issues_path = state.settings.issues_path
    slugs = [series] if series else list_series(issues_path)
    console = Console()
    if not slugs:
        console.print(f"no series in {issues_path}", markup=False)
        return
    # One table per series (its slug in the title, not in a column): the room goes to the
    # title, which wraps between words, and the file name, which never breaks.
    wide = console.width >= 120
    for slug in slugs:
        doc = find_series(issues_path, slug)
        table = Table(title=f"{slug}: {doc.config.title}", title_justify="left")
        table.add_column("#", no_wrap=True)
        table.add_column("title", min_width=16)
        if wide:
            table.add_column("subject", min_width=16)
        add_whole_column(table, "file", [issue.path.name for issue in doc.issues])
        if wide:
            table.add_column("hash", no_wrap=True)
        for issue in doc.issues:
            cells = [str(issue.position), issue.title]
            if wide:
                cells += [doc.subject_line(issue), issue.path.name, issue.content_hash[:10]]
            else:
                cells.append(issue.path.name)
            table.add_row(*cells)
        console.print(table)


@main.command("preview")
@click.argument("series")
@click.argument("position", metavar="N", type=click.IntRange(min=1))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for the files (default: var/preview/).")
@pass_state
def preview_command(state: State, series: str, position: int, out: Path | None) -> None:
    """Render issue N of SERIES for a sample subscriber; print the HTML and text paths.

    Template errors show here, with the template file and line, not at send time.

    Example: newsletter preview pain-care 1 --out /tmp/preview
    """
    settings = state.settings
    files = preview_issue(make_renderer(settings), make_links(settings), settings, series,
                          position, _out_dir(state, out, "preview"))
    click.echo(_show_path(files.html))
    click.echo(_show_path(files.text))


@main.command("render-site")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for the site (default: var/site/).")
@pass_state
def render_site_command(state: State, out: Path | None) -> None:
    """Render every issue of every series into a browsable folder; print its index path.

    Example: newsletter render-site --out /tmp/site
    """
    settings = state.settings
    renderer, links = make_renderer(settings), make_links(settings)
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("rendering", total=count_issues(settings))
        index = render_site(renderer, links, settings, _out_dir(state, out, "site"),
                            progress=lambda label: progress.update(
                                task, advance=1, description=label))
    click.echo(_show_path(index))
