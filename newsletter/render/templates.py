"""The Jinja2 environment for emails: strict, autoescaped, overridable per series.

Templates are looked up first in ``issues/<series>/templates/`` (so a series
can replace ``email/_layout.mjml.j2`` or ``email/issue.mjml.j2`` by dropping a
file of the same name there), then in ``templates/`` at the project root (the
same for every series and for transactional mail), then in the package's
``newsletter/templates/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

PACKAGE_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SERIES_TEMPLATES = "templates"  # folder name inside a series folder
PROJECT_TEMPLATES = "templates"  # folder name at the project root


def _autoescape(name: str | None) -> bool:
    # Text parts are not HTML: escaping would put "&amp;" into a plain-text email.
    return not (name or "").endswith((".txt.j2", ".txt"))


def build_environment(search_paths: Sequence[Path] = ()) -> Environment:
    """An environment searching ``search_paths`` first, then the package templates."""
    # Folders that do not exist (yet) are kept: the loader simply finds nothing there.
    folders = [*search_paths, PACKAGE_TEMPLATES]
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(str(folder)) for folder in folders]),
        undefined=StrictUndefined,
        autoescape=_autoescape,  # noqa: S701  (on for HTML/MJML, off for text parts)
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def series_template_folder(series_path: Path) -> Path:
    """Where a series keeps its template overrides."""
    return series_path / SERIES_TEMPLATES
