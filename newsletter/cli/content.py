"""Content commands: ``import-article``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from newsletter.cli.base import State, add_whole_column, main, pass_state
from newsletter.content.importer import ImportReport, import_article

_STYLES = {
    "created": "green",
    "updated": "yellow",
    "unchanged": "dim",
    "removed": "red",
    "kept": "cyan",
}


def _show(report: ImportReport, console: Console) -> None:
    table = Table(title=f"{report.folder} — {report.title} (list {report.list_slug})")
    add_whole_column(table, "file", [change.name for change in report.changes])
    table.add_column("title")
    table.add_column("action")
    for change in report.changes:
        style = _STYLES.get(change.action, "")
        note = f" ({change.conflict or change.note})" if change.conflict or change.note else ""
        table.add_row(change.name, change.title, f"[{style}]{change.action}[/]{note}")
    table.add_row("series.toml", "", report.series_file)
    console.print(table)
    console.print(f"read {report.source} as {report.format}")
    if report.sectionless:
        console.print("no section headings found: the whole article became one issue")
    for text in report.dropped:
        console.print(f"dropped page chrome: {text!r}", markup=False)
    for copy in report.backups:
        console.print(f"kept a copy of the replaced file: {copy}", markup=False)


@main.command("import-article")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--series", required=True, help="Series slug: lowercase letters, digits, '-'.")
@click.option("--title", default=None, help="Series title (default: the article's title).")
@click.option(
    "--list", "list_slug", default=None,
    help="Mailing list slug (default: the first list in subscribers/lists.toml).",
)
@click.option("--force", is_flag=True, help="Replace issue files staff edited (copies are kept).")
@pass_state
def import_article_command(
    state: State, file: Path, series: str, title: str | None, list_slug: str | None, force: bool
) -> None:
    """Turn an article (plain text, Markdown or HTML) into a series of issue files.

    Writes issues/SERIES/series.toml and one NN-<slug>.md per section. A
    re-import refuses to overwrite files staff have edited, unless --force.

    Example: newsletter import-article docs/examples/chronic-pain-article.txt --series pain-care
    """
    settings = state.settings
    report = import_article(
        file,
        issues_dir=settings.issues_path,
        subscribers_dir=settings.subscribers_path,
        series=series,
        title=title,
        list_slug=list_slug,
        force=force,
        now=state.clock.now(),
    )
    _show(report, Console())
