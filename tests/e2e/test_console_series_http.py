"""The series pages over HTTP on a real server: conflicts refused, errors at the line, roles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from newsletter.content.issuefile import read_series
from tests.support import project as builder
from tests.support.console import ConsoleServer, console_project, csrf_from, login

PACKAGE_ISSUE = Path("newsletter/templates/email/issue.mjml.j2").resolve()
EDITOR = "ed@clinic.example"
VIEWER = "vi@clinic.example"
HASH = re.compile(r'name="loaded_hash" value="([0-9a-f]{64})"')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = console_project(tmp_path_factory.mktemp("console") / "project")
    builder.write_series(root, "pacing", "Pacing", [
        builder.IssueSpec("Start small", "Start small", "Why less is more", "Do a little.",
                          front={"author": "Dr Lee"}),
        builder.IssueSpec("Build up", "Build up", "Adding a little", "Then add more."),
    ], time_zone="Europe/Berlin")
    builder.write_series(root, "steps", "Steps", [
        builder.IssueSpec("One", "One", "", "First step."),
    ], mode="drip", cadence_days=3, send_time="08:30")
    # A series template that shows the author (line 25): the front matter must have one.
    lines = PACKAGE_ISSUE.read_text(encoding="utf-8").split("\n")
    lines.insert(24, "{% if issue.position == 1 %}<mj-text>Written by {{ issue.author }}"
                     "</mj-text>{% endif %}")
    template = root / "issues" / "pacing" / "templates" / "email" / "issue.mjml.j2"
    template.parent.mkdir(parents=True)
    template.write_text("\n".join(lines), encoding="utf-8")
    with ConsoleServer(root) as running:
        running.add_staff(EDITOR, "editor")
        running.add_staff(VIEWER, "viewer")
        yield running


@pytest.fixture
def editor(server: ConsoleServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        login(client, EDITOR)
        yield client


@pytest.fixture
def viewer(server: ConsoleServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        login(client, VIEWER)
        yield client


def editor_form(server: ConsoleServer, client: httpx.Client, n: int = 1) -> dict[str, str]:
    """The editor's form for issue ``n`` of pacing as the page gives it (token, hash, fields)."""
    page = client.get(f"/admin/series/pacing/issues/{n}")
    assert page.status_code == 200
    issue = read_series(server.root / "issues" / "pacing").issue(n)
    loaded = HASH.search(page.text)
    assert loaded is not None
    return {"csrf_token": csrf_from(page.text), "loaded_hash": loaded.group(1),
            "title": issue.title, "subject": issue.subject, "preheader": issue.preheader,
            "body": issue.body, "extra": "author: Dr Lee" if issue.extra else ""}


def test_the_series_list_shows_mode_list_zone_and_cadence(viewer: httpx.Client) -> None:
    page = viewer.get("/admin/series")
    assert page.status_code == 200
    text = re.sub(r"<[^>]+>", " ", page.text)
    for expected in ("Pacing", "broadcast", "Riverside Clinic News", "Europe/Berlin",
                     "a date picked for each issue", "nothing scheduled", "Steps", "drip",
                     "3 days after the previous part at 08:30", "when someone subscribes"):
        assert expected in text, expected


def test_a_save_over_a_file_changed_on_disk_is_refused_and_both_versions_are_shown(
    server: ConsoleServer, editor: httpx.Client,
) -> None:
    form = editor_form(server, editor, n=2)
    path = server.root / "issues" / "pacing" / "02-part-2.md"
    theirs = path.read_text(encoding="utf-8").replace("Then add more.", "Changed on the server.")
    path.write_text(theirs, encoding="utf-8")
    answer = editor.post("/admin/series/pacing/issues/2",
                         data={**form, "body": "My new text.", "action": "save"})
    assert answer.status_code == 409
    assert "the file changed since you opened it" in answer.text
    assert "Changed on the server." in answer.text  # on disk now
    assert "My new text." in answer.text  # yours, not saved
    assert path.read_text(encoding="utf-8") == theirs


