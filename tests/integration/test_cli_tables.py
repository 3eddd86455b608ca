"""CLI tables keep file names whole at any usual terminal width (issue 13, item 18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import load_settings
from newsletter.content.issuefile import format_issue
from tests.support.cli import Cli
from tests.support.project import write_series_config

LONG_NAMES = [
    "01-what-is-chronic-pain.md",
    "02-what-causes-it.md",
    "03-radiofrequency-neurolysis-and-what-to-expect.md",
    "04-keeping-going-after-your-sessions.md",
]


@pytest.fixture
def series_folder(project: Path) -> Path:
    folder = project / "issues" / "back-physio"
    folder.mkdir(parents=True)
    write_series_config(folder, {"title": "Back pain and physiotherapy", "list": "clinic-news"})
    for position, name in enumerate(LONG_NAMES, start=1):
        title = name[3:-3].replace("-", " ").capitalize()
        front = {"title": title, "subject": f"{title} (part {position} of 4)",
                 "position": position}
        (folder / name).write_text(format_issue(front, "Some text."), encoding="utf-8")
    return folder


@pytest.mark.parametrize("columns", ["80", "100", "150"])
def test_issues_list_never_breaks_a_file_name(
    project: Path, series_folder: Path, columns: str
) -> None:
    cli = Cli(load_settings(project, environ={}))
    result = cli.invoke("issues", "list", terminal={"COLUMNS": columns})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in LONG_NAMES:
        assert any(name in line for line in lines), f"{name} is broken at {columns} columns"
    assert all(len(line) <= int(columns) for line in lines)
