"""The CSV import pages over HTTP on a real server: roles, CSRF, dry run, import, limits."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from newsletter.accounts.audit import recent_actions
from newsletter.audience import import_jobs
from newsletter.db.models import ImportJob, Subscriber
from tests.support.console import ConsoleServer, console_project, csrf_token, login

EDITOR, VIEWER = "editor@clinic.example", "viewer@clinic.example"
LIMIT = 100_000
LIST = "clinic-news"
TWO_BAD = (
    "email;name\n"
    "ana@example.com;Ana\n"
    "not-an-address;Bob\n"
    "bo@example.com;Bo\n"
    "cy@example;Cy\n"
    "dee@example.com;Dee\n"
)
IMPORT = "/admin/subscribers/import"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = console_project(tmp_path_factory.mktemp("console-import") / "project")
    with ConsoleServer(root, env={"NEWSLETTER_CONSOLE_IMPORT_MAX_BYTES": str(LIMIT)}) as running:
        running.add_staff(EDITOR, "editor")
        running.add_staff(VIEWER, "viewer")
        yield running


@pytest.fixture
def editor(server: ConsoleServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        login(client, EDITOR)
        yield client


def upload(client: httpx.Client, data: bytes, name: str = "people.csv", *,
           token: str | None = None, basis: str = "") -> httpx.Response:
    fields = {"list": LIST, "basis": basis,
              "csrf_token": csrf_token(client, IMPORT) if token is None else token}
    return client.post(IMPORT, data=fields, files={"file": (name, data, "text/csv")})


def jobs(server: ConsoleServer) -> int:
    with server.app() as app, app.sessions() as session:
        return int(session.scalar(select(func.count(ImportJob.id))) or 0)


def people(server: ConsoleServer) -> set[str]:
    with server.app() as app, app.sessions() as session:
        return set(session.scalars(select(Subscriber.email)))


def finished(client: httpx.Client, url: str) -> str:
    """The job page once the import ended (the server's thread runs it)."""
    for _attempt in range(300):
        text = client.get(url).text
        if "badge-sending" not in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"the import at {url} did not end")


def test_an_editor_checks_a_file_sees_two_refused_lines_then_imports_it(
    server: ConsoleServer, editor: httpx.Client
) -> None:
    before = people(server)
    answer = upload(editor, TWO_BAD.encode(), "front-desk.csv", basis="paper form")
    assert answer.status_code == 303, answer.text
    url = answer.headers["location"]
    assert re.fullmatch(r"/admin/subscribers/import/[A-Za-z0-9_-]{32}", url)
    report = editor.get(url).text
    assert "Dry run: nothing has been written yet" in report
    assert re.search(r'<td class="num">3</td><td>not-an-address: ', report)
    assert re.search(r'<td class="num">5</td><td>cy@example: ', report)
    assert "Import these 3 people" in report
    assert people(server) == before  # the dry run wrote nobody
    ran = editor.post(url + "/run", data={"csrf_token": csrf_token(editor, url)})
    assert (ran.status_code, ran.headers["location"]) == (303, url)
    done = finished(editor, url)
    assert "Imported 3 people into clinic-news" in done
    assert people(server) - before == {"ana@example.com", "bo@example.com", "dee@example.com"}
    with server.app() as app:
        actions = [(entry.action, entry.actor) for entry in recent_actions(app, limit=2)]
    assert actions == [("subscribers.import", EDITOR), ("subscribers.import_checked", EDITOR)]
    # The same file again: nobody new, so no import button.
    again = editor.get(upload(editor, TWO_BAD.encode()).headers["location"]).text
    assert "Nobody new to import" in again
    assert "Import these" not in again


def test_a_viewer_can_neither_see_the_import_nor_upload(
    server: ConsoleServer
) -> None:
    with server.client() as viewer:
        login(viewer, VIEWER)
        assert viewer.get(IMPORT).status_code == 403
        count = jobs(server)
        refused = upload(viewer, TWO_BAD.encode(), token=csrf_token(viewer, "/admin"))
        assert refused.status_code == 403
        assert jobs(server) == count


