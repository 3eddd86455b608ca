"""The subscriber pages over HTTP against a real `newsletter serve`: roles, CSRF, exports, erasure.

Viewers search and read; editors also add, export the filter as CSV and
download one person's data as JSON; only owners erase. Every change and
export is in the audit log, naming the person by public id, never by address.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.console import ConsoleServer, console_project, login, with_csrf

OWNER, EDITOR, VIEWER = "owner@clinic.example", "ed@clinic.example", "vi@clinic.example"
LIST = "clinic-news"
PERSON_LINK = re.compile(r'href="/admin/subscribers/([A-Za-z0-9_-]{16,43})"')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = console_project(tmp_path_factory.mktemp("console-subscribers") / "project")
    with ConsoleServer(root) as running:
        for email, role in ((OWNER, "owner"), (EDITOR, "editor"), (VIEWER, "viewer")):
            running.add_staff(email, role)
        sheet = root / "people.csv"
        rows = ["email,name"] + [f"reader{n:02d}@example.org,Reader {n:02d}" for n in range(60)]
        rows.append("formula@example.org,=SUM(A1:A9)")
        sheet.write_text("\n".join(rows) + "\n", encoding="utf-8")
        result = running.cli().run("subscribers", "import", str(sheet), "--list", LIST)
        assert "61 added" in result.output, result.output
        yield running


@pytest.fixture
def clients(server: ConsoleServer) -> Iterator[dict[str, httpx.Client]]:
    made = {role: server.client() for role in ("owner", "editor", "viewer")}
    for role, email in (("owner", OWNER), ("editor", EDITOR), ("viewer", VIEWER)):
        login(made[role], email)
    yield made
    for client in made.values():
        client.close()


def post(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    return client.post(path, data=with_csrf(client, data, "/admin/subscribers"))


def person_id(client: httpx.Client, search: str) -> str:
    found = PERSON_LINK.findall(client.get("/admin/subscribers", params={"q": search}).text)
    assert len(found) == 1, f"{search}: {found}"
    return str(found[0])


def test_pages_go_forward_and_back_by_key_never_by_offset(
    clients: dict[str, httpx.Client],
) -> None:
    viewer = clients["viewer"]
    first = viewer.get("/admin/subscribers", params={"q": "reader"})
    assert first.status_code == 200
    assert "60 people match this search" in first.text
    assert 'rel="prev"' not in first.text
    following = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert following
    assert "after=" in following.group(1)
    assert "offset" not in following.group(1)
    second = viewer.get(following.group(1).replace("&amp;", "&"))
    shown_first, shown_second = (set(PERSON_LINK.findall(r.text)) for r in (first, second))
    assert len(shown_first) == 50
    assert len(shown_second) == 10
    assert not shown_first & shown_second
    back = re.search(r'href="([^"]+)" rel="prev"', second.text)
    assert back
    assert "before=" in back.group(1)
    again = viewer.get(back.group(1).replace("&amp;", "&"))
    assert set(PERSON_LINK.findall(again.text)) == shown_first


def test_bad_filters_and_damaged_page_links_answer_400_with_the_reason(
    clients: dict[str, httpx.Client],
) -> None:
    viewer = clients["viewer"]
    bad_date = viewer.get("/admin/subscribers", params={"from": "2026-02-30"})
    assert bad_date.status_code == 400
    assert "Joined from: &#39;2026-02-30&#39; is not a date" in bad_date.text
    assert viewer.get("/admin/subscribers", params={"after": "junk"}).status_code == 400
    assert viewer.get("/admin/subscribers", params={"status": "lost"}).status_code == 400
    assert viewer.get("/admin/subscribers/nobody-has-this-id-at-all").status_code == 404


def test_a_viewer_reads_but_cannot_add_export_or_erase(
    server: ConsoleServer, clients: dict[str, httpx.Client],
) -> None:
    viewer = clients["viewer"]
    someone = person_id(viewer, "reader07@")
    page = viewer.get(f"/admin/subscribers/{someone}")
    assert page.status_code == 200
    assert "Imported from a CSV file" in page.text
    assert "people.csv:9" in page.text
    assert "Download their data" not in page.text
    assert "Erase…" not in page.text
    assert viewer.get("/admin/subscribers/add").status_code == 403
    refused = [
        post(viewer, "/admin/subscribers/add", {"email": "v@example.org", "list": LIST}),
        post(viewer, "/admin/subscribers/export", {}),
        post(viewer, f"/admin/subscribers/{someone}/export", {}),
        post(viewer, f"/admin/subscribers/{someone}/erase", {"confirm_email": "x"}),
    ]
    assert [r.status_code for r in refused] == [403] * 4
    assert "v@example.org" not in viewer.get("/admin/subscribers?q=v@example").text


def test_an_editor_adds_a_person_who_agreed_on_paper_and_the_reason_is_in_their_trail(
    clients: dict[str, httpx.Client],
) -> None:
    editor, owner = clients["editor"], clients["owner"]
    missing = post(editor, "/admin/subscribers/add", {
        "email": "paper@example.org", "list": LIST, "mode": "consented", "reason": " "})
    assert missing.status_code == 400
    assert "Say how and when the person agreed" in missing.text
    assert 'value="paper@example.org"' in missing.text  # what was typed stays
    done = post(editor, "/admin/subscribers/add", {
        "email": "Paper@Example.org", "name": "Pat Paper", "list": LIST, "mode": "consented",
        "reason": "Signed the newsletter box on the intake form, 2 Dec"})
    assert done.status_code == 303
    public_id = done.headers["location"].rsplit("/", 1)[1]
    page = editor.get(done.headers["location"]).text
    assert "Added paper@example.org as subscribed" in page
    assert "who states: Signed the newsletter box on the intake form, 2 Dec" in page
    again = post(editor, "/admin/subscribers/add", {
        "email": "paper@example.org", "list": LIST, "mode": "confirm"})
    assert again.status_code == 409
    assert "already subscribed" in again.text
    assert f"/admin/subscribers/{public_id}" in again.text
    log = owner.get("/admin/audit").text
    assert "subscriber.add" in log
    assert public_id in log
    assert "paper@example.org" not in log


def test_adding_by_default_queues_a_confirmation_email(
    server: ConsoleServer, clients: dict[str, httpx.Client],
) -> None:
    done = post(clients["editor"], "/admin/subscribers/add", {
        "email": "double@example.org", "list": LIST, "mode": "confirm"})
    assert done.status_code == 303
    page = clients["editor"].get(done.headers["location"]).text
    assert "a confirmation email is on its way" in page
    assert "Confirmation email sent" in page
    assert "pending" in page


def test_a_bad_address_is_refused_with_the_reason(clients: dict[str, httpx.Client]) -> None:
    answer = post(clients["editor"], "/admin/subscribers/add", {
        "email": "someone@localhost", "list": LIST, "mode": "confirm"})
    assert answer.status_code == 400
    assert 'role="alert"' in answer.text


def test_a_post_without_the_csrf_token_is_refused_and_adds_nobody(
    clients: dict[str, httpx.Client],
) -> None:
    editor = clients["editor"]
    answer = editor.post("/admin/subscribers/add", data={
        "email": "sneaky@example.org", "list": LIST, "mode": "consented", "reason": "x"})
    assert answer.status_code == 403
    assert "No matches" not in editor.get("/admin/subscribers?q=sneaky").text
    assert not PERSON_LINK.findall(editor.get("/admin/subscribers?q=sneaky").text)


def test_the_csv_export_has_every_page_guards_formulas_and_is_audited(
    clients: dict[str, httpx.Client],
) -> None:
    answer = post(clients["editor"], "/admin/subscribers/export", {"q": "example.org"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["email", "name", "time_zone", "list", "status"]
    emails = {row[0] for row in rows[1:]}
    assert {f"reader{n:02d}@example.org" for n in range(60)} <= emails
    formula = next(row for row in rows if row[0] == "formula@example.org")
    assert formula[1] == "'=SUM(A1:A9)"
    log = clients["owner"].get("/admin/audit").text
    assert "subscribers.export" in log
    assert "search text (11 characters)" in log


def test_one_persons_data_downloads_as_json_and_is_audited(
    clients: dict[str, httpx.Client],
) -> None:
    someone = person_id(clients["editor"], "reader03@")
    answer = post(clients["editor"], f"/admin/subscribers/{someone}/export", {})
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    data = json.loads(answer.text)
    assert data["email"] == "reader03@example.org"
    assert data["consent_records"][0]["event"] == "import"
    log = clients["owner"].get("/admin/audit").text
    assert "subscriber.export" in log
    assert someone in log


def test_only_an_owner_erases_after_typing_the_address_and_a_reimport_does_not_bring_them_back(
    server: ConsoleServer, clients: dict[str, httpx.Client], tmp_path: Path,
) -> None:
    owner, editor = clients["owner"], clients["editor"]
    someone = person_id(owner, "reader11@")
    assert editor.get(f"/admin/subscribers/{someone}/erase").status_code == 403
    assert post(editor, f"/admin/subscribers/{someone}/erase",
                {"confirm_email": "reader11@example.org"}).status_code == 403
    question = owner.get(f"/admin/subscribers/{someone}/erase")
    assert question.status_code == 200
    assert "Type their email address" in question.text
    wrong = post(owner, f"/admin/subscribers/{someone}/erase",
                 {"confirm_email": "reader12@example.org"})
    assert wrong.status_code == 400
    assert "nothing was erased" in wrong.text
    assert owner.get(f"/admin/subscribers/{someone}").status_code == 200
    done = post(owner, f"/admin/subscribers/{someone}/erase",
                {"confirm_email": " Reader11@Example.org "})
    assert done.status_code == 303
    assert owner.get(f"/admin/subscribers/{someone}").status_code == 404
    assert not PERSON_LINK.findall(owner.get("/admin/subscribers?q=reader11@").text)
    sheet = tmp_path / "again.csv"
    sheet.write_text("email\nreader11@example.org\n", encoding="utf-8")
    result = server.cli().run("subscribers", "import", str(sheet), "--list", LIST)
    assert "0 added" in result.output
    assert "1 suppressed (kept out)" in result.output
    assert not PERSON_LINK.findall(owner.get("/admin/subscribers?q=reader11@").text)
    erased = owner.get("/admin/subscribers", params={"status": "erased"}).text
    assert "reader11" not in erased
    check = owner.get("/admin/subscribers",
                      params={"status": "erased", "q": "Reader11@example.org"}).text
    assert "This address was erased." in check
    assert "person was erased" in erased
    log = owner.get("/admin/audit").text
    assert "subscriber.erase" in log
    assert someone in log
    assert "reader11@" not in log
    refused = post(editor, "/admin/subscribers/add", {
        "email": "reader11@example.org", "list": LIST, "mode": "consented", "reason": "x"})
    assert refused.status_code == 409
    assert "was erased on" in refused.text


def test_the_person_route_leaves_the_import_pages_to_their_own_router(
    clients: dict[str, httpx.Client],
) -> None:
    for path in ("/admin/subscribers/import", "/admin/subscribers/import/preview"):
        answer = clients["editor"].get(path)
        assert "Back to the subscribers" not in answer.text, path  # not the person page's 404
