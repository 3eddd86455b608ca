"""The import edge on real files: series.toml, atomic writes, re-import rules, clear errors."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.content.importer import ImportReport, import_article
from newsletter.content.issuefile import read_series, sha256_hex
from newsletter.errors import ContentError, EditedFilesError

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ARTICLE = """\
Living With Chronic Pain

Welcome to our series.

What Is Chronic Pain?

Pain that lasts longer than three months.

What Causes It?

Many things can cause it.

Nerve Blocks

An injection near a nerve.
"""
LISTS = (
    '[[list]]\nslug = "clinic-news"\nname = "Clinic News"\n\n'
    '[[list]]\nslug = "other"\nname = "O"\n'
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "issues").mkdir()
    (tmp_path / "subscribers").mkdir()
    (tmp_path / "subscribers" / "lists.toml").write_text(LISTS, encoding="utf-8")
    (tmp_path / "article.txt").write_text(ARTICLE, encoding="utf-8")
    return tmp_path


def run(root: Path, source: str = "article.txt", **options: object) -> ImportReport:
    return import_article(
        root / source,
        issues_dir=root / "issues",
        subscribers_dir=root / "subscribers",
        series=str(options.pop("series", "pain-care")),
        now=NOW,
        **options,  # type: ignore[arg-type]
    )


def actions(report: ImportReport) -> dict[str, str]:
    return {c.name: c.action for c in report.changes}


def test_an_import_writes_series_toml_with_the_default_list_and_file_hashes(root: Path) -> None:
    run(root)
    folder = root / "issues" / "pain-care"
    raw = tomllib.loads((folder / "series.toml").read_text(encoding="utf-8"))
    assert (raw["title"], raw["list"], raw["mode"]) == (
        "Living With Chronic Pain",
        "clinic-news",
        "broadcast",
    )
    assert raw["import"]["source"] == "article.txt"
    assert raw["import"]["format"] == "text"
    assert raw["import"]["imported_at"] == NOW
    files = raw["import"]["files"]
    assert sorted(files) == [
        "01-what-is-chronic-pain.md",
        "02-what-causes-it.md",
        "03-nerve-blocks.md",
    ]
    for name, digest in files.items():
        assert sha256_hex((folder / name).read_text(encoding="utf-8")) == digest
    series = read_series(folder)
    assert [i.title for i in series.issues] == [
        "What Is Chronic Pain?",
        "What Causes It?",
        "Nerve Blocks",
    ]


def test_title_and_list_options_win(root: Path) -> None:
    report = run(root, title="Pain Care", list_slug="other")
    assert (report.title, report.list_slug) == ("Pain Care", "other")


def test_an_undeclared_list_is_refused_naming_the_lists_file(root: Path) -> None:
    with pytest.raises(ContentError, match=r"'nope' is not declared in .*lists\.toml"):
        run(root, list_slug="nope")


def test_reimporting_an_unchanged_series_changes_nothing_on_disk(root: Path) -> None:
    run(root)
    folder = root / "issues" / "pain-care"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    report = run(root)
    assert set(actions(report).values()) == {"unchanged"}
    assert report.series_file == "unchanged"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_reimport_refuses_to_overwrite_an_edited_file_and_names_it(root: Path) -> None:
    run(root)
    edited = root / "issues" / "pain-care" / "02-what-causes-it.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nA staff note.\n", encoding="utf-8")
    (root / "article.txt").write_text(ARTICLE.replace("Many things", "Lots of things"))
    with pytest.raises(EditedFilesError) as caught:
        run(root)
    assert caught.value.paths == [str(edited)]
    assert "02-what-causes-it.md" in str(caught.value)
    assert "A staff note." in edited.read_text(encoding="utf-8")  # nothing written


def test_force_replaces_an_edited_file_and_keeps_a_copy(root: Path) -> None:
    run(root)
    edited = root / "issues" / "pain-care" / "02-what-causes-it.md"
    edited.write_text("staff version", encoding="utf-8")
    report = run(root, force=True)
    assert "Many things" in edited.read_text(encoding="utf-8")
    assert [p.read_text(encoding="utf-8") for p in report.backups] == ["staff version"]
    assert report.backups[0].parent.parent.name == ".replaced"
    run(root)  # the series is consistent again: a plain re-import succeeds


def test_an_unchanged_article_keeps_an_edited_file_and_its_recorded_hash(root: Path) -> None:
    run(root)
    folder = root / "issues" / "pain-care"
    recorded = (folder / "series.toml").read_bytes()
    edited = folder / "02-what-causes-it.md"
    edited.write_text("staff version", encoding="utf-8")
    report = run(root)
    assert actions(report)["02-what-causes-it.md"] == "kept"
    assert edited.read_text(encoding="utf-8") == "staff version"
    assert (folder / "series.toml").read_bytes() == recorded
    (root / "article.txt").write_text(ARTICLE.replace("Many things", "Lots of things"))
    with pytest.raises(EditedFilesError, match=r"02-what-causes-it\.md"):
        run(root)


def test_stale_generated_files_are_removed_when_the_article_loses_a_section(root: Path) -> None:
    run(root)
    shorter = ARTICLE.split("Nerve Blocks")[0]
    (root / "article.txt").write_text(shorter, encoding="utf-8")
    report = run(root)
    assert actions(report)["03-nerve-blocks.md"] == "removed"
    assert not (root / "issues" / "pain-care" / "03-nerve-blocks.md").exists()


def test_a_stale_file_staff_edited_is_never_removed_without_force(root: Path) -> None:
    run(root)
    stale = root / "issues" / "pain-care" / "03-nerve-blocks.md"
    stale.write_text(stale.read_text(encoding="utf-8") + "edit\n", encoding="utf-8")
    (root / "article.txt").write_text(ARTICLE.split("Nerve Blocks")[0], encoding="utf-8")
    with pytest.raises(EditedFilesError, match=r"03-nerve-blocks\.md"):
        run(root)
    assert stale.exists()
    report = run(root, force=True)
    assert not stale.exists()
    assert report.backups[0].read_text(encoding="utf-8").endswith("edit\n")


def test_a_hand_made_issue_file_is_kept_when_its_number_is_free(root: Path) -> None:
    run(root)
    extra = root / "issues" / "pain-care" / "09-questions.md"
    extra.write_text("---\ntitle: Q\nsubject: Q\nposition: 9\n---\nBody\n", encoding="utf-8")
    report = run(root)
    assert actions(report)["09-questions.md"] == "kept"
    assert extra.exists()


def test_staff_settings_in_series_toml_survive_a_reimport(root: Path) -> None:
    run(root)
    path = root / "issues" / "pain-care" / "series.toml"
    text = path.read_text(encoding="utf-8").replace('mode = "broadcast"', 'mode = "drip"')
    path.write_text(text.replace("[import]", 'time_zone = "Europe/London"\n\n[import]'))
    (root / "article.txt").write_text(ARTICLE.replace("Many things", "Lots of things"))
    run(root)
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    assert (raw["mode"], raw["time_zone"]) == ("drip", "Europe/London")


def test_no_temporary_files_are_left_behind(root: Path) -> None:
    run(root)
    assert not [p for p in (root / "issues" / "pain-care").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the article is empty"),
        (b"  \n\n \n", "the article is empty"),
        (b"Just A Title\n", "no paragraphs found"),
        (b"Title\n\nCaf\xe9 text.\n", r":3: not UTF-8 text \(byte 10\)"),
    ],
)
def test_bad_articles_are_refused_with_the_file_named(
    root: Path, content: bytes, message: str
) -> None:
    (root / "bad.txt").write_bytes(content)
    with pytest.raises(ContentError, match=message) as caught:
        run(root, "bad.txt")
    assert "bad.txt" in str(caught.value)
    assert not (root / "issues" / "pain-care").exists()


def test_a_missing_file_and_a_folder_are_refused_by_name(root: Path) -> None:
    with pytest.raises(ContentError, match=r"missing\.txt: no such file"):
        run(root, "missing.txt")
    with pytest.raises(ContentError, match="is a folder"):
        run(root, "issues")


@pytest.mark.parametrize(
    "slug", ["Pain", "pain care", "pain_care", "-pain", "pain--care", "../x", ""]
)
def test_series_slugs_must_be_lowercase_letters_digits_and_dashes(root: Path, slug: str) -> None:
    with pytest.raises(ContentError, match="series slug"):
        run(root, series=slug)


def test_an_article_without_headings_becomes_a_single_issue(root: Path) -> None:
    (root / "flat.txt").write_text("A Title\n\nOne paragraph.\n\nTwo paragraph.\n")
    report = run(root, "flat.txt", series="flat")
    assert report.sectionless
    assert list(actions(report)) == ["01-a-title.md"]


def test_a_byte_order_mark_and_windows_line_endings_are_accepted(root: Path) -> None:
    (root / "win.txt").write_bytes(b"\xef\xbb\xbf" + ARTICLE.replace("\n", "\r\n").encode())
    report = run(root, "win.txt", series="win")
    assert report.title == "Living With Chronic Pain"
    assert len(report.changes) == 3


def test_an_article_without_a_title_needs_the_title_option(root: Path) -> None:
    (root / "untitled.md").write_text("## Part\n\nText.\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"untitled\.md: no title found .* pass --title"):
        run(root, "untitled.md", series="untitled")
    report = run(root, "untitled.md", series="untitled", title="Given Title")
    assert report.title == "Given Title"


def test_a_dry_run_reports_the_proposal_and_the_file_changes_but_writes_nothing(
    root: Path,
) -> None:
    report = run(root, dry_run=True)
    assert report.dry_run
    assert [i.title for i in report.proposal.issues] == [
        "What Is Chronic Pain?", "What Causes It?", "Nerve Blocks"]
    assert {c.action for c in report.changes} == {"created"}
    assert not (root / "issues" / "pain-care").exists()


def test_the_console_accepts_a_split_by_passing_the_adjustments_it_made(root: Path) -> None:
    from newsletter.content import adjust

    preview = run(root, dry_run=True).proposal
    chosen = adjust.adjustments_of(adjust.merge(preview, 2, 3))
    report = run(root, adjustments=chosen)
    series = read_series(root / "issues" / "pain-care")
    assert [i.title for i in series.issues] == ["What Is Chronic Pain?", "What Causes It?"]
    assert "## Nerve Blocks" in series.issues[1].body
    assert report.adjustments == chosen
    # The next plain import keeps it, and the file staff did not touch is left alone.
    again = run(root)
    assert set(actions(again).values()) == {"unchanged"}


def test_the_source_url_is_recorded_and_reused_by_the_next_import(root: Path) -> None:
    (root / "page.md").write_text(
        "# Guide\n\nSee [the group](/groups/pacing).\n\n## One\n\nA.\n\n## Two\n\nB.\n",
        encoding="utf-8")
    run(root, "page.md", series="guide", source_url="https://clinic.example/blog/guide/")
    raw = tomllib.loads((root / "issues" / "guide" / "series.toml").read_text(encoding="utf-8"))
    assert raw["import"]["source_url"] == "https://clinic.example/blog/guide/"
    again = run(root, "page.md", series="guide")
    assert set(actions(again).values()) == {"unchanged"}
    assert "(https://clinic.example/groups/pacing)" in read_series(
        root / "issues" / "guide").issues[0].body


def test_a_source_url_that_is_not_a_web_address_is_refused_before_anything_is_read(
    root: Path,
) -> None:
    with pytest.raises(ContentError, match=r"--source-url 'clinic\.example' is not a web address"):
        run(root, source_url="clinic.example")


def test_edits_conflict_when_staff_change_the_split_even_if_the_article_is_the_same(
    root: Path,
) -> None:
    run(root)
    edited = root / "issues" / "pain-care" / "03-nerve-blocks.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nStaff note.\n", encoding="utf-8")
    with pytest.raises(EditedFilesError, match=r"03-nerve-blocks\.md"):
        run(root, merges=("2,3",))
    assert "Staff note." in edited.read_text(encoding="utf-8")


def test_a_pasted_article_is_imported_from_its_text_and_a_paragraph_split_is_recorded(
    root: Path,
) -> None:
    from newsletter.content import adjust

    pasted = ARTICLE.replace("Many things can cause it.",
                             "Many things can cause it.\n\nInjury is one of them.")
    preview = run(root, "pasted-article.txt", text=pasted, dry_run=True).proposal
    index = next(i for i, b in enumerate(preview.blocks) if b.markdown.startswith("Injury"))
    chosen = adjust.adjustments_of(adjust.split_before_paragraph(preview, index))
    report = run(root, "pasted-article.txt", text=pasted.replace("\n", "\r\n"), adjustments=chosen)
    assert not (root / "pasted-article.txt").exists()
    series = read_series(root / "issues" / "pain-care")
    assert [i.title for i in series.issues] == [
        "What Is Chronic Pain?", "What Causes It?", "What Causes It? (continued)", "Nerve Blocks"]
    assert series.issues[2].body == "Injury is one of them.\n"
    raw = tomllib.loads((root / "issues" / "pain-care" / "series.toml").read_text(
        encoding="utf-8"))
    assert raw["import"]["source"] == "pasted-article.txt"
    assert raw["import"]["split_at_paragraph"] == ["Injury is one of them."]
    assert report.adjustments == chosen
    # The same paste again changes nothing: the split is replayed from series.toml.
    again = run(root, "pasted-article.txt", text=pasted)
    assert set(actions(again).values()) == {"unchanged"}
