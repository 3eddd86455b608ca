"""Staff management and the audit log over HTTP, as an owner uses them, against a real server.

Each page calls the same service as `newsletter staff`; these tests check the
page's side: POST → 303 → a message on the next page, a generated password
shown once, the last owner kept, a removal asked for first, and the audit log
naming who did what from where.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.console import (
    PASSWORD,
    ConsoleServer,
    console_project,
    login,
    try_login,
    with_csrf,
)

OWNER = "owner@clinic.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = console_project(tmp_path_factory.mktemp("console-staff") / "project")
    with ConsoleServer(root) as running:
        running.add_staff(OWNER, "owner")
        yield running


@pytest.fixture
def owner(server: ConsoleServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        login(client, OWNER)
        yield client


def post(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    return client.post(path, data=with_csrf(client, data, "/admin/staff"))


def test_adding_with_a_typed_password_redirects_and_says_so_once(
    server: ConsoleServer, owner: httpx.Client
) -> None:
    done = post(owner, "/admin/staff/add",
                {"email": "Typed@Clinic.example", "role": "editor", "password": PASSWORD})
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/staff"
    page = owner.get("/admin/staff").text
    assert "Added typed@clinic.example as editor." in page
    assert "Added typed@clinic.example" not in owner.get("/admin/staff").text  # shown once
    with server.client() as typed:
        login(typed, "typed@clinic.example")


def test_a_generated_password_is_shown_on_the_answer_only_and_it_works(
    server: ConsoleServer, owner: httpx.Client
) -> None:
    answer = post(owner, "/admin/staff/add",
                  {"email": "viv@clinic.example", "role": "viewer", "password": ""})
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    generated = re.search(r'id="generated"[^>]*value="([^"]+)"', answer.text)
    assert generated
    assert generated.group(1) not in owner.get("/admin/staff").text
    with server.client() as viv:
        login(viv, "viv@clinic.example", generated.group(1))


def test_a_new_password_from_the_staff_page_logs_the_person_out(
    server: ConsoleServer, owner: httpx.Client
) -> None:
    server.add_staff("reset@clinic.example", "editor")
    with server.client() as reset:
        login(reset, "reset@clinic.example")
        answer = post(owner, "/admin/staff/password", {"email": "reset@clinic.example"})
        assert answer.status_code == 200
        assert "shown <strong>only this once</strong>" in answer.text
        assert reset.get("/admin").status_code == 303  # their session has ended
        assert try_login(reset, "reset@clinic.example", PASSWORD).status_code == 401


def test_the_last_owner_cannot_be_demoted_and_the_page_says_why(
    owner: httpx.Client,
) -> None:
    done = post(owner, "/admin/staff/role", {"email": OWNER, "role": "editor"})
    assert done.status_code == 303
    page = owner.get("/admin/staff").text
    assert "is the only owner" in page
    assert 'role="alert"' in page
    assert owner.get("/admin/staff").status_code == 200  # still an owner


def test_removal_is_asked_for_first_then_done(server: ConsoleServer, owner: httpx.Client) -> None:
    server.add_staff("gone@clinic.example", "editor")
    question = owner.get("/admin/staff/remove", params={"email": "gone@clinic.example"})
    assert question.status_code == 200
    assert "Remove gone@clinic.example?" in question.text
    assert "gone@clinic.example" in owner.get("/admin/staff").text  # asking removed nothing
    done = post(owner, "/admin/staff/remove", {"email": "gone@clinic.example"})
    assert done.status_code == 303
    assert "Removed gone@clinic.example." in owner.get("/admin/staff").text
    with server.client() as gone:
        assert try_login(gone, "gone@clinic.example", PASSWORD).status_code == 401


def test_the_audit_log_shows_who_did_what_from_where(owner: httpx.Client) -> None:
    post(owner, "/admin/staff/add",
         {"email": "audited@clinic.example", "role": "editor", "password": PASSWORD})
    post(owner, "/admin/staff/role", {"email": "audited@clinic.example", "role": "viewer"})
    page = owner.get("/admin/audit").text
    rows = re.findall(r"<tr role=\"row\">(.*?)</tr>", page, re.DOTALL)
    cells = [re.sub(r"<[^>]+>", "", row) for row in rows[1:]]  # the header row first
    assert "staff.role" in cells[0]
    assert "editor → viewer" in cells[0]
    assert OWNER in cells[0]
    assert "127.0.0.1" in cells[0]
    assert "staff.add" in cells[1]
    assert any("login" in cell for cell in cells)
    assert any("command line (" in cell for cell in cells)  # the owner made by the CLI


def test_anyone_changes_their_own_password_and_their_other_logins_end(
    server: ConsoleServer,
) -> None:
    server.add_staff("self@clinic.example", "viewer")
    with server.client() as here, server.client() as elsewhere:
        login(here, "self@clinic.example")
        login(elsewhere, "self@clinic.example")
        wrong = here.post("/admin/account/password", data=with_csrf(here, {
            "current_password": "not it at all", "new_password": "a brand new passphrase",
            "new_password_again": "a brand new passphrase"}, "/admin/account"))
        assert wrong.status_code == 303
        assert "current password is not right" in here.get("/admin/account").text
        done = here.post("/admin/account/password", data=with_csrf(here, {
            "current_password": PASSWORD, "new_password": "a brand new passphrase",
            "new_password_again": "a brand new passphrase"}, "/admin/account"))
        assert done.status_code == 303
        assert "Your password is changed" in here.get("/admin/account").text
        assert here.get("/admin").status_code == 200  # this login stays
        assert elsewhere.get("/admin").status_code == 303  # the other one has ended
    with server.client() as again:
        assert try_login(again, "self@clinic.example", PASSWORD).status_code == 401
        login(again, "self@clinic.example", "a brand new passphrase")


def test_an_owner_is_sent_to_their_own_account_page_for_their_own_password(
    owner: httpx.Client,
) -> None:
    answer = post(owner, "/admin/staff/password", {"email": OWNER})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/account"
    assert owner.get("/admin").status_code == 200  # nothing reset, still logged in
