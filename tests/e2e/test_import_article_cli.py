"""`newsletter import-article` through the real command line, in a project folder on disk."""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

import pytest
from click.testing import Result

from newsletter.config import load_settings
from newsletter.content.issuefile import read_series
from tests.support.cli import Cli
from tests.support.project import ListSpec, write_lists

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "docs" / "examples" / "chronic-pain-article.txt"

INTRO = [
    "Pain that will not go away changes how a person sleeps, works and feels.",
    "This short guide explains what our clinic can offer.",
]
SECTIONS = {
    "What Is Chronic Pain?": [
        "Chronic pain is pain that lasts longer than the normal time for healing.",
        "It can be constant or come and go.",
    ],
    "What Causes It?": [
        "Injuries, operations and illnesses can all start it.",
        "Sometimes no single cause is found.",
    ],
    "Nerve Blocks": [
        "A nerve block places medicine near a nerve to quiet its signals.",
        "Some people should subscribe to a written plan from their doctor before starting.",
    ],
    "Radiofrequency Neurolysis": [
        "Gentle heat interrupts a small nerve that carries pain.",
    ],
    "Is Spinal Cord Stimulation Right for Me?": [
        "Mild pulses change how pain signals travel.",
        "Talk to your doctor about whether it suits you.",
    ],
}
CALL_TO_ACTION = ["news via inbox", "Mail us for latest news and updates"]


def article_text() -> str:
    lines = ["Living With Chronic Pain", ""]
    for paragraph in INTRO:
        lines += [paragraph, ""]
    for heading, paragraphs in SECTIONS.items():
        lines += [heading, ""]
        for paragraph in paragraphs:
            lines += [paragraph, ""]
    lines += [CALL_TO_ACTION[0], "", CALL_TO_ACTION[1], ""]
    return "\n".join(lines)


@pytest.fixture
def cli(project: Path) -> Cli:
    """The command on ``project`` with a declared list, as a staff member would run it."""
    write_lists(project, ListSpec("clinic-news", "Clinic News"))
    return Cli(load_settings(project, environ={}))


def invoke(cli: Cli, *args: str) -> Result:
    return cli.run("import-article", *args)


def article(project: Path) -> str:
    return str(project / "article.txt")


def bodies(folder: Path) -> list[str]:
    return [issue.body for issue in read_series(folder).issues]


def test_a_plain_text_article_becomes_one_issue_per_section_without_the_call_to_action(
    cli: Cli, project: Path
) -> None:
    (project / "article.txt").write_text(article_text(), encoding="utf-8")
    result = invoke(cli, article(project), "--series", "pain-care")
    assert result.exit_code == 0, result.output

    series = read_series(project / "issues" / "pain-care")
    assert [i.title for i in series.issues] == list(SECTIONS)
    assert [i.position for i in series.issues] == [1, 2, 3, 4, 5]
    everything = "\n".join(bodies(series.path))
    for phrase in CALL_TO_ACTION:
        assert phrase.lower() not in everything.lower()
    # Every paragraph exactly once, in order, and the intro in the first issue.
    expected = [INTRO + SECTIONS[h] if n == 0 else SECTIONS[h] for n, h in enumerate(SECTIONS)]
    for body, paragraphs in zip(bodies(series.path), expected, strict=True):
        assert [p.strip() for p in body.split("\n\n") if p.strip()] == paragraphs
    assert "dropped page chrome" in result.output


def test_reimport_refuses_to_overwrite_an_edited_issue_unless_forced(
    cli: Cli, project: Path
) -> None:
    (project / "article.txt").write_text(article_text(), encoding="utf-8")
    assert invoke(cli, article(project), "--series", "pain-care").exit_code == 0
    edited = project / "issues" / "pain-care" / "03-nerve-blocks.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nStaff added this.\n")
    changed = article_text().replace("quiet its signals", "calm its signals")
    (project / "article.txt").write_text(changed, encoding="utf-8")

    refused = invoke(cli, article(project), "--series", "pain-care")
    assert refused.exit_code == 1
    assert "03-nerve-blocks.md" in refused.output
    assert "--force" in refused.output
    assert "Traceback" not in refused.output
    assert "Staff added this." in edited.read_text(encoding="utf-8")

    forced = invoke(cli, article(project), "--series", "pain-care", "--force")
    assert forced.exit_code == 0, forced.output
    assert "Staff added this." not in edited.read_text(encoding="utf-8")
    assert "kept a copy" in forced.output


def test_reimporting_an_unchanged_article_keeps_staff_edits_without_force(
    cli: Cli, project: Path
) -> None:
    (project / "article.txt").write_text(article_text(), encoding="utf-8")
    assert invoke(cli, article(project), "--series", "pain-care").exit_code == 0
    edited = project / "issues" / "pain-care" / "03-nerve-blocks.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nStaff added this.\n")
    for _ in range(2):  # the edit still counts as an edit the second time
        again = invoke(cli, article(project), "--series", "pain-care")
        assert again.exit_code == 0, again.output
        assert "kept" in again.output
        assert "Staff added this." in edited.read_text(encoding="utf-8")


def test_reimport_of_an_unchanged_series_succeeds(cli: Cli, project: Path) -> None:
    (project / "article.txt").write_text(article_text(), encoding="utf-8")
    assert invoke(cli, article(project), "--series", "pain-care").exit_code == 0
    again = invoke(cli, article(project), "--series", "pain-care")
    assert again.exit_code == 0, again.output
    assert re.search(r"series\.toml\s*│\s*│\s*unchanged", again.output)


def test_bad_input_is_a_one_line_error_naming_the_problem(cli: Cli, project: Path) -> None:
    (project / "article.txt").write_text(article_text(), encoding="utf-8")
    bad_slug = invoke(cli, article(project), "--series", "Pain Care")
    assert bad_slug.exit_code == 1
    assert "series slug 'Pain Care'" in bad_slug.output
    missing = invoke(cli, str(project / "nowhere.txt"), "--series", "pain-care")
    assert missing.exit_code == 1
    assert "nowhere.txt: no such file" in missing.output


def test_the_sample_article_imports_to_the_committed_sample_series_unchanged(
    cli: Cli, project: Path
) -> None:
    shutil.copytree(REPO / "issues" / "pain-care", project / "issues" / "pain-care")
    shutil.copy(REPO / "subscribers" / "lists.toml", project / "subscribers" / "lists.toml")
    result = invoke(cli, str(SAMPLE), "--series", "pain-care")
    assert result.exit_code == 0, result.output
    committed = REPO / "issues" / "pain-care"
    for path in committed.iterdir():
        assert (project / "issues" / "pain-care" / path.name).read_bytes() == path.read_bytes()
    raw = tomllib.loads((committed / "series.toml").read_text(encoding="utf-8"))
    assert raw["list"] == "clinic-news"
    titles = [i.title for i in read_series(committed).issues]
    assert titles == [
        "What Is Chronic Pain?",
        "What Causes It?",
        "Nerve Blocks",
        "Radiofrequency Neurolysis",
        "Spinal Cord Stimulation",
    ]