def test_a_yaml_error_is_shown_at_its_line_and_nothing_is_saved(
    server: ConsoleServer, editor: httpx.Client,
) -> None:
    path = server.root / "issues" / "pacing" / "01-part-1.md"
    before = path.read_bytes()
    form = editor_form(server, editor)
    answer = editor.post("/admin/series/pacing/issues/1", data={
        **form, "extra": "author: Dr Lee\nnote: Pain: what it is", "action": "save"})
    assert answer.status_code == 422
    assert "Other front matter, line 2:" in answer.text
    assert 'class="bad-line"><span class="lineno">2</span> note: Pain: what it is' in answer.text
    assert "put the note in quotes" in answer.text
    assert path.read_bytes() == before


def test_a_template_error_is_shown_at_the_template_line_before_saving(
    server: ConsoleServer, editor: httpx.Client,
) -> None:
    path = server.root / "issues" / "pacing" / "01-part-1.md"
    before = path.read_bytes()
    form = editor_form(server, editor)
    answer = editor.post("/admin/series/pacing/issues/1/preview", data={**form, "extra": ""},
                         headers={"HX-Request": "true", "X-CSRF-Token": form["csrf_token"]})
    assert answer.status_code == 200
    assert "issues/pacing/templates/email/issue.mjml.j2, line 25:" in answer.text
    assert "author" in answer.text
    assert '<span class="lineno">25</span> {% if issue.position == 1 %}' in answer.text
    saved = editor.post("/admin/series/pacing/issues/1", data={
        **form, "extra": "", "action": "save"})
    assert saved.status_code == 422
    assert path.read_bytes() == before


def test_a_save_writes_the_file_and_the_preview_frame_has_its_own_policy(
    server: ConsoleServer, editor: httpx.Client,
) -> None:
    form = editor_form(server, editor, n=2)
    answer = editor.post("/admin/series/pacing/issues/2", data={
        **form, "subject": "Build up, slowly", "action": "save"})
    assert answer.status_code == 303
    assert read_series(server.root / "issues" / "pacing").issue(2).subject == "Build up, slowly"
    page = editor.get("/admin/series/pacing/issues/2")
    key = re.search(r'src="(/admin/preview/[0-9a-f]+)"', page.text)
    assert key is not None
    frame = editor.get(key.group(1))
    assert frame.status_code == 200
    assert "<title>Build up, slowly (part 2 of 2)</title>" in frame.text
    assert "style-src 'unsafe-inline'" in frame.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in frame.headers["content-security-policy"]
    assert frame.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_a_viewer_reads_but_cannot_save_add_move_or_delete(
    server: ConsoleServer, viewer: httpx.Client,
) -> None:
    page = viewer.get("/admin/series/pacing/issues/1")
    assert page.status_code == 200
    assert "<fieldset disabled>" in page.text
    assert 'value="save"' not in page.text
    before = sorted((p.name, p.read_bytes()) for p in (server.root / "issues" / "pacing").glob(
        "*.md"))
    token = csrf_from(page.text)
    loaded = HASH.search(page.text)
    assert loaded is not None
    for path, data in [
        ("/admin/series/pacing/issues/1", {"action": "save", "title": "X", "subject": "X",
                                           "loaded_hash": loaded.group(1)}),
        ("/admin/series/pacing/issues/add", {"title": "New"}),
        ("/admin/series/pacing/issues/2/move", {"to": "1"}),
        ("/admin/series/pacing/issues/2/delete", {}),
        ("/admin/import/propose", {"series": "x", "article": "# T\n\nA.\n"}),
    ]:
        answer = viewer.post(path, data={**data, "csrf_token": token})
        assert answer.status_code == 403, path
    after = sorted((p.name, p.read_bytes()) for p in (server.root / "issues" / "pacing").glob(
        "*.md"))
    assert after == before
