"""Content commands: ``import-article`` (a thin layer over :mod:`newsletter.content.importer`)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from newsletter.cli.base import State, add_whole_column, main, pass_state
from newsletter.content.extract import DEFAULT_EXTRACTOR, EXTRACTORS
from newsletter.content.importer import ImportReport, import_article
from newsletter.content.proposal import ImportProposal, ProposedIssue
from newsletter.content.words import cut_at_word

_STYLES = {
    "created": "green",
    "updated": "yellow",
    "unchanged": "dim",
    "removed": "red",
    "kept": "cyan",
}
EXCERPT = 70


def _advice(proposal: ImportProposal, issue: ProposedIssue) -> str:
    """What staff can do about a flagged issue, as the option to type."""
    count = len(proposal.issues)
    if "short" in issue.flags:
        other = issue.number + 1 if issue.number == 1 else issue.number - 1
        first, last = sorted((issue.number, other))
        return f"--merge {first},{last}" if count > 1 else ""
    if "long" in issue.flags and issue.subheadings:
        middle = issue.subheadings[len(issue.subheadings) // 2]
        return f'--split-at "{middle}"'
    return ""


def _issue_table(report: ImportReport) -> Table:
    proposal = report.proposal
    verb = "Proposed split (nothing written)" if report.dry_run else "Imported"
    table = Table(title=f"{verb}: {report.folder} — {report.title} (list {report.list_slug})")
    changes = {change.name: change for change in report.changes}
    names = [c.name for c in report.changes]
    for column in ("#", "title", "words", "check"):
        table.add_column(column, overflow="fold")
    add_whole_column(table, "file", [*names, "series.toml"])
    table.add_column("action", overflow="fold")
    for issue in proposal.issues:
        name = names[issue.number - 1] if issue.number - 1 < len(names) else ""
        change = changes.get(name)
        action = ""
        if change is not None:
            style = _STYLES.get(change.action, "")
            note = f" ({change.conflict or change.note})" if change.conflict or change.note else ""
            action = f"[{style}]{change.action}[/]{note}"
        check = ", ".join(issue.flags)
        advice = _advice(proposal, issue)
        table.add_row(str(issue.number), issue.title, str(issue.words),
                      f"{check}: {advice}" if advice else check, name, action)
    for change in report.changes[len(proposal.issues):]:
        table.add_row("", change.title, "", "", change.name,
                      f"[{_STYLES.get(change.action, '')}]{change.action}[/]")
    table.add_row("", "", "", "", "series.toml", report.series_file)
    return table


def show_report(report: ImportReport, console: Console) -> None:
    """Print what the import did or would do: issues, dropped blocks, warnings, notes."""
    proposal = report.proposal
    console.print(_issue_table(report))
    console.print(f"read {report.source} as {report.format}", markup=False)
    if proposal.base_url:
        console.print(f"links and images resolved against {proposal.base_url} "
                      f"(from {proposal.base_from})", markup=False)
    if report.sectionless:
        console.print("no section headings found: the whole article became one issue")
    if report.adjustments:
        joined = ", ".join(f"'{h}'" for h in report.adjustments.joined) or "none"
        split = ", ".join(f"'{h}'" for h in report.adjustments.split_at) or "none"
        console.print(f"your changes to the split (kept for re-imports): merged at {joined}; "
                      f"split at {split}", markup=False)
    if proposal.dropped:
        blocks = sum(d.count for d in proposal.dropped)
        console.print(f"dropped page chrome and other blocks ({blocks} blocks):")
        for entry in proposal.dropped:
            more = f" (+{entry.count - 1} more blocks)" if entry.count > 1 else ""
            console.print(f"  {proposal.place(entry.seq)} · {entry.reason}: "
                          f"“{cut_at_word(entry.text, EXCERPT)}”{more}", markup=False)
    if proposal.warnings:
        console.print("check before sending:")
        for warning in proposal.warnings:
            number = proposal.issue_number_at(warning.seq)
            where = f"issue {number}" if number else "article"
            console.print(f"  {where}: {warning.message}", markup=False)
    if report.time_zone:
        console.print(f"time zone: {report.time_zone} ({report.time_zone_from}; broadcasts and "
                      "drips use it unless you change time_zone in series.toml)", markup=False)
    else:
        console.print("time zone: not set in series.toml; the time_zone setting applies",
                      markup=False)
    for note in [*proposal.notes, *report.notes]:
        console.print(f"note: {note}", markup=False)
    for copy in report.backups:
        console.print(f"kept a copy of the replaced file: {copy}", markup=False)
    if report.dry_run:
        console.print("dry run: nothing was written")


@main.command("import-article")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--series", required=True,
              help="Series slug, the folder name under issues/: lowercase letters, digits, '-'.")
@click.option("--title", default=None, help="Series title (default: the article's title).")
@click.option(
    "--list", "list_slug", default=None,
    help="Mailing list slug (default: the first list in subscribers/lists.toml).",
)
@click.option("--source-url", default=None,
              help="The article's web address: relative links and images become absolute.")
@click.option("--merge", "merges", multiple=True, metavar="N,M",
              help="Join issues N to M as numbered in the proposal (repeatable), e.g. 2,3.")
@click.option("--split-at", "splits", multiple=True, metavar="HEADING",
              help="Start a new issue at this heading (repeatable).")
@click.option("--reset-split", is_flag=True,
              help="Forget merges and splits recorded by earlier imports.")
@click.option("--dry-run", is_flag=True, help="Show the proposed split; write nothing.")
@click.option("--extractor", type=click.Choice(sorted(EXTRACTORS)), default=DEFAULT_EXTRACTOR,
              show_default=True, help="How the article is found in a saved web page.")
@click.option("--force", is_flag=True, help="Replace issue files staff edited (copies are kept).")
@pass_state
def import_article_command(
    state: State, file: Path, series: str, title: str | None, list_slug: str | None,
    source_url: str | None, merges: tuple[str, ...], splits: tuple[str, ...],
    reset_split: bool, dry_run: bool, extractor: str, force: bool,
) -> None:
    """Turn an article (plain text, Markdown or a saved web page) into a series of issue files.

    Writes issues/SERIES/series.toml and one NN-<slug>.md per issue, and lists
    every block it dropped (navigation, bylines, share bars, signup boxes...)
    and every link or image to check. A re-import refuses to overwrite files
    staff have edited, unless --force. Merges and splits are remembered.

    Example: newsletter import-article page.html --series pacing --merge 2,3
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
        source_url=source_url,
        merges=merges,
        splits=splits,
        reset_split=reset_split,
        dry_run=dry_run,
        extractor=extractor,
        now=state.clock.now(),
        time_zone=settings.time_zone,
    )
    show_report(report, Console())
