"""Front matter staff edit: written by a YAML dumper, errors that name the line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.content.issuefile import format_issue, parse_issue
from newsletter.errors import ContentError

PATH = Path("issues/back/03-hands-on-treatment.md")


def issue(front: str) -> str:
    return f"---\n{front}\n---\n\nBody.\n"


def test_a_colon_in_the_subject_names_the_line_and_says_to_put_the_subject_in_quotes() -> None:
    text = issue("title: Hands-on treatment\nsubject: Hands-on treatment: what it can do\n"
                 "position: 3")
    with pytest.raises(ContentError) as caught:
        parse_issue(text, PATH)
    message = str(caught.value)
    assert message.startswith(f"{PATH}:3: front matter is not valid YAML")
    assert message.endswith(
        "put the subject in quotes: subject: 'Hands-on treatment: what it can do'")


def test_the_suggested_line_really_parses_to_the_text_staff_wrote() -> None:
    fixed = issue("title: T\nsubject: 'Hands-on treatment: what it can do'\nposition: 3")
    assert parse_issue(fixed, PATH).subject == "Hands-on treatment: what it can do"


def test_a_hash_in_an_unquoted_subject_is_refused_instead_of_silently_cutting_the_text() -> None:
    with pytest.raises(ContentError, match=r":3: the subject has ' #'.*put the subject in quotes: "
                                           r"subject: 'We are #1 for pain care'"):
        parse_issue(issue("title: T\nsubject: We are #1 for pain care\nposition: 1"), PATH)


def test_text_fields_are_read_as_written_not_as_yes_no_or_numbers() -> None:
    doc = parse_issue(issue("title: 2026\nsubject: No\npreheader: 1.10\nposition: 1"), PATH)
    assert (doc.title, doc.subject, doc.preheader) == ("2026", "No", "1.10")


def test_a_line_without_a_colon_is_named_with_what_a_line_must_look_like() -> None:
    with pytest.raises(ContentError, match=r":3: front matter is not valid YAML .*key: value"):
        parse_issue(issue("title: T\njust some words\nposition: 1"), PATH)


def test_written_front_matter_quotes_what_yaml_needs_quoted_and_reads_back() -> None:
    front = {"title": "What: now?", "subject": "*New* & 'quoted' #1: yes", "preheader": "No",
             "position": 2}
    doc = parse_issue(format_issue(front, "Body."), PATH)
    assert (doc.title, doc.subject, doc.preheader, doc.position) == (
        "What: now?", "*New* & 'quoted' #1: yes", "No", 2)


def test_an_unclosed_quote_names_its_line_and_shows_the_quoted_form() -> None:
    expected = r":3: front matter is not valid YAML .*put the subject in quotes: "
    with pytest.raises(ContentError, match=expected + r"""subject: '"Pain" and sleep'"""):
        parse_issue(issue('title: T\nsubject: "Pain" and sleep\nposition: 1'), PATH)
