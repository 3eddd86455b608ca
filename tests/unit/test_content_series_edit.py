"""Adding, deleting and reordering issue files: renumbered safely, pinned issues never move."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.content.importer import import_article
from newsletter.content.issuefile import SeriesDoc, read_series
from newsletter.content.series_edit import add_issue, delete_issue, fingerprint, move_issue
from newsletter.errors import ContentError
from tests.support.project import IssueSpec, ListSpec, write_lists, write_series

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def doc(tmp_path: Path) -> SeriesDoc:
    write_lists(tmp_path, ListSpec("clinic-news", "Clinic News"))
    return write_series(tmp_path, "pacing", "Pacing", [
        IssueSpec(f"Part {n}", f"Part {n}", "", f"Body {n}.", front={"author": "Dr Lee"})
        for n in (1, 2, 3, 4)
    ])


def shape(folder: Path) -> list[tuple[str, int, str]]:
    return [(d.path.name, d.position, d.body.strip()) for d in read_series(folder).issues]


def test_moving_an_issue_renumbers_the_files_between_and_keeps_every_text(doc: SeriesDoc) -> None:
    done = move_issue(doc, fingerprint(doc), 4, 2, pinned={}, now=NOW)
    assert shape(doc.path) == [("01-part-1.md", 1, "Body 1."), ("02-part-4.md", 2, "Body 4."),
                               ("03-part-2.md", 3, "Body 2."), ("04-part-3.md", 4, "Body 3.")]
    assert sorted(done.written) == ["02-part-4.md", "03-part-2.md", "04-part-3.md"]
    assert read_series(doc.path).issue(2).extra == {"author": "Dr Lee"}
    assert sorted(p.name for p in doc.path.iterdir()) == [
        "01-part-1.md", "02-part-4.md", "03-part-2.md", "04-part-3.md", "series.toml"]


def test_deleting_keeps_a_copy_and_moves_the_later_issues_up(doc: SeriesDoc) -> None:
    done = delete_issue(doc, fingerprint(doc), 2, pinned={}, now=NOW)
    assert shape(doc.path) == [("01-part-1.md", 1, "Body 1."), ("02-part-3.md", 2, "Body 3."),
                               ("03-part-4.md", 3, "Body 4.")]
    assert [p.read_text(encoding="utf-8").count("Body 2.") for p in done.backups] == [1]
    assert done.backups[0].parent.parent.name == ".replaced"


def test_adding_an_issue_inserts_a_file_with_a_subject_and_a_body_to_replace(
    doc: SeriesDoc,
) -> None:
    add_issue(doc, fingerprint(doc), "Flare-ups: what to do", at=3, pinned={}, now=NOW)
    after = read_series(doc.path)
    assert [d.title for d in after.issues] == [
        "Part 1", "Part 2", "Flare-ups: what to do", "Part 3", "Part 4"]
    new = after.issue(3)
    assert new.path.name == "03-flare-ups-what-to-do.md"
    assert new.subject == "Flare-ups: what to do – Pacing"
    assert new.body.strip() == "Write this issue here."


def test_an_issue_that_went_out_keeps_its_number_and_the_operation_is_refused(
    doc: SeriesDoc,
) -> None:
    before = shape(doc.path)
    pinned = {1: "went out to 3 subscribers", 2: "is scheduled for 2026-12-08 09:00"}
    with pytest.raises(ContentError, match=r"issue 2 \('Part 2'\) is scheduled for 2026-12-08"):
        move_issue(doc, fingerprint(doc), 4, 2, pinned=pinned, now=NOW)
    with pytest.raises(ContentError, match=r"cannot delete issue 1 .* went out to 3"):
        delete_issue(doc, fingerprint(doc), 1, pinned=pinned, now=NOW)
    with pytest.raises(ContentError, match="add an issue at position 1"):
        add_issue(doc, fingerprint(doc), "New", at=1, pinned=pinned, now=NOW)
    assert shape(doc.path) == before
    # After the last pinned issue everything may change.
    move_issue(doc, fingerprint(doc), 4, 3, pinned=pinned, now=NOW)
    assert [d.title for d in read_series(doc.path).issues] == ["Part 1", "Part 2", "Part 4",
                                                               "Part 3"]


def test_a_page_loaded_before_another_change_is_refused(doc: SeriesDoc) -> None:
    seen = fingerprint(doc)
    move_issue(doc, seen, 1, 2, pinned={}, now=NOW)
    with pytest.raises(ContentError, match="changed since the page was loaded"):
        delete_issue(read_series(doc.path), seen, 1, pinned={}, now=NOW)


def test_positions_out_of_range_are_refused_with_the_range(doc: SeriesDoc) -> None:
    with pytest.raises(ContentError, match="from 1 to 4, not 9"):
        move_issue(doc, fingerprint(doc), 1, 9, pinned={}, now=NOW)
    with pytest.raises(ContentError, match="from 1 to 5, not 0"):
        add_issue(doc, fingerprint(doc), "X", at=0, pinned={}, now=NOW)


def test_a_renumbered_file_leaves_the_import_record_so_a_reimport_does_not_undo_it(
    tmp_path: Path,
) -> None:
    write_lists(tmp_path, ListSpec("clinic-news", "Clinic News"))
    article = "# Pacing\n\nIntro.\n\n## Start\n\nA.\n\n## Build\n\nB.\n\n## Keep\n\nC.\n"
    import_article(tmp_path / "pacing.md", issues_dir=tmp_path / "issues",
                   subscribers_dir=tmp_path / "subscribers", series="pacing", now=NOW,
                   text=article)
    folder = tmp_path / "issues" / "pacing"
    doc = read_series(folder)
    move_issue(doc, fingerprint(doc), 3, 2, pinned={}, now=NOW)
    files = tomllib.loads((folder / "series.toml").read_text())["import"]["files"]
    assert list(files) == ["01-start.md"]
    with pytest.raises(ContentError, match="taken by the new import"):
        import_article(tmp_path / "pacing.md", issues_dir=tmp_path / "issues",
                       subscribers_dir=tmp_path / "subscribers", series="pacing", now=NOW,
                       text=article.replace("A.", "A, again."))
    assert [d.title for d in read_series(folder).issues] == ["Start", "Keep", "Build"]
