"""Series changes over HTTP on a real server: import steps, add/move/delete, pinned issues."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from newsletter.accounts.audit import recent_actions
from newsletter.content.issuefile import read_series
from tests.support import project as builder
from tests.support.console import ConsoleServer, console_project, csrf_from, login

EDITOR = "ed@clinic.example"
ARTICLE = "# Sleep and pain\n\nIntro.\n\n## Why sleep\n\nA.\n\n## Bedtime\n\nB.\n\n## Naps\n\nC.\n"
STATE = re.compile(r'name="state" value="([^"]+)"')
SEEN = re.compile(r'name="seen" value="([0-9a-f]{64})"')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = console_project(tmp_path_factory.mktemp("console") / "project")
    builder.write_series(root, "care", "Care", [
        builder.IssueSpec(f"Part {n}", f"Part {n}", "", f"Body {n}.") for n in (1, 2, 3)
    ])
    with ConsoleServer(root) as running:
        running.add_staff(EDITOR, "editor")
        yield running


@pytest.fixture
def editor(server: ConsoleServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        login(client, EDITOR)
        yield client


def titles(server: ConsoleServer, slug: str) -> list[str]:
    return [d.title for d in read_series(server.root / "issues" / slug).issues]


def actions(server: ConsoleServer) -> list[tuple[str, str]]:
    with server.app() as app:
        return [(line.action, line.target) for line in recent_actions(app, actor=EDITOR)]


def propose(editor: httpx.Client, **fields: str) -> httpx.Response:
    form = editor.get("/admin/import")
    return editor.post("/admin/import/propose", files={"file": (
        "sleep.md", ARTICLE.encode(), "text/markdown")}, data={
        "csrf_token": csrf_from(form.text), "series": "sleep", "format": "auto", **fields})


def test_an_uploaded_article_is_proposed_adjusted_and_accepted_and_audited(
    server: ConsoleServer, editor: httpx.Client,
) -> None:
    shown = propose(editor)
    assert shown.status_code == 200
    assert "Sleep and pain: 3 issues" in shown.text
    assert not (server.root / "issues" / "sleep").exists()
    state = STATE.search(shown.text)
    assert state is not None
    merged = editor.post("/admin/import/adjust", data={
        "csrf_token": csrf_from(shown.text), "state": state.group(1), "op": "merge:2"})
    assert "Sleep and pain: 2 issues" in merged.text
    state = STATE.search(merged.text)
    assert state is not None
    accepted = editor.post("/admin/import/accept", data={
        "csrf_token": csrf_from(merged.text), "state": state.group(1)})
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/admin/series/sleep"
    assert titles(server, "sleep") == ["Why sleep", "Bedtime"]
    assert ("series.import", "sleep") in actions(server)


def test_a_tampered_import_state_is_refused_and_nothing_is_written(
    server: ConsoleServer, editor: httpx.Client,
) -> None:
    shown = propose(editor, series="tampered")
    state = STATE.search(shown.text)
    assert state is not None
    answer = editor.post("/admin/import/accept", data={
        "csrf_token": csrf_from(shown.text), "state": state.group(1)[:-3] + "AAA"})
    assert answer.status_code == 400
    assert "damaged or not one of ours" in answer.text
    assert not (server.root / "issues" / "tampered").exists()


def test_accepting_over_an_edited_file_is_refused_like_the_command(
    server: ConsoleServer, editor: httpx.Client,
) -> None:
    shown = propose(editor, series="edited")
    state = STATE.search(shown.text)
    assert state is not None
    first = editor.post("/admin/import/accept", data={
        "csrf_token": csrf_from(shown.text), "state": state.group(1)})
    assert first.status_code == 303
    edited = server.root / "issues" / "edited" / "01-why-sleep.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nStaff note.\n", encoding="utf-8")
    again = propose(editor, series="edited")
    assert "edited since it was imported" not in again.text  # the same split keeps edits
    state = STATE.search(again.text)
    assert state is not None
    merged = editor.post("/admin/import/adjust", data={
        "csrf_token": csrf_from(again.text), "state": state.group(1), "op": "merge:1"})
    assert "edited since it was imported" in merged.text
    state = STATE.search(merged.text)
    assert state is not None
    refused = editor.post("/admin/import/accept", data={
        "csrf_token": csrf_from(merged.text), "state": state.group(1)})
    assert refused.status_code == 409
    assert "Staff note." in edited.read_text(encoding="utf-8")


def test_issues_are_added_moved_and_deleted_and_each_change_is_audited(
    server: ConsoleServer, editor: httpx.Client,
) -> None:
    def post(path: str, **data: str) -> httpx.Response:
        page = editor.get("/admin/series/care")
        seen = SEEN.search(page.text)
        assert seen is not None
        return editor.post(path, data={"csrf_token": csrf_from(page.text),
                                       "seen": seen.group(1), **data})

    assert post("/admin/series/care/issues/add", title="Flare-ups", at="2").status_code == 303
    assert titles(server, "care") == ["Part 1", "Flare-ups", "Part 2", "Part 3"]
    assert post("/admin/series/care/issues/4/move", to="3").status_code == 303
    assert titles(server, "care") == ["Part 1", "Flare-ups", "Part 3", "Part 2"]
    assert post("/admin/series/care/issues/2/delete").status_code == 303
    assert titles(server, "care") == ["Part 1", "Part 3", "Part 2"]
    assert list((server.root / "issues" / "care" / ".replaced").glob("*/02-flare-ups.md"))
    done = actions(server)
    for expected in [("issue.add", "care"), ("issue.move", "care #4"),
                     ("issue.delete", "care #2")]:
        assert expected in done


def test_a_scheduled_issue_keeps_its_number_and_a_stale_page_is_refused(
    server: ConsoleServer, editor: httpx.Client,
) -> None:
    scheduled = server.cli().run("schedule", "care", "2", "--at", "2027-01-12 09:00")
    assert scheduled.exit_code == 0, scheduled.output
    page = editor.get("/admin/series/care")
    seen = SEEN.search(page.text)
    assert seen is not None
    token = csrf_from(page.text)
    before = titles(server, "care")
    moved = editor.post("/admin/series/care/issues/3/move", data={
        "csrf_token": token, "seen": seen.group(1), "to": "2"}, follow_redirects=True)
    assert "is scheduled for 2027-01-12 09:00" in moved.text
    assert "Nothing was changed." in moved.text
    assert titles(server, "care") == before
    confirm = editor.get("/admin/series/care/issues/2/delete")
    assert "It cannot be deleted" in confirm.text
    opened = editor.get("/admin/series/care/issues/2")
    assert "This issue is scheduled for 2027-01-12 09:00" in opened.text
    # A page from before a change is refused: someone else may have moved things.
    (server.root / "issues" / "care" / "01-part-1.md").write_text(
        (server.root / "issues" / "care" / "01-part-1.md").read_text() + "\nMore.\n")
    stale = editor.post("/admin/series/care/issues/3/delete", data={
        "csrf_token": token, "seen": seen.group(1)}, follow_redirects=True)
    assert "changed since the page was loaded" in stale.text
    assert titles(server, "care") == before


@pytest.mark.parametrize("path", [
    "/admin/series/care/issues/1", "/admin/series/care/issues/add",
    "/admin/series/care/issues/1/move", "/admin/series/care/issues/1/delete",
    "/admin/import/propose", "/admin/import/adjust", "/admin/import/accept",
])
def test_every_series_change_without_the_csrf_token_is_refused(
    server: ConsoleServer, editor: httpx.Client, path: str,
) -> None:
    folder = server.root / "issues" / "care"
    before = sorted((p.name, p.read_bytes()) for p in folder.glob("*.md"))
    answer = editor.post(path, data={"action": "save", "title": "X", "subject": "X", "to": "2",
                                     "series": "nope", "article": "# A\n\nB.\n"})
    assert answer.status_code == 403
    assert sorted((p.name, p.read_bytes()) for p in folder.glob("*.md")) == before
    assert not (server.root / "issues" / "nope").exists()


def test_a_file_broken_on_the_server_is_shown_at_its_line_and_repaired_as_text(
    server: ConsoleServer, editor: httpx.Client,
) -> None:
    builder.write_series(server.root, "broken", "Broken", [
        builder.IssueSpec("One", "One", "", "Text.")])
    path = server.root / "issues" / "broken" / "01-part-1.md"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "subject: One", "subject: One: the start"), encoding="utf-8")
    listed = editor.get("/admin/series")
    assert "broken" in listed.text
    assert "cannot be read" in listed.text
    series = editor.get("/admin/series/broken")
    assert series.status_code == 422
    assert '<span class="bad-line"><span class="lineno">3</span> subject: One: the start' in (
        series.text)
    assert 'href="/admin/series/broken/files/01-part-1.md"' in series.text
    page = editor.get("/admin/series/broken/files/01-part-1.md")
    assert "put the subject in quotes" in page.text
    loaded = re.search(r'name="loaded_hash" value="([0-9a-f]{64})"', page.text)
    assert loaded is not None
    fixed = path.read_text(encoding="utf-8").replace(
        "subject: One: the start", "subject: 'One: the start'")
    answer = editor.post("/admin/series/broken/files/01-part-1.md", data={
        "csrf_token": csrf_from(page.text), "loaded_hash": loaded.group(1), "text": fixed})
    assert answer.status_code == 303
    assert read_series(server.root / "issues" / "broken").issue(1).subject == "One: the start"
    assert ("issue.repair", "broken/01-part-1.md") in actions(server)
