"""The re-import decision table, on its own: generated, edited and hand-made files."""

from __future__ import annotations

from newsletter.content.issuefile import sha256_hex
from newsletter.content.reimport import plan_changes
from newsletter.content.series_plan import PlannedIssue


def planned(name: str, text: str) -> PlannedIssue:
    position = int(name.split("-")[0])
    return PlannedIssue(position, name, "T", "S", "", text, text)


def test_a_hand_made_file_on_a_planned_number_is_a_conflict_and_others_are_kept() -> None:
    plan = plan_changes(
        [planned("01-a.md", "new a")],
        {"01-mine.md": b"staff", "07-extra.md": b"staff"},
        recorded={},
    )
    by_name = {c.name: c for c in plan.changes}
    assert by_name["01-a.md"].action == "created"
    assert "number 01 is taken" in by_name["01-mine.md"].conflict
    assert by_name["07-extra.md"].action == "kept"
    assert not by_name["07-extra.md"].conflict


def test_a_file_already_holding_the_planned_text_is_unchanged_whoever_made_it() -> None:
    plan = plan_changes([planned("01-a.md", "same")], {"01-a.md": b"same"}, recorded={})
    assert [(c.action, c.conflict) for c in plan.changes] == [("unchanged", "")]
    assert not plan.touches_disk


def test_generated_files_are_updated_and_stale_ones_removed() -> None:
    existing = {"01-a.md": b"old a", "02-b.md": b"old b"}
    recorded = {name: sha256_hex(data) for name, data in existing.items()}
    plan = plan_changes([planned("01-a.md", "new a")], existing, recorded)
    assert [(c.name, c.action) for c in plan.changes] == [
        ("01-a.md", "updated"),
        ("02-b.md", "removed"),
    ]
    assert plan.conflicts == []


def test_edited_files_conflict_unless_edits_are_kept_because_the_article_is_unchanged() -> None:
    recorded = {"01-a.md": sha256_hex(b"generated")}
    existing = {"01-a.md": b"edited"}
    strict = plan_changes([planned("01-a.md", "generated")], existing, recorded)
    assert strict.conflicts[0].conflict == "edited since it was imported"
    lenient = plan_changes([planned("01-a.md", "generated")], existing, recorded, keep_edits=True)
    assert [(c.action, c.conflict) for c in lenient.changes] == [("kept", "")]
