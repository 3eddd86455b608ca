"""The REST API over HTTP against a real `newsletter serve`, on SQLite and on PostgreSQL.

Each role's allowed and refused operations, revocation, the rate limit, the
console cookie that must not count, and every error as an RFC 9457 problem.
Every test makes its own tokens (each token has its own rate budget) and its
own people.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.api import (
    BACKENDS,
    SERIES,
    api_client,
    api_database,
    api_project,
    assert_problem,
    make_token,
)
from tests.support.console import ConsoleServer, login
from tests.support.project import CLINIC_LIST

BURST = 12  # requests a token may make at once on this server (then one a minute)
OWNER = "owner@clinic.example"
Maker = Callable[..., httpx.Client]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    root = api_project(tmp_path_factory.mktemp("api-http") / "project")
    env = {"NEWSLETTER_API_RATE_BURST": str(BURST), "NEWSLETTER_API_RATE_PER_MINUTE": "1"}
    with api_database(request.param) as url, ConsoleServer(root, database_url=url,
                                                           env=env) as running:
        running.add_staff(OWNER, "owner")
        yield running


@pytest.fixture
def clients(server: ConsoleServer) -> Iterator[list[httpx.Client]]:
    """The test's API clients, closed at its end."""
    opened: list[httpx.Client] = []
    yield opened
    for client in opened:
        client.close()


@pytest.fixture
def client_for(server: ConsoleServer,
               clients: list[httpx.Client]) -> Maker:
    """A client with a new token: ``client_for(name, role)``."""

    def make(name: str, role: str, token: str | None = None) -> httpx.Client:
        client = api_client(server, make_token(server, name, role) if token is None else token)
        clients.append(client)
        return client

    return make


def add_person(client: httpx.Client, email: str) -> dict[str, object]:
    added = client.post("/api/v1/subscribers", json={
        "email": email, "list": CLINIC_LIST, "consent": "already_consented",
        "reason": "signed the paper form at reception"})
    assert added.status_code == 200, added.text
    person = added.json()["subscriber"]
    assert isinstance(person, dict)
    return person


def test_a_viewer_token_reads_everything_and_changes_nothing(
    server: ConsoleServer, client_for: Maker
) -> None:
    editor = client_for("viewer-setup", "editor")
    person = add_person(editor, "vera@example.org")
    viewer = client_for("viewer-1", "viewer")
    assert [item["slug"] for item in viewer.get("/api/v1/lists").json()] == [CLINIC_LIST]
    assert viewer.get(f"/api/v1/lists/{CLINIC_LIST}").json()["double_opt_in"] is True
    assert viewer.get("/api/v1/subscribers", params={"email": "VERA@example.org"}).json()[
        "id"] == person["id"]
    assert viewer.get(f"/api/v1/subscribers/{person['id']}").json()["email"] == "vera@example.org"
    series = viewer.get(f"/api/v1/series/{SERIES}").json()
    assert [issue["title"] for issue in series["issues"]] == ["Why knees ache", "Moving gently"]
    assert viewer.get(f"/api/v1/series/{SERIES}/issues/2").json()["subject"].startswith(
        "Moving gently")
    sends = viewer.get(f"/api/v1/series/{SERIES}/issues/1/sends").json()
    assert sends["total"] == 0
    assert set(sends["counts"]) >= {"queued", "sent", "failed"}
    assert viewer.get("/api/v1/sends").status_code == 200
    refused = [
        viewer.post("/api/v1/subscribers", json={"email": "x@example.org", "list": CLINIC_LIST}),
        viewer.post(f"/api/v1/subscribers/{person['id']}/unsubscribe", json={}),
        viewer.delete(f"/api/v1/subscribers/{person['id']}"),
    ]
    for response in refused:
        body = assert_problem(response, 403)
        assert "viewer-1" in str(body["detail"])
        assert "viewer" in str(body["detail"])
    assert viewer.get(f"/api/v1/subscribers/{person['id']}").json()["subscriptions"][0][
        "status"] == "active"


