"""The sample series of the rendering and delivery tests, written with the project builder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from newsletter.config import Settings, load_settings
from newsletter.content.issuefile import SeriesDoc
from tests.support import project as builder

BODIES = [
    "Pain that outlasts healing by months is called *chronic*. It is common, and it is real.\n\n"
    "## Why it deserves care\n\n- It disturbs sleep\n- It wears down mood\n\n"
    "Read the [clinic's guide](https://clinic.example.com/guide?part=1&lang=en).",
    "Nerves, joints and muscles can all keep pain going.\n\n1. Injury\n2. Inflammation\n",
    "A nerve block places medicine close to a nerve to quiet it for a while.",
]


def write_lists(project: Path, entries: list[tuple[str, str]]) -> None:
    """Write ``subscribers/lists.toml`` with (slug, name) entries."""
    builder.write_lists(project, *(builder.ListSpec(slug, name) for slug, name in entries))


def write_series(
    project: Path,
    slug: str = "pain-care",
    titles: tuple[str, ...] = ("What is chronic pain?", "What causes it?", "Nerve blocks"),
    *,
    config: dict[str, Any] | None = None,
    front: dict[int, dict[str, Any]] | None = None,
    bodies: list[str] | None = None,
) -> SeriesDoc:
    """Write a series folder with one issue per title and read it back."""
    texts = bodies or BODIES
    issues = [
        builder.IssueSpec(
            title=title,
            subject=f"Part {position}: {title}",
            preheader=f"Preview line for part {position}",
            body=texts[(position - 1) % len(texts)],
            front=(front or {}).get(position, {}),
        )
        for position, title in enumerate(titles, start=1)
    ]
    return builder.write_series(project, slug, "Living with chronic pain", issues,
                                **(config or {}))


def render_settings(project: Path, **overrides: Any) -> Settings:
    """Settings for rendering in ``project`` (no database needed)."""
    values: dict[str, Any] = {
        "secret_keys": ["test-secret-key"],
        "base_url": "https://news.example.org",
        "postal_address": "Riverside Pain Clinic, 12 Harbour Road, Springfield 10001",
        **overrides,
    }
    return load_settings(project, environ={}, overrides=values)
