"""The console's security promises, checked over HTTP against a real ``newsletter serve`` process.

Issue 9: every state-changing /admin route refuses a missing or wrong CSRF
token with 403 and changes nothing (the routes are enumerated from the app,
so pages added later are covered without touching this file); no GET changes
anything; a session cookie from before logout is refused; the cookie flags;
login throttling per account and per IP, with one answer for an unknown
address and a wrong password; the console's Content-Security-Policy
(RELIABILITY #53, #54, #55).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from newsletter.db.models import Base, StaffAccount
from newsletter.web.app import create_web_app
from tests.support.console import (
    PASSWORD,
    ConsoleServer,
    console_project,
    csrf_from,
    csrf_token,
    login,
    logout,
    try_login,
    with_csrf,
)

OWNER, EDITOR, VIEWER = "owner@clinic.example", "editor@clinic.example", "viewer@clinic.example"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Session bookkeeping that a request may touch without changing anything staff made.
VOLATILE = {"staff_sessions", "login_attempts"}
EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """One server for the module, with an owner, an editor and a viewer."""
    root = console_project(tmp_path_factory.mktemp("console") / "project")
    with ConsoleServer(root) as running:
        for email, role in ((OWNER, "owner"), (EDITOR, "editor"), (VIEWER, "viewer")):
            running.add_staff(email, role)
        yield running


@pytest.fixture
def owner(server: ConsoleServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        login(client, OWNER)
        yield client


def admin_routes(server: ConsoleServer) -> list[tuple[str, str]]:
    """Every (method, path) under /admin of the app ``newsletter serve`` builds.

    Read from the app's OpenAPI description (FastAPI's public view of every route,
    however deeply routers are included); the docs pages themselves stay off.
    """
    with server.app() as app:
        web = create_web_app(app)
    paths = web.openapi()["paths"]
    return sorted((method.upper(), path) for path, operations in paths.items()
                  if path.startswith("/admin") for method in operations)


def concrete(path: str) -> str:
    """A path with every ``{parameter}`` filled with something plausible."""
    return re.sub(r"\{([^}:]+)(:[^}]+)?\}", lambda m: "1" if m.group(2) else "x", path)


def snapshot(server: ConsoleServer) -> dict[str, object]:
    """Every row of every table staff work can change, and every file of the project."""
    state: dict[str, object] = {}
    with server.app() as app, app.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name not in VOLATILE:
                rows = connection.execute(select(table).order_by(*table.primary_key.columns))
                state[table.name] = [tuple(row) for row in rows]
        sessions = connection.execute(text("SELECT count(*) FROM staff_sessions")).scalar()
        state["sessions"] = sessions
    for path in sorted(server.root.rglob("*")):
        if path.is_file() and "var" not in path.relative_to(server.root).parts[:1] \
                and path.name != "serve.log":
            state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def changed(before: dict[str, object], after: dict[str, object]) -> list[str]:
    """Which tables or files differ between two snapshots."""
    return sorted(key for key in before.keys() | after.keys()
                  if before.get(key) != after.get(key))


def test_the_console_has_state_changing_routes_to_check(server: ConsoleServer) -> None:
    writes = {(m, p) for m, p in admin_routes(server) if m in WRITE_METHODS}
    assert {("POST", "/admin/login"), ("POST", "/admin/logout"),
            ("POST", "/admin/staff/add"), ("POST", "/admin/staff/remove"),
            ("POST", "/admin/deliverability/checks")} <= writes


@pytest.mark.parametrize("token", [None, "", "wrong-token-0123456789"], ids=["missing", "empty",
                                                                           "wrong"])
def test_every_state_changing_console_route_refuses_a_bad_csrf_token_with_403_and_changes_nothing(
    server: ConsoleServer, owner: httpx.Client, token: str | None
) -> None:
    writes = [(m, p) for m, p in admin_routes(server) if m in WRITE_METHODS]
    # Fields a real form of each route would send: valid values, so only the token is wrong.
    fields = {"email": EDITOR, "role": "viewer", "password": PASSWORD + "!", "next": "/admin"}
    before = snapshot(server)
    for method, path in writes:
        data = dict(fields) if token is None else {**fields, "csrf_token": token}
        response = owner.request(method, concrete(path), data=data)
        assert response.status_code == 403, f"{method} {path}: {response.status_code}"
        assert "This form has expired" in response.text, f"{method} {path}: not our 403"
        headers = {} if token is None else {"X-CSRF-Token": token}
        response = owner.request(method, concrete(path), data=fields, headers=headers)
        assert response.status_code == 403, f"{method} {path} (header): {response.status_code}"
        assert changed(before, snapshot(server)) == [], f"{method} {path} changed something"
    # The owner is still logged in: the refusals did not end the session either.
    assert owner.get("/admin").status_code == 200


def test_the_csrf_token_of_one_session_does_not_work_in_another(
    server: ConsoleServer, owner: httpx.Client
) -> None:
    with server.client() as other:
        login(other, OWNER)
        theirs = csrf_token(other)
    before = snapshot(server)
    response = owner.post("/admin/staff/role",
                          data={"email": EDITOR, "role": "viewer", "csrf_token": theirs})
    assert response.status_code == 403
    assert changed(before, snapshot(server)) == []


def test_a_form_with_the_right_token_does_change_state(
    server: ConsoleServer, owner: httpx.Client
) -> None:
    # The other side of the CSRF tests: the same request with the session's token works.
    response = owner.post("/admin/staff/add", data=with_csrf(owner, {
        "email": "temp@clinic.example", "role": "viewer", "password": PASSWORD}))
    assert response.status_code == 303
    with server.app() as app, app.sessions() as session:
        assert session.scalar(select(StaffAccount.role)
                              .where(StaffAccount.email == "temp@clinic.example")) == "viewer"
    response = owner.post("/admin/staff/remove",
                          data=with_csrf(owner, {"email": "temp@clinic.example"}))
    assert response.status_code == 303


def test_no_console_get_changes_anything(server: ConsoleServer, owner: httpx.Client) -> None:
    reads = [p for m, p in admin_routes(server) if m == "GET"]
    assert "/admin/staff" in reads
    assert "/admin/audit" in reads
    before = snapshot(server)
    for path in reads:
        response = owner.get(concrete(path), params={"email": EDITOR})
        assert response.status_code < 500, f"GET {path}: {response.status_code}"
    assert changed(before, snapshot(server)) == []


def test_a_session_cookie_from_before_logout_is_refused(server: ConsoleServer) -> None:
    with server.client() as client:
        login(client, EDITOR)
        old_cookie = client.cookies.get("newsletter_console", path="/admin")
        old_token = csrf_token(client)
        assert old_cookie
        assert logout(client).status_code == 303
    with server.client() as replay:
        replay.cookies.set("newsletter_console", old_cookie, path="/admin")
        page = replay.get("/admin")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/admin/login")
        before = snapshot(server)
        post = replay.post("/admin/staff/role", data={"email": VIEWER, "role": "owner",
                                                      "csrf_token": old_token})
        assert post.status_code == 403
        assert changed(before, snapshot(server)) == []


def test_the_session_cookie_is_httponly_lax_limited_to_the_console_and_not_secure_on_http(
    server: ConsoleServer,
) -> None:
    with server.client() as client:
        response = login(client, VIEWER)
    cookie = next(v for v in response.headers.get_list("set-cookie")
                  if v.startswith("newsletter_console="))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert "httponly" in flags
    assert re.search(r"samesite=(lax|strict)", cookie, re.IGNORECASE)
    assert "path=/admin" in cookie.lower()
    assert "secure" not in flags  # base_url is http://127.0.0.1 here


def test_the_session_cookie_is_secure_when_base_url_is_https(tmp_path: Path) -> None:
    root = console_project(tmp_path / "project")
    with ConsoleServer(root, base_url="https://news.clinic.example") as https_server:
        https_server.add_staff(OWNER, "owner")
        with https_server.client() as client:
            form = client.get("/admin/login")
            login_cookie = next(v for v in form.headers.get_list("set-cookie")
                                if v.startswith("newsletter_console_login="))
            assert "secure" in {p.strip().lower() for p in login_cookie.split(";")}
            # Over plain http a client keeps Secure cookies to itself: send it by hand,
            # as a browser would over the https the proxy gives it.
            response = client.post(
                "/admin/login",
                data={"email": OWNER, "password": PASSWORD, "csrf_token": csrf_from(form.text)},
                headers={"Cookie": login_cookie.split(";", 1)[0]},
            )
    assert response.status_code == 303
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(v for v in cookies if v.startswith("newsletter_console="))
    assert "secure" in {p.strip().lower() for p in session_cookie.split(";")}
    assert "httponly" in session_cookie.lower()


def _normalised(response: httpx.Response, email: str) -> tuple[int, str, list[str]]:
    body = response.text.replace(email, "EMAIL")
    body = re.sub(r'value="[A-Za-z0-9_\-]{30,}"', 'value="TOKEN"', body)
    body = re.sub(r'"X-CSRF-Token": "[^"]+"', '"X-CSRF-Token": "TOKEN"', body)
    names = sorted(k for k in response.headers if k not in ("date", "content-length"))
    return response.status_code, body, names


def test_an_unknown_address_and_a_wrong_password_get_the_same_answer(
    server: ConsoleServer,
) -> None:
    with server.client() as client:
        wrong = try_login(client, EDITOR, "not the password at all")
        unknown = try_login(client, "nobody@clinic.example", "not the password at all")
    assert wrong.status_code == 401
    assert _normalised(wrong, EDITOR) == _normalised(unknown, "nobody@clinic.example")
    assert "do not match" in wrong.text


def test_the_login_form_refuses_a_post_without_its_csrf_token(server: ConsoleServer) -> None:
    with server.client() as client:
        response = client.post("/admin/login", data={"email": OWNER, "password": PASSWORD})
    assert response.status_code == 403
    assert "newsletter_console=" not in " ".join(response.headers.get_list("set-cookie"))


def test_logins_are_throttled_per_address_and_per_ip_the_same_for_unknown_addresses(
    tmp_path: Path,
) -> None:
    env = {"NEWSLETTER_CONSOLE_LOGIN_FAILURES_PER_ACCOUNT": "3",
           "NEWSLETTER_CONSOLE_LOGIN_FAILURES_PER_IP": "8"}
    root = console_project(tmp_path / "project")
    with ConsoleServer(root, env=env) as throttled:
        for email, role in ((OWNER, "owner"), (EDITOR, "editor")):
            throttled.add_staff(email, role)
        with throttled.client() as client:
            for _ in range(3):
                assert try_login(client, EDITOR, "wrong password here").status_code == 401
                assert try_login(client, "ghost@clinic.example", "wrong").status_code == 401
            # The fourth try is refused before the password is looked at, even the right one.
            known = try_login(client, EDITOR, PASSWORD)
            ghost = try_login(client, "ghost@clinic.example", PASSWORD)
            assert known.status_code == ghost.status_code == 429
            assert int(known.headers["retry-after"]) > 0
            assert _normalised(known, EDITOR) == _normalised(ghost, "ghost@clinic.example")
            assert "too many failed logins" in known.text.lower()
            # Another address still works from here until the IP's own limit (8) is reached.
            assert try_login(client, OWNER, PASSWORD).status_code == 303
        with throttled.client() as client:
            for n in range(2):
                assert try_login(client, f"other{n}@clinic.example", "x").status_code == 401
            assert try_login(client, OWNER, PASSWORD).status_code == 429


def test_console_pages_carry_the_console_csp_and_no_inline_code(
    server: ConsoleServer, owner: httpx.Client
) -> None:
    with server.client() as anonymous:
        pages = [("/admin/login", anonymous.get("/admin/login"))]
    pages += [(path, owner.get(path)) for path in ("/admin", "/admin/staff", "/admin/audit",
                                                     "/admin/deliverability")]
    for path, response in pages:
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == EXPECTED_CSP
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        html = response.text
        assert "<style" not in html, path
        assert " style=" not in html, path
        assert all('src="/admin/assets/' in tag for tag in re.findall(r"<script[^>]*>", html))
        assert not re.search(r"<script[^>]*>\s*[^<\s]", html), f"inline script on {path}"
        head = html.split("<body", 1)[0]
        assert "http://" not in head, f"outside resource on {path}"
        assert "https://" not in head, f"outside resource on {path}"


def test_the_vendored_htmx_is_served_with_its_licence(server: ConsoleServer) -> None:
    with server.client() as client:
        script = client.get("/admin/assets/htmx.min.js")
        licence = client.get("/admin/assets/htmx-LICENSE.txt")
        missing = client.get("/admin/assets/secret.txt")
    assert script.status_code == 200
    assert "htmx" in script.text[:2000]
    assert script.headers["content-type"].startswith(
        "text/javascript")
    assert "Zero-Clause BSD" in licence.text
    assert missing.status_code == 404


def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login_page_with_the_way_back(
    server: ConsoleServer,
) -> None:
    with server.client() as client:
        response = client.get("/admin/staff")
        assert response.status_code == 303
        assert response.headers["location"] == "/admin/login?next=/admin/staff"
        token = csrf_token(client, "/admin/login?next=/admin/staff")
        done = client.post("/admin/login", data={"email": OWNER, "password": PASSWORD,
                                                 "csrf_token": token, "next": "/admin/staff"})
        assert done.headers["location"] == "/admin/staff"


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/admin",
                                       "/admin/../x", "/admin\\@evil.example"])
def test_the_way_back_after_login_never_leads_off_the_console(
    server: ConsoleServer, next_path: str
) -> None:
    with server.client() as client:
        token = csrf_token(client, "/admin/login")
        done = client.post("/admin/login", data={"email": VIEWER, "password": PASSWORD,
                                                 "csrf_token": token, "next": next_path})
    assert done.status_code == 303
    assert done.headers["location"] == "/admin"


@pytest.mark.parametrize(("email", "path"), [(VIEWER, "/admin/staff"), (VIEWER, "/admin/audit"),
                                             (EDITOR, "/admin/staff"), (EDITOR, "/admin/audit")])
def test_only_owners_see_staff_and_the_audit_log(
    server: ConsoleServer, email: str, path: str
) -> None:
    with server.client() as client:
        login(client, email)
        response = client.get(path)
        assert response.status_code == 403
        assert "Not allowed" in response.text
        assert 'href="/admin/staff"' not in client.get("/admin").text


def test_an_editor_cannot_add_or_change_staff_even_with_a_valid_token(
    server: ConsoleServer,
) -> None:
    with server.client() as client:
        login(client, EDITOR)
        before = snapshot(server)
        for path, data in (("/admin/staff/add", {"email": "x@clinic.example", "role": "owner",
                                                 "password": PASSWORD}),
                           ("/admin/staff/role", {"email": EDITOR, "role": "owner"}),
                           ("/admin/staff/remove", {"email": OWNER}),
                           ("/admin/staff/password", {"email": OWNER, "password": PASSWORD})):
            response = client.post(path, data=with_csrf(client, data))
            assert response.status_code == 403, path
        assert changed(before, snapshot(server)) == []