def test_an_editor_adds_with_double_opt_in_by_default_and_unsubscribes_but_cannot_erase(
    server: ConsoleServer, client_for: Maker
) -> None:
    editor = client_for("editor-1", "editor")
    pending = editor.post("/api/v1/subscribers", json={"email": "Pia@Example.org",
                                                       "list": CLINIC_LIST})
    assert pending.status_code == 200, pending.text
    assert pending.json()["consent"] == "double_opt_in"
    assert pending.json()["result"] == "confirmation email queued"
    subscriber = pending.json()["subscriber"]
    assert [s["status"] for s in subscriber["subscriptions"]] == ["pending"]
    assert [c["event"] for c in subscriber["consent"]] == ["signup", "confirmation_sent"]
    person = add_person(editor, "otto@example.org")
    left = editor.post(f"/api/v1/subscribers/{person['id']}/unsubscribe",
                       json={"list": CLINIC_LIST})
    assert left.status_code == 200
    [membership] = left.json()["subscriptions"]
    assert (membership["status"], membership["unsubscribe_method"]) == ("unsubscribed", "api")
    assert left.json()["consent"][-1]["event"] == "withdrawn"
    again = editor.post(f"/api/v1/subscribers/{person['id']}/unsubscribe", json={})
    assert again.json()["subscriptions"] == left.json()["subscriptions"]  # idempotent
    assert_problem(editor.delete(f"/api/v1/subscribers/{person['id']}"), 403)
    readd = editor.post("/api/v1/subscribers", json={
        "email": "otto@example.org", "list": CLINIC_LIST, "consent": "already_consented",
        "reason": "asked on the phone"})
    assert "cannot resubscribe" in str(assert_problem(readd, 409)["detail"])


def test_already_consented_needs_a_reason_which_is_kept_in_the_consent_record(
    server: ConsoleServer, client_for: Maker
) -> None:
    editor = client_for("editor-2", "editor")
    missing = editor.post("/api/v1/subscribers", json={
        "email": "rosa@example.org", "list": CLINIC_LIST, "consent": "already_consented"})
    body = assert_problem(missing, 422)
    assert body["errors"] == [{"pointer": "#/reason",
                               "detail": "required with already_consented"}]
    person = add_person(editor, "rosa@example.org")
    [record] = person["consent"]
    assert record["form"] == "api"
    assert "signed the paper form at reception" in record["consent_text"]
    assert "editor-2" in record["consent_text"]


def test_an_owner_erases_a_person_who_then_cannot_be_added_back_by_staff(
    server: ConsoleServer, client_for: Maker
) -> None:
    owner = client_for("owner-1", "owner")
    person = add_person(owner, "erin@example.org")
    erased = owner.delete(f"/api/v1/subscribers/{person['id']}")
    assert erased.status_code == 204
    assert erased.content == b""
    assert_problem(owner.get(f"/api/v1/subscribers/{person['id']}"), 404)
    gone = assert_problem(owner.get("/api/v1/subscribers", params={"email": "erin@example.org"}),
                          404)
    assert "erased or suppressed" in str(gone["detail"])
    readd = owner.post("/api/v1/subscribers", json={
        "email": "erin@example.org", "list": CLINIC_LIST, "consent": "already_consented",
        "reason": "imported by mistake"})
    assert_problem(readd, 409)
    assert_problem(owner.delete(f"/api/v1/subscribers/{person['id']}"), 404)


def test_api_changes_are_in_the_audit_log_under_the_tokens_name_without_the_address(
    server: ConsoleServer, client_for: Maker
) -> None:
    owner = client_for("audited", "owner")
    person = add_person(owner, "aude@example.org")
    owner.post(f"/api/v1/subscribers/{person['id']}/unsubscribe", json={})
    owner.delete(f"/api/v1/subscribers/{person['id']}")
    with server.app() as app:
        from newsletter.accounts.audit import recent_actions
        lines = recent_actions(app, actor="api:audited")
    # People are named by public id: the erased address is nowhere in the append-only log.
    assert [(line.action, line.target) for line in lines] == [
        ("subscriber.erase", person["id"]), ("subscriber.unsubscribe", person["id"]),
        ("subscriber.add", person["id"])]
    assert not any("aude@example.org" in f"{line.target} {line.detail}" for line in lines)


