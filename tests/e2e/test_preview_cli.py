"""Staff commands: ``issues list``, ``preview`` and ``render-site``, run as the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.audience.tokens import Tokens
from tests.support.series import write_lists, write_series

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "issues").mkdir(parents=True)
    write_lists(root, [("clinic-news", "Riverside Pain Clinic News")])
    write_series(root)
    return root


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update({
        "NEWSLETTER_SECRET_KEYS": "cli-test-key",
        "NEWSLETTER_BASE_URL": "https://news.example.org",
        "COLUMNS": "160",
    })
    return subprocess.run(
        [sys.executable, "-m", "newsletter", *args], cwd=project, env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_issues_list_shows_each_issue_with_file_and_hash(project: Path) -> None:
    result = run(project, "issues", "list")
    assert result.returncode == 0, result.stderr
    assert "What causes it?" in result.stdout
    assert "02-part-2.md" in result.stdout
    assert "Part 3: Nerve blocks" in result.stdout
    digest = write_series(project).issue(1).content_hash[:10]
    assert digest in result.stdout


def test_issues_list_names_an_unknown_series_and_the_known_ones(project: Path) -> None:
    result = run(project, "issues", "list", "pain-car")
    assert result.returncode == 1
    assert "no series 'pain-car'" in result.stderr
    assert "known: pain-care" in result.stderr
    assert "Traceback" not in result.stderr


def test_preview_writes_html_and_text_for_a_sample_subscriber(project: Path) -> None:
    result = run(project, "preview", "pain-care", "2", "--out", "out")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["out/pain-care-02.html", "out/pain-care-02.txt"]
    page = (project / "out" / "pain-care-02.html").read_text(encoding="utf-8")
    text = (project / "out" / "pain-care-02.txt").read_text(encoding="utf-8")
    assert "Hello Ada Example," in text
    assert "ada@example.com" in page
    unsubscribe = next(line for line in text.splitlines() if line.startswith("Unsubscribe: "))
    token = unsubscribe.rsplit("/", 1)[1]
    data = Tokens(["cli-test-key"]).read_unsubscribe(token)
    assert data.list_slug == "clinic-news"
    assert unsubscribe.split(": ", 1)[1] in text
    assert token in page


def test_preview_defaults_to_var_preview(project: Path) -> None:
    result = run(project, "preview", "pain-care", "1")
    assert result.returncode == 0, result.stderr
    assert (project / "var" / "preview" / "pain-care-01.html").is_file()
    assert (project / "var" / "preview" / "pain-care-01.txt").is_file()


def test_preview_of_a_missing_issue_says_which_exist(project: Path) -> None:
    result = run(project, "preview", "pain-care", "7")
    assert result.returncode == 1
    assert "has no issue 7 (it has 1, 2, 3)" in result.stderr


def test_preview_shows_a_broken_template_as_file_and_line_not_a_traceback(
    project: Path,
) -> None:
    folder = project / "issues" / "pain-care" / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "issue.txt.j2").write_text(
        '{% extends "email/_layout.txt.j2" %}\n{% block content %}\n{{ issue.titel }}\n'
        "{% endblock %}\n",
        encoding="utf-8",
    )
    result = run(project, "preview", "pain-care", "1")
    assert result.returncode == 1
    assert (
        "issues/pain-care/templates/email/issue.txt.j2:3: the front matter has no field 'titel'"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_preview_shows_an_issue_file_missing_its_subject(project: Path) -> None:
    path = project / "issues" / "pain-care" / "02-part-2.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("subject: 'Part 2: What causes it?'\n", ""),
        encoding="utf-8",
    )
    assert "subject" not in path.read_text(encoding="utf-8").split("---")[1]
    result = run(project, "preview", "pain-care", "1")
    assert result.returncode == 1
    assert "02-part-2.md: front matter is missing 'subject'" in result.stderr


def test_render_site_writes_an_index_linking_every_issue(project: Path) -> None:
    result = run(project, "render-site", "--out", "site")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "site/index.html"
    index = (project / "site" / "index.html").read_text(encoding="utf-8")
    assert "Living with chronic pain" in index
    for position in (1, 2, 3):
        stem = f"pain-care/{position:02d}-part-{position}"
        for suffix in (".html", ".txt", ".web.html"):
            assert f'href="{stem}{suffix}"' in index
            assert (project / "site" / f"{stem}{suffix}").is_file()
