"""The one project builder for tests: ``subscribers/lists.toml``, series folders, issue files.

Every helper that needs a project on disk (rendering, signup, scheduling,
delivery) writes it through these functions, so the files always have the
shape staff write and ``newsletter import-article`` produces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from newsletter.content.issuefile import SeriesDoc, format_issue, read_series, write_series_config

CLINIC_LIST = "clinic-news"


@dataclass(frozen=True)
class ListSpec:
    """One ``[[list]]`` entry; fields left None are not written (the format's defaults apply)."""

    slug: str
    name: str
    description: str | None = None
    double_opt_in: bool | None = None
    consent_text: str | None = None
    thank_you_url: str | None = None


@dataclass(frozen=True)
class IssueSpec:
    """One issue file: its front matter and Markdown body."""

    title: str
    subject: str
    preheader: str
    body: str
    front: Mapping[str, Any] = field(default_factory=dict)


def write_lists(project: Path, *lists: ListSpec, extra: str = "") -> Path:
    """Write ``subscribers/lists.toml`` declaring ``lists`` (then any raw TOML in ``extra``)."""
    entries = [{key: value for key, value in vars(spec).items() if value is not None}
               for spec in lists]
    path = project / "subscribers" / "lists.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = tomli_w.dumps({"list": entries}) if entries else ""
    path.write_text(text + extra, encoding="utf-8")
    return path


def write_issue(folder: Path, position: int, issue: IssueSpec) -> Path:
    """Write issue ``position`` as ``NN-part-N.md`` in a series folder."""
    front = {"title": issue.title, "subject": issue.subject, "preheader": issue.preheader,
             "position": position, **issue.front}
    path = folder / f"{position:02d}-part-{position}.md"
    path.write_text(format_issue(front, issue.body), encoding="utf-8")
    return path


def write_series(
    project: Path,
    slug: str,
    title: str,
    issues: Sequence[IssueSpec],
    *,
    list_slug: str = CLINIC_LIST,
    **config: Any,
) -> SeriesDoc:
    """Write ``issues/<slug>/`` (series.toml with ``config``, one file per issue) and read it."""
    folder = project / "issues" / slug
    folder.mkdir(parents=True, exist_ok=True)
    write_series_config(folder, {"title": title, "list": list_slug, **config})
    for position, issue in enumerate(issues, start=1):
        write_issue(folder, position, issue)
    return read_series(folder)
