"""Subjects stay true when a series changes: "part N of M" comes from the series when rendered."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.content.importer import import_article
from newsletter.content.issuefile import format_issue, read_series
from newsletter.errors import ContentError
from newsletter.render import PersonalFields, Renderer
from tests.support.series import write_lists, write_series

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ANA = PersonalFields("ana@example.com", "Ana", "https://news.example.org/unsubscribe/tok")


def test_adding_a_fifth_issue_renumbers_the_subjects_of_the_other_four(
    project: Path, renderer: Renderer
) -> None:
    titles = ("Nerve blocks", "Radiofrequency", "Stimulation", "Living with it")
    front = {n: {"subject": f"{t} (part {n} of 4)"} for n, t in enumerate(titles, start=1)}
    series = write_series(project, titles=titles, front=front)
    assert renderer.compile_issue(series, 4).subject == "Living with it (part 4 of 4)"

    extra = {"title": "Questions", "subject": "Your questions answered", "position": 5}
    (series.path / "05-questions.md").write_text(format_issue(extra, "Q and A."),
                                                 encoding="utf-8")
    grown = read_series(series.path)
    rendered = renderer.compile_issue(grown, 4).personalize(ANA)
    assert rendered.subject == "Living with it (part 4 of 5)"
    assert "Part 4 of 5" in rendered.text  # the body and the subject agree
    assert renderer.compile_issue(grown, 5).subject == "Your questions answered (part 5 of 5)"
    assert "(part 4 of 4)" in (series.path / "04-part-4.md").read_text(encoding="utf-8")


def test_an_imported_series_sends_subjects_with_the_series_title_and_current_part(
    project: Path, renderer: Renderer
) -> None:
    write_lists(project, [("clinic-news", "Clinic News")])
    article = project / "back.txt"
    article.write_text(
        "Back Pain and Physiotherapy\n\nWhat to expect from us.\n\nYour first appointment\n\n"
        "We listen and examine.\n\nExercises that usually help\n\nWalking and stretching.\n",
        encoding="utf-8",
    )
    import_article(article, issues_dir=project / "issues", subscribers_dir=project / "subscribers",
                   series="back", now=NOW)
    series = read_series(project / "issues" / "back")
    compiled = renderer.compile_issue(series, 1)
    assert compiled.subject == "Your first appointment – Back Pain and Physiotherapy (part 1 of 2)"
    html = compiled.personalize(ANA).html
    subject = "Your first appointment – Back Pain and Physiotherapy (part 1 of 2)"
    assert f"<title>{subject}</title>" in html


def test_a_colon_in_a_staff_subject_stops_rendering_with_the_line_and_the_fix(
    project: Path, renderer: Renderer
) -> None:
    series = write_series(project)
    path = series.issues[0].path
    text = path.read_text(encoding="utf-8").replace(
        "subject: 'Part 1: What is chronic pain?'", "subject: Hands-on care: what it can do")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError, match=r"01-part-1\.md:3: front matter is not valid YAML "
                                           r".*put the subject in quotes"):
        read_series(series.path)
