"""Render every series into a browsable folder, and single issues for preview.

The folder holds ``index.html`` (series and issues), and per issue the email
HTML and text as a sample subscriber receives them, plus the public web
version. Nothing here sends mail or touches the database; the caller passes
the App's links, so the sample's unsubscribe URL is really signed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from newsletter.config import Settings
from newsletter.content.issuefile import IssueDoc, SeriesDoc, find_series, list_series
from newsletter.content.lists import read_lists
from newsletter.errors import RenderError
from newsletter.render.compiled import PersonalFields, RenderedEmail
from newsletter.render.renderer import Renderer
from newsletter.render.templates import build_environment

SAMPLE_NAME = "Ada Example"
SAMPLE_EMAIL = "ada@example.com"
SAMPLE_PUBLIC_ID = "sample-subscriber"


class UnsubscribeLinks(Protocol):
    """Makes one-click unsubscribe URLs (``App.links``)."""

    def unsubscribe_url(self, public_id: str, list_slug: str, series: str | None = None) -> str:
        """The signed unsubscribe URL of one subscriber and list."""
        ...


@dataclass(frozen=True)
class PreviewFiles:
    """Where one issue's preview was written."""

    html: Path
    text: Path


def sample_fields(links: UnsubscribeLinks, list_slug: str) -> PersonalFields:
    """The sample subscriber's fields, with a real signed unsubscribe URL."""
    return PersonalFields(
        email=SAMPLE_EMAIL,
        name=SAMPLE_NAME,
        unsubscribe_url=links.unsubscribe_url(SAMPLE_PUBLIC_ID, list_slug),
    )


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise RenderError(f"{path}: cannot write: {err.strerror}") from err


def write_issue(
    renderer: Renderer, links: UnsubscribeLinks, series: SeriesDoc, position: int, html: Path,
    text: Path,
) -> PreviewFiles:
    """Render issue ``position`` for the sample subscriber into ``html`` and ``text``."""
    compiled = renderer.compile_issue(series, position)
    rendered = compiled.personalize(sample_fields(links, series.config.list))
    _write(html, rendered.html)
    _write(text, rendered.text)
    return PreviewFiles(html=html, text=text)


def render_for_sample(
    renderer: Renderer, links: UnsubscribeLinks, series: SeriesDoc, issue: IssueDoc
) -> RenderedEmail:
    """``issue`` (saved or a draft in the editor) as the sample subscriber gets it.

    The draft takes the place of the issue at its position, so the part number,
    the neighbours' links and the series' template are those it will have.
    """
    issues = [issue if doc.position == issue.position else doc for doc in series.issues]
    if issue not in issues:
        issues = sorted([*issues, issue], key=lambda doc: doc.position)
    drafted = replace(series, issues=issues)
    compiled = renderer.compile_issue(drafted, issue.position)
    return compiled.personalize(sample_fields(links, series.config.list))


def preview_issue(
    renderer: Renderer, links: UnsubscribeLinks, settings: Settings, slug: str, position: int,
    out_dir: Path,
) -> PreviewFiles:
    """Write ``<out>/<series>-NN.html`` and ``.txt`` for the sample subscriber."""
    series = find_series(settings.issues_path, slug)
    stem = f"{slug}-{position:02d}"
    return write_issue(
        renderer, links, series, position, out_dir / f"{stem}.html", out_dir / f"{stem}.txt"
    )


def render_site(
    renderer: Renderer,
    links: UnsubscribeLinks,
    settings: Settings,
    out_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Render every series under ``out_dir`` and return the path of its ``index.html``."""
    list_names = {c.slug: c.name for c in read_lists(settings.subscribers_path)}
    entries: list[dict[str, object]] = []
    for slug in list_series(settings.issues_path):
        series = find_series(settings.issues_path, slug)
        pages: list[dict[str, object]] = []
        for issue in series.issues:
            stem = f"{slug}/{issue.position:02d}-{issue.slug}"
            write_issue(renderer, links, series, issue.position,
                        out_dir / f"{stem}.html", out_dir / f"{stem}.txt")
            _write(out_dir / f"{stem}.web.html", renderer.archive_html(series, issue.position))
            pages.append({
                "position": issue.position, "title": issue.title,
                "subject": series.subject_line(issue),  # as sent, with the current part number
                "html": f"{stem}.html", "text": f"{stem}.txt", "web": f"{stem}.web.html",
            })
            if progress is not None:
                progress(f"{slug} #{issue.position}")
        entries.append({
            "slug": slug, "title": series.config.title, "mode": series.config.mode,
            "list_name": list_names.get(series.config.list, series.config.list), "pages": pages,
        })
    sample = sample_fields(links, "sample")
    index = build_environment().get_template("site/index.html.j2").render(
        org_name=settings.org_name, series=entries, sample=sample
    )
    path = out_dir / "index.html"
    _write(path, index)
    return path


def count_issues(settings: Settings) -> int:
    """How many issues :func:`render_site` will render (for a progress bar)."""
    return sum(
        len(find_series(settings.issues_path, slug).issues)
        for slug in list_series(settings.issues_path)
    )