def test_nobody_logged_in_is_sent_to_the_login_page(server: ConsoleServer) -> None:
    with server.client() as anonymous:
        answer = anonymous.get(IMPORT)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/admin/login?next=/admin/subscribers/import"


def test_an_upload_without_the_csrf_token_is_refused_and_nothing_is_kept(
    server: ConsoleServer, editor: httpx.Client
) -> None:
    count = jobs(server)
    refused = upload(editor, TWO_BAD.encode(), token="not-the-token-0123456789")
    assert refused.status_code == 403
    assert "This form has expired" in refused.text
    assert jobs(server) == count


def test_a_file_over_the_limit_gets_a_413_page_that_names_the_limit(
    server: ConsoleServer, editor: httpx.Client
) -> None:
    count = jobs(server)
    just_over = b"email\n" + b"a@example.com\n" * (LIMIT // 14 + 10)
    answer = upload(editor, just_over, "huge.csv")
    assert answer.status_code == 413
    assert "huge.csv is larger than 100 kB, the most the console imports at once" in answer.text
    assert 'id="import-file"' in answer.text  # the form, to choose another file
    far_over = b"email\n" + b"a@example.com\n" * (LIMIT // 2)
    answer = upload(editor, far_over, "huger.csv")
    assert answer.status_code == 413
    assert "The request is too large: this address accepts at most" in answer.text
    assert jobs(server) == count


@pytest.mark.parametrize(("data", "words"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "picture.csv: not UTF-8 text"),
    ("email,name\ncaf\u00e9@example.com,Ren\u00e9e\n".encode("latin-1"),
     "picture.csv: not UTF-8 text"),
    (b"mail,name\na@example.com,A\n", "picture.csv:1: the header row has no &#39;email&#39;"),
])
def test_a_file_that_is_not_a_csv_of_people_gets_a_clear_error_not_a_500(
    server: ConsoleServer, editor: httpx.Client, data: bytes, words: str
) -> None:
    answer = upload(editor, data, "picture.csv")
    assert answer.status_code == 400
    assert words in answer.text
    assert 'role="alert"' in answer.text


def test_the_form_asks_for_a_file_when_none_was_chosen(
    server: ConsoleServer, editor: httpx.Client
) -> None:
    answer = editor.post(IMPORT, data={"list": LIST, "csrf_token": csrf_token(editor, IMPORT)})
    assert answer.status_code == 400
    assert "Choose a CSV file to upload." in answer.text


def test_a_discarded_file_is_gone_and_cannot_be_imported(
    server: ConsoleServer, editor: httpx.Client
) -> None:
    url = upload(editor, b"email\nnever@example.com\n").headers["location"]
    answer = editor.post(url + "/discard", data={"csrf_token": csrf_token(editor, url)})
    assert (answer.status_code, answer.headers["location"]) == (303, IMPORT)
    assert "nobody was imported and the file is deleted" in editor.get(IMPORT).text
    editor.post(url + "/run", data={"csrf_token": csrf_token(editor, url)})
    assert "never@example.com" not in people(server)
    assert "cannot be imported: it is discarded" in editor.get(url).text


def test_the_progress_fragment_shows_a_running_import_and_asks_for_a_reload_when_it_ends(
    server: ConsoleServer, editor: httpx.Client
) -> None:
    url = upload(editor, b"email\nprogress@example.com\n").headers["location"]
    token = url.rsplit("/", 1)[1]
    with server.app() as app:
        assert import_jobs.claim(app, token)  # running, as a thread would see it at its start
    fragment = editor.get(url + "/progress", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert '<progress id="import-progress" max="1" value="0">' in fragment.text
    assert '<label for="import-progress"' in fragment.text
    page = editor.get(url).text
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    with server.app() as app:
        import_jobs.run_import(app, token)
    ended = editor.get(url + "/progress", headers={"HX-Request": "true"})
    assert (ended.status_code, ended.headers.get("HX-Refresh")) == (204, "true")
    assert "Imported 1 person into clinic-news" in editor.get(url).text


def test_an_unknown_import_address_is_a_404(server: ConsoleServer, editor: httpx.Client) -> None:
    assert editor.get(IMPORT + "/no-such-import").status_code == 404
    assert editor.get(IMPORT + "/..%2F..%2Fsecret").status_code == 404