def test_a_revoked_token_is_refused_with_401_on_its_next_request(
    server: ConsoleServer, client_for: Maker
) -> None:
    client = client_for("revoked-soon", "owner")
    assert client.get("/api/v1/lists").status_code == 200
    result = server.cli().run("staff", "token", "revoke", "revoked-soon")
    assert result.exit_code == 0, result.output
    refused = client.get("/api/v1/lists")
    assert "not valid" in str(assert_problem(refused, 401)["detail"])
    assert refused.headers["www-authenticate"].startswith("Bearer")


def test_no_token_a_bad_one_or_the_console_cookie_alone_gets_401(
    server: ConsoleServer, client_for: Maker
) -> None:
    assert_problem(client_for("", "", token="").get("/api/v1/lists"), 401)
    assert_problem(client_for("", "", token="nlapi_AAAAAAAA_" + "b" * 43).get("/api/v1/lists"),
                   401)
    with server.client() as console:
        login(console, OWNER)  # a logged-in owner's browser holds the session cookie
        assert console.get("/admin").status_code == 200
        assert_problem(console.get("/api/v1/lists"), 401)
        assert_problem(console.post("/api/v1/subscribers", json={
            "email": "cookie@example.org", "list": CLINIC_LIST}), 401)


def test_a_token_past_its_rate_limit_gets_a_429_problem_with_retry_after(
    server: ConsoleServer, client_for: Maker
) -> None:
    client = client_for("hasty", "viewer")
    assert [client.get("/api/v1/lists").status_code for _ in range(BURST)] == [200] * BURST
    refused = client.get("/api/v1/lists")
    body = assert_problem(refused, 429)
    assert "hasty" in str(body["detail"])
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert client_for("patient", "viewer").get("/api/v1/lists").status_code == 200


def test_every_error_is_a_problem_document(
    server: ConsoleServer, client_for: Maker
) -> None:
    client = client_for("errors", "owner")
    assert_problem(client.get("/api/v1/no-such-thing"), 404)
    assert_problem(client.get("/api/v1/lists/no-such-list"), 404)
    assert_problem(client.get(f"/api/v1/series/{SERIES}/issues/9"), 404)
    assert_problem(client.put("/api/v1/lists"), 405)
    invalid = assert_problem(client.post("/api/v1/subscribers", json={"list": "Not A Slug"}),
                             422)
    pointers = {error["pointer"] for error in invalid["errors"]}  # type: ignore[attr-defined]
    assert pointers == {"#/email", "#/list"}
    bad_address = assert_problem(client.post("/api/v1/subscribers", json={
        "email": "not-an-address", "list": CLINIC_LIST}), 422)
    assert bad_address["errors"][0]["pointer"] == "#/email"  # type: ignore[index]
    too_large = client.post("/api/v1/subscribers", content=b"{" + b" " * 20_000 + b"}",
                            headers={"Content-Type": "application/json"})
    assert_problem(too_large, 413)


def test_the_openapi_document_describes_only_the_api_with_the_bearer_scheme(
    server: ConsoleServer, client_for: Maker
) -> None:
    anonymous = client_for("", "", token="")
    document = anonymous.get("/api/openapi.json").json()
    assert document["servers"] == [{"url": "/api"}]
    assert all(path.startswith("/v1/") for path in document["paths"])
    assert document["components"]["securitySchemes"]["bearer"] == {
        **document["components"]["securitySchemes"]["bearer"], "type": "http",
        "scheme": "bearer"}
    erase = document["paths"]["/v1/subscribers/{subscriber_id}"]["delete"]
    assert erase["security"] == [{"bearer": []}]
    for code in ("401", "403", "404", "422", "429", "500"):
        assert erase["responses"][code]["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert anonymous.get("/openapi.json").status_code == 404  # the main app has none
