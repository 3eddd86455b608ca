"""Render every series into a browsable folder, and single issues for preview.

The folder holds ``index.html`` (series and issues), and per issue the email
HTML and text as a sample subscriber receives them, plus the public web
version. Nothing here sends mail or touches the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

from newsletter.audience.tokens import TokenData, Tokens
from newsletter.config import Settings
from newsletter.content.issuefile import SeriesDoc, find_series, list_series
from newsletter.content.lists import read_lists
from newsletter.errors import RenderError
from newsletter.render.compiled import PersonalFields
from newsletter.render.renderer import Renderer
from newsletter.render.templates import build_environment

SAMPLE_NAME = "Ada Example"
SAMPLE_EMAIL = "ada@example.com"
SAMPLE_PUBLIC_ID = "sample-subscriber"


@dataclass(frozen=True)
class PreviewFiles:
    """Where one issue's preview was written."""

    html: Path
    text: Path


def sample_fields(settings: Settings, list_slug: str) -> PersonalFields:
    """The sample subscriber's fields, with a real signed unsubscribe URL."""
    tokens = Tokens([key.get_secret_value() for key in settings.secret_keys])
    token = tokens.unsubscribe(TokenData(subscriber=SAMPLE_PUBLIC_ID, list_slug=list_slug))
    return PersonalFields(
        email=SAMPLE_EMAIL,
        name=SAMPLE_NAME,
        unsubscribe_url=f"{settings.base_url}/unsubscribe/{token}",
    )


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise RenderError(f"{path}: cannot write: {err.strerror}") from err


def write_issue(
    renderer: Renderer, settings: Settings, series: SeriesDoc, position: int, html: Path, text: Path
) -> PreviewFiles:
    """Render issue ``position`` for the sample subscriber into ``html`` and ``text``."""
    compiled = renderer.compile_issue(series, position)
    rendered = compiled.personalize(sample_fields(settings, series.config.list))
    _write(html, rendered.html)
    _write(text, rendered.text)
    return PreviewFiles(html=html, text=text)


def preview_issue(
    renderer: Renderer, settings: Settings, slug: str, position: int, out_dir: Path
) -> PreviewFiles:
    """Write ``<out>/<series>-NN.html`` and ``.txt`` for the sample subscriber."""
    series = find_series(settings.issues_path, slug)
    stem = f"{slug}-{position:02d}"
    return write_issue(
        renderer, settings, series, position, out_dir / f"{stem}.html", out_dir / f"{stem}.txt"
    )


def render_site(
    renderer: Renderer,
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
            write_issue(renderer, settings, series, issue.position,
                        out_dir / f"{stem}.html", out_dir / f"{stem}.txt")
            _write(out_dir / f"{stem}.web.html", renderer.archive_html(series, issue.position))
            pages.append({
                "position": issue.position, "title": issue.title, "subject": issue.subject,
                "html": f"{stem}.html", "text": f"{stem}.txt", "web": f"{stem}.web.html",
            })
            if progress is not None:
                progress(f"{slug} #{issue.position}")
        entries.append({
            "slug": slug, "title": series.config.title, "mode": series.config.mode,
            "list_name": list_names.get(series.config.list, series.config.list), "pages": pages,
        })
    sample = sample_fields(settings, "sample")
    index = build_environment().get_template("site/index.html.j2").render(
        org_name=_org_name(settings), series=entries, sample=sample
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


def _org_name(settings: Settings) -> str:
    return parseaddr(settings.sender)[0] or settings.sender
