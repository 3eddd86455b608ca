"""The list pages and the form builder over HTTP, against a real ``newsletter serve``.

Roles, CSRF, bad input (a 4xx page that names the field, never a 500), the
audit log, and the embedding origins as CORS sees them at run time, also when
another process adds one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from newsletter.audience.origins import add_origin
from newsletter.content.lists import read_lists
from newsletter.db.models import AuditEntry
from tests.support.console import ConsoleServer, console_project, login, with_csrf
from tests.support.project import CLINIC_LIST

OWNER, EDITOR, VIEWER = "owner@clinic.example", "ed@clinic.example", "viv@clinic.example"
CONSENT = "I agree to get the clinic newsletter and can leave at any time."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = console_project(tmp_path_factory.mktemp("console-lists") / "project")
    with ConsoleServer(root) as running:
        for email, role in ((OWNER, "owner"), (EDITOR, "editor"), (VIEWER, "viewer")):
            running.add_staff(email, role)
        yield running


def client_of(server: ConsoleServer, email: str) -> Iterator[httpx.Client]:
    with server.client() as client:
        login(client, email)
        yield client


@pytest.fixture
def owner(server: ConsoleServer) -> Iterator[httpx.Client]:
    yield from client_of(server, OWNER)


@pytest.fixture
def editor(server: ConsoleServer) -> Iterator[httpx.Client]:
    yield from client_of(server, EDITOR)


@pytest.fixture
def viewer(server: ConsoleServer) -> Iterator[httpx.Client]:
    yield from client_of(server, VIEWER)


def post(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    return client.post(path, data=with_csrf(client, data, "/admin/lists"))


def new_list(slug: str, **changes: str) -> dict[str, str]:
    return {"slug": slug, "name": "Pain School", "description": "", "consent_text": CONSENT,
            "double_opt_in": "1", "thank_you_url": "", **changes}


def audit_entries(server: ConsoleServer, action: str) -> list[tuple[str, str, str]]:
    with server.app() as app, app.sessions() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                               .order_by(AuditEntry.id))
        return [(row.actor, row.target, row.detail) for row in rows]


def test_every_role_reads_the_lists_and_the_form_builder(viewer: httpx.Client) -> None:
    page = viewer.get("/admin/lists")
    assert page.status_code == 200
    assert "Riverside Clinic News" in page.text
    assert "New list" not in page.text  # viewers do not get the button
    form = viewer.get(f"/admin/lists/{CLINIC_LIST}/form")
    assert form.status_code == 200
    assert "Owners can add or remove websites." in form.text
    assert viewer.get("/admin/lists/new").status_code == 403


def test_a_viewer_cannot_change_a_list_and_an_editor_cannot_allow_a_website(
    server: ConsoleServer, viewer: httpx.Client, editor: httpx.Client
) -> None:
    before = (server.root / "subscribers" / "lists.toml").read_bytes()
    refused = post(viewer, f"/admin/lists/{CLINIC_LIST}", new_list(CLINIC_LIST, name="Mine"))
    assert refused.status_code == 403
    assert "Not allowed" in refused.text
    origin = post(editor, f"/admin/lists/{CLINIC_LIST}/form/origins",
                  {"action": "add", "origin": "https://editor.example"})
    assert origin.status_code == 403
    assert (server.root / "subscribers" / "lists.toml").read_bytes() == before


def test_a_change_without_the_csrf_token_is_refused_and_changes_nothing(
    server: ConsoleServer, editor: httpx.Client
) -> None:
    before = (server.root / "subscribers" / "lists.toml").read_bytes()
    answer = editor.post("/admin/lists/new", data=new_list("no-token"))
    assert answer.status_code == 403
    assert (server.root / "subscribers" / "lists.toml").read_bytes() == before


@pytest.mark.parametrize(("fields", "named"), [
    ({"slug": "Pain School"}, "Short name (slug)"),
    ({"slug": CLINIC_LIST}, "already exists"),
    ({"name": "   "}, "Name: give the list a name"),
    ({"consent_text": ""}, "Consent text: the consent text must not be empty"),
    ({"thank_you_url": "javascript:alert(1)"}, "Thank-you page: &#39;javascript:alert(1)&#39; "
                                               "is not a web address"),
    ({"thank_you_url": "ftp://clinic.example/x"}, "Thank-you page"),
    ({"name": "x" * 5000}, "Name: keep the name on one line"),
    ({"consent_text": "bad \x00 byte"}, "Consent text: keep the consent text"),
])
def test_bad_input_gets_a_400_page_naming_the_field_and_keeps_what_was_typed(
    server: ConsoleServer, editor: httpx.Client, fields: dict[str, str], named: str
) -> None:
    before = (server.root / "subscribers" / "lists.toml").read_bytes()
    answer = post(editor, "/admin/lists/new", {**new_list("pain-school"), **fields})
    assert answer.status_code == 400
    assert named in answer.text
    assert "Nothing was saved" in answer.text
    assert CONSENT in answer.text or fields.get("consent_text") is not None
    assert (server.root / "subscribers" / "lists.toml").read_bytes() == before


def test_an_editor_creates_and_edits_a_list_and_the_audit_log_says_so(
    server: ConsoleServer, editor: httpx.Client
) -> None:
    made = post(editor, "/admin/lists/new", new_list("back-school", name="Back School"))
    assert made.status_code == 303
    assert made.headers["location"] == "/admin/lists/back-school"
    page = editor.get("/admin/lists/back-school")
    assert "Created the list back-school." in page.text
    assert [c.slug for c in read_lists(server.root / "subscribers")][-1] == "back-school"
    form = editor.get("/admin/lists/back-school").text
    loaded = form.split('name="loaded" value="', 1)[1].split('"', 1)[0]
    edited = post(editor, "/admin/lists/back-school",
                  {**new_list("back-school", name="Back School"),
                   "consent_text": "A new wording.", "loaded": loaded})
    assert edited.status_code == 303
    page = editor.get("/admin/lists/back-school").text
    assert "consent text is now version 2" in page
    assert page.index("A new wording.") < page.index(CONSENT)  # newest version first
    assert audit_entries(server, "list.create")[-1][:2] == (EDITOR, "back-school")
    assert audit_entries(server, "list.edit")[-1] == (
        EDITOR, "back-school", "consent text; consent text is now version 2")
    stale = post(editor, "/admin/lists/back-school",
                 {**new_list("back-school"), "name": "Stale", "loaded": loaded})
    assert stale.status_code == 409
    assert "was changed since you opened it" in stale.text


def test_an_unknown_list_is_a_404_page(viewer: httpx.Client) -> None:
    for path in ("/admin/lists/nope", "/admin/lists/nope/form", "/admin/lists/nope/form/preview",
                 "/admin/lists/Bad_Slug"):
        answer = viewer.get(path)
        assert answer.status_code == 404, path
        assert "There is no list" in answer.text, path
    assert viewer.get("/admin/lists/NOPE%2F..").status_code == 404  # not even a slug


def test_the_builder_warns_while_base_url_is_loopback_and_the_snippet_follows_the_choices(
    viewer: httpx.Client,
) -> None:
    page = viewer.get(f"/admin/lists/{CLINIC_LIST}/form").text
    assert "This form would not work on a website yet." in page
    assert "name=&#34;name&#34;" in page or 'name="name"' in page
    plain = viewer.get(f"/admin/lists/{CLINIC_LIST}/form",
                       params={"shown": "1", "time_zone": "1"}).text
    snippet = plain.split('id="snippet"', 1)[1].split("</textarea>", 1)[0]
    assert "&lt;script&gt;" not in snippet
    assert "name=&#34;name&#34;" not in snippet
    assert 'name="name"' not in snippet
    assert "time_zone" in snippet


def test_the_preview_is_the_form_alone_with_its_own_strict_policy(viewer: httpx.Client) -> None:
    answer = viewer.get(f"/admin/lists/{CLINIC_LIST}/form/preview")
    assert answer.status_code == 200
    assert "<script" not in answer.text
    assert 'action="http://127.0.0.1' in answer.text
    policy = answer.headers["content-security-policy"]
    assert "form-action 'none'" in policy
    assert "frame-ancestors 'self'" in policy


def cors(server: ConsoleServer, origin: str) -> str | None:
    """The origin CORS allows for ``origin``'s preflight (no signup made, no rate limit met)."""
    with server.client() as client:
        answer = client.options("/subscribe", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
    assert answer.status_code in (200, 400)
    return answer.headers.get("access-control-allow-origin")


def cors_of_a_signup(server: ConsoleServer, origin: str) -> str | None:
    """The ``Access-Control-Allow-Origin`` of a real signup posted from ``origin``."""
    with server.client() as client:
        answer = client.post("/subscribe", data={"email": "cors@example.com",
                                                 "list": CLINIC_LIST},
                             headers={"Origin": origin, "Accept": "application/json"})
    assert answer.status_code == 202
    return answer.headers.get("access-control-allow-origin")


@pytest.mark.parametrize("typed", ["www.clinic.example", "https://clinic.example/signup",
                                   "https://clinic.example:70000", ""])
def test_a_bad_origin_gets_a_400_page_naming_the_field(
    owner: httpx.Client, typed: str
) -> None:
    answer = post(owner, f"/admin/lists/{CLINIC_LIST}/form/origins",
                  {"action": "add", "origin": typed})
    assert answer.status_code == 400
    assert "Website origin:" in answer.text


def test_an_origin_added_by_an_owner_is_allowed_by_cors_at_once_and_removed_again(
    server: ConsoleServer, owner: httpx.Client
) -> None:
    site = "https://www.riverside-clinic.example"
    assert cors(server, site) is None
    assert cors_of_a_signup(server, site) is None
    added = post(owner, f"/admin/lists/{CLINIC_LIST}/form/origins",
                 {"action": "add", "origin": site + "/"})
    assert added.status_code == 303
    assert f"{site} may now embed the form." in owner.get(f"/admin/lists/{CLINIC_LIST}/form").text
    assert cors(server, site) == site
    assert cors_of_a_signup(server, site) == site
    removed = post(owner, f"/admin/lists/{CLINIC_LIST}/form/origins",
                   {"action": "remove", "origin": site})
    assert removed.status_code == 303
    assert cors(server, site) is None
    assert cors_of_a_signup(server, site) is None
    assert [e[:2] for e in audit_entries(server, "embed_origin.add")][-1] == (OWNER, site)
    assert [e[:2] for e in audit_entries(server, "embed_origin.remove")][-1] == (OWNER, site)


def test_an_origin_added_by_another_process_is_honoured_within_seconds(
    server: ConsoleServer,
) -> None:
    site = "https://blog.riverside-clinic.example"
    with server.app() as app:
        add_origin(app, site, by="cli@clinic.example")
    deadline = time.monotonic() + 20  # the server's cache lives 5 s
    seen = cors(server, site)
    while seen is None and time.monotonic() < deadline:
        time.sleep(0.5)
        seen = cors(server, site)
    assert seen == site


def test_a_lists_file_broken_by_hand_gets_a_page_naming_it_and_never_a_500(
    server: ConsoleServer, editor: httpx.Client
) -> None:
    path = server.root / "subscribers" / "lists.toml"
    good = path.read_bytes()
    token = with_csrf(editor, {}, "/admin/lists")["csrf_token"]
    try:
        path.write_text(good.decode() + '\n[[list]]\nslug = "Bad Slug"\nname = "x"\n',
                        encoding="utf-8")
        for path_ in ("/admin/lists", f"/admin/lists/{CLINIC_LIST}",
                      f"/admin/lists/{CLINIC_LIST}/form"):
            answer = editor.get(path_)
            assert answer.status_code == 409, path_
            assert "The lists cannot be read" in answer.text
            assert "lists.toml: list #" in answer.text
        saved = editor.post(f"/admin/lists/{CLINIC_LIST}",
                            data={**new_list(CLINIC_LIST), "csrf_token": token})
        assert saved.status_code == 409
        assert "Bad Slug" in saved.text
        assert path.read_text(encoding="utf-8").endswith('name = "x"\n')  # left as it was
    finally:
        path.write_bytes(good)
    assert editor.get("/admin/lists").status_code == 200
