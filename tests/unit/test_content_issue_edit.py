"""Editing an issue file from the console's form: checks at the field and line, conflicts."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.content.importer import import_article
from newsletter.content.issue_edit import (
    Draft,
    DraftError,
    EditConflictError,
    check_draft,
    load_issue,
    read_text,
    save_draft,
    save_text,
)
from newsletter.content.issuefile import read_series, sha256_hex
from newsletter.errors import ContentError, EditedFilesError
from tests.support.project import IssueSpec, ListSpec, write_lists, write_series

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def issue_path(tmp_path: Path) -> Path:
    write_lists(tmp_path, ListSpec("clinic-news", "Clinic News"))
    doc = write_series(tmp_path, "pacing", "Pacing", [
        IssueSpec("Start small", "Start small", "Why less is more", "Body one.",
                  front={"author": "Dr Lee"}),
        IssueSpec("Build up", "Build up", "Adding a little", "Body two."),
    ])
    return doc.issues[0].path


def test_loading_gives_the_fields_the_other_keys_as_yaml_and_the_hash_of_the_file(
    issue_path: Path,
) -> None:
    loaded = load_issue(issue_path)
    assert loaded.draft == Draft("Start small", "Start small", "Why less is more", "Body one.\n",
                                 "author: Dr Lee")
    assert loaded.hash == sha256_hex(issue_path.read_bytes())


def test_a_save_writes_the_fields_and_keeps_the_position_and_the_other_keys(
    issue_path: Path,
) -> None:
    loaded = load_issue(issue_path)
    draft = replace(loaded.draft, subject="Start small: why", body="New *body*.\r\n")
    saved = save_draft(issue_path, draft, loaded.hash)
    assert saved.written
    doc = read_series(issue_path.parent).issue(1)
    assert (doc.subject, doc.body, doc.extra, doc.position) == (
        "Start small: why", "New *body*.\n", {"author": "Dr Lee"}, 1)
    assert saved.hash == sha256_hex(issue_path.read_bytes())
    assert not [p for p in issue_path.parent.iterdir() if p.name.startswith(".")]


def test_saving_what_the_file_already_says_writes_nothing(issue_path: Path) -> None:
    before = issue_path.read_bytes()
    loaded = load_issue(issue_path)
    assert not save_draft(issue_path, loaded.draft, loaded.hash).written
    assert issue_path.read_bytes() == before


def test_a_file_changed_on_disk_since_loading_is_not_clobbered_and_its_text_is_given(
    issue_path: Path,
) -> None:
    loaded = load_issue(issue_path)
    theirs = issue_path.read_text(encoding="utf-8").replace("Body one.", "Their change.")
    issue_path.write_text(theirs, encoding="utf-8")
    with pytest.raises(EditConflictError, match="changed on disk since you opened it") as caught:
        save_draft(issue_path, replace(loaded.draft, body="My change."), loaded.hash)
    assert caught.value.current == theirs
    assert issue_path.read_text(encoding="utf-8") == theirs


def test_a_file_removed_since_loading_is_a_conflict(issue_path: Path) -> None:
    loaded = load_issue(issue_path)
    issue_path.unlink()
    with pytest.raises(EditConflictError, match="removed or renamed"):
        save_draft(issue_path, loaded.draft, loaded.hash)
    assert not issue_path.exists()


def test_a_yaml_error_in_the_other_keys_names_the_line_in_that_box(issue_path: Path) -> None:
    draft = replace(load_issue(issue_path).draft,
                    extra="author: Dr Lee\nnote: Pain: what it is\nreviewed: yes")
    with pytest.raises(DraftError) as caught:
        check_draft(draft, 1, issue_path)
    assert (caught.value.field, caught.value.line) == ("extra", 2)
    assert "line 2" in str(caught.value)
    assert "put the note in quotes" in str(caught.value)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"title": " "}, "title", "the title is empty"),
    ({"subject": "two\nlines"}, "subject", "must be one line"),
    ({"preheader": "x" * 301}, "preheader", "at most 300"),
    ({"extra": "position: 4"}, "extra", "series page"),
    ({"extra": "title: Again"}, "extra", "its own field"),
])
def test_bad_fields_are_refused_naming_the_field(
    issue_path: Path, changes: dict[str, str], field: str, message: str
) -> None:
    draft = replace(load_issue(issue_path).draft, **changes)
    with pytest.raises(DraftError, match=message) as caught:
        check_draft(draft, 1, issue_path)
    assert caught.value.field == field


def test_a_saved_edit_counts_as_staff_s_so_a_reimport_refuses_to_overwrite_it(
    tmp_path: Path,
) -> None:
    write_lists(tmp_path, ListSpec("clinic-news", "Clinic News"))
    article = "# Pacing\n\nIntro.\n\n## Start small\n\nA.\n\n## Build up\n\nB.\n"

    def run() -> None:
        import_article(tmp_path / "pacing.md", issues_dir=tmp_path / "issues",
                       subscribers_dir=tmp_path / "subscribers", series="pacing", now=NOW,
                       text=article)

    run()
    path = tmp_path / "issues" / "pacing" / "01-start-small.md"
    recorded = tomllib.loads((path.parent / "series.toml").read_text())["import"]["files"]
    loaded = load_issue(path)
    save_draft(path, replace(loaded.draft, body="Staff's words."), loaded.hash)
    after = tomllib.loads((path.parent / "series.toml").read_text())["import"]["files"]
    assert after == recorded  # the record still holds the generated hash: the file is "edited"
    article = article.replace("B.", "B, changed.")
    with pytest.raises(EditedFilesError, match=r"01-start-small\.md"):
        run()
    assert "Staff's words." in path.read_text(encoding="utf-8")


def test_a_file_broken_on_the_server_is_repaired_as_text_with_the_error_at_its_line(
    issue_path: Path,
) -> None:
    broken = issue_path.read_text(encoding="utf-8").replace(
        "subject: Start small", "subject: Start small: why")
    issue_path.write_text(broken, encoding="utf-8")
    text, loaded = read_text(issue_path)
    with pytest.raises(ContentError) as caught:
        save_text(issue_path, text, loaded)
    assert caught.value.line == 3
    assert issue_path.read_text(encoding="utf-8") == broken
    fixed = text.replace("subject: Start small: why", "subject: 'Start small: why'")
    assert save_text(issue_path, fixed, loaded).written
    assert read_series(issue_path.parent).issue(1).subject == "Start small: why"


def test_repairing_as_text_keeps_the_position_and_the_conflict_check(issue_path: Path) -> None:
    text, loaded = read_text(issue_path)
    with pytest.raises(ContentError, match="position must stay 1") as caught:
        save_text(issue_path, text.replace("position: 1", "position: 2"), loaded)
    assert caught.value.line == 5
    with pytest.raises(EditConflictError):
        save_text(issue_path, text, "0" * 64)
