"""What the hostile audit of 2026-12-02 found, each replayed against a real uvicorn server.

Issue 13, items 4, 5, 6, 8 and 9: malformed input answered with 4xx (never a
500), every error response with the security headers, UTF-8 only in multipart
bodies, duplicate JSON keys refused, non-ASCII local parts refused unless the
relay offers SMTPUTF8, a redirect that ignores the Host header, terse 404s,
invisible characters out of names, a deadline for request bodies, and a client
that hangs up not logged as a crash (RELIABILITY #34, #36–39).
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from newsletter.app import App
from newsletter.clock import ManualClock
from newsletter.db.models import ConsentRecord
from newsletter.delivery.catcher import CATCHER_DIR, MailStore
from newsletter.web.app import create_web_app
from tests.support import signup as support
from tests.support.archive import publish_first_issue
from tests.support.signup import (
    LIST_SLUG,
    AppFactory,
    LiveServer,
    confirmed_name,
    free_port,
    outbox,
    processing_client,
    state,
    table_counts,
)

make_app = support.make_app
served = support.served

SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")


def form(email: str, **extra: str) -> dict[str, str]:
    return {"email": email, "list": LIST_SLUG, **extra}


def assert_secured(response: httpx.Response) -> None:
    for header in SECURITY_HEADERS:
        assert header in response.headers, f"{header} missing on a {response.status_code}"


# --- item 4: malformed input is a 4xx, never a 500 -------------------------------------------


@pytest.mark.parametrize("body", [b"[" * 5000, b'{"email": ' + b"[" * 5000 + b"]" * 5000 + b"}"])
def test_deeply_nested_json_is_refused_with_400_not_a_500(
    served: tuple[App, httpx.Client], body: bytes
) -> None:
    app, client = served
    before = table_counts(app)
    response = client.post("/subscribe", content=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "the request body is not valid JSON"}
    assert table_counts(app) == before


@pytest.mark.parametrize("field", ["name", "page", "form", "time_zone", "consent"])
def test_a_lone_surrogate_in_any_json_field_is_refused_with_400(
    served: tuple[App, httpx.Client], field: str
) -> None:
    app, client = served
    before = table_counts(app)
    # json.dumps writes a lone surrogate as the escape "\ud800", as an attacker would.
    body = json.dumps({"email": "sur@example.com", "list": LIST_SLUG, field: "a\ud800b"})
    assert "\\ud800" in body
    response = client.post("/subscribe", content=body.encode(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not valid Unicode text" in response.json()["error"]
    assert table_counts(app) == before


def test_a_nul_in_a_free_text_field_is_refused_with_400(
    served: tuple[App, httpx.Client],
) -> None:
    # PostgreSQL cannot store NUL in text: without this check it was a 500 there.
    app, client = served
    before = table_counts(app)
    response = client.post("/subscribe", json=form("nul@example.com", page="https://x\x00y"))
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]
    assert table_counts(app) == before


@pytest.mark.parametrize("position", ["%C2%B2", "%D9%A1", "%EF%BC%91", "1%E2%81%B0"])
def test_digits_other_than_ascii_are_not_part_numbers(
    served: tuple[App, httpx.Client], project: Path, clock: ManualClock, position: str
) -> None:
    # "²".isdigit() is True but int("²") fails; "١" (Arabic-Indic one) used to alias part 1.
    app, client = served
    publish_first_issue(app, project, clock)
    assert client.get("/archive/pain-care/1").status_code == 200
    response = client.get(f"/archive/pain-care/{position}")
    assert response.status_code == 404
    assert_secured(response)


def test_a_caught_mail_key_of_300_characters_is_a_404_not_a_500(
    served: tuple[App, httpx.Client],
) -> None:
    app, client = served
    assert app.settings.transport == "catcher"
    MailStore(app.settings.var_path / CATCHER_DIR, app.clock).save(
        "news@clinic.example.com", "ana@example.com", b"Subject: hi\r\n\r\nhello\r\n")
    for key in ("a" * 300, "%C2%B2", "..%2F..%2Fsecret_key"):
        response = client.get(f"/caught/{key}")
        assert response.status_code == 404, key
        assert_secured(response)


@pytest.fixture
def crashing(make_app: AppFactory) -> Iterator[httpx.Client]:
    """The real web app plus one route that raises, as an unforeseen bug would."""
    port = free_port()
    app = make_app(base_url=f"http://127.0.0.1:{port}", allowed_origins=["https://clinic.example"])
    web = create_web_app(app)

    @web.get("/boom")
    async def boom() -> None:
        raise RuntimeError("an unforeseen bug")

    with LiveServer(web, port=port) as server, httpx.Client(base_url=server.url) as client:
        yield client


def test_a_500_carries_the_security_and_cors_headers_and_is_logged_once(
    crashing: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    response = crashing.get("/boom", headers={"Origin": "https://clinic.example"})
    assert response.status_code == 500
    assert "something went wrong" in response.text.lower()
    assert "an unforeseen bug" not in response.text
    assert_secured(response)
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["access-control-allow-origin"] == "https://clinic.example"
    tracebacks = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
    assert len(tracebacks) == 1, [r.getMessage() for r in tracebacks]


# --- item 5: non-ASCII local parts ----------------------------------------------------------


@pytest.mark.parametrize("address", ["zoë@example.com", "аlice@example.com"])
def test_a_non_ascii_local_part_is_refused_at_signup_with_a_clear_message(
    served: tuple[App, httpx.Client], address: str
) -> None:
    app, client = served
    before = table_counts(app)
    page = client.post("/subscribe", data=form(address))
    api = client.post("/subscribe", json=form(address))
    assert page.status_code == api.status_code == 400
    assert "before the @" in api.json()["error"]
    assert "cyrillic" in api.json()["error"] or "ë" in api.json()["error"]
    assert table_counts(app) == before
    assert outbox(app) == []


def test_a_non_ascii_local_part_is_accepted_when_the_relay_offers_smtputf8(
    make_app: AppFactory,
) -> None:
    app = make_app(smtp_utf8=True)
    with LiveServer(create_web_app(app)) as server, processing_client(app, server.url) as client:
        response = client.post("/subscribe", data=form("zoë@example.com"))
    assert response.status_code == 200
    assert state(app, "zoë@example.com")["statuses"] == ["pending"]


# --- item 6: multipart must be UTF-8 --------------------------------------------------------


def test_a_multipart_body_with_invalid_utf8_is_refused_with_400(
    served: tuple[App, httpx.Client],
) -> None:
    app, client = served
    before = table_counts(app)
    body = (
        b"--BB\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\nmp@example.com\r\n"
        b"--BB\r\nContent-Disposition: form-data; name=\"list\"\r\n\r\nclinic-news\r\n"
        b"--BB\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n\xff\xfe\r\n--BB--\r\n"
    )
    response = client.post("/subscribe", content=body,
                           headers={"Content-Type": "multipart/form-data; boundary=BB"})
    assert response.status_code == 400
    assert "UTF-8" in response.text
    assert table_counts(app) == before


def test_a_multipart_body_in_utf8_still_works_with_accents_and_emoji(
    served: tuple[App, httpx.Client],
) -> None:
    app, client = served
    response = client.post("/subscribe", files={
        "email": (None, "mp@example.com"), "list": (None, LIST_SLUG),
        "name": (None, "Zoë 🌿")})
    assert response.status_code == 200
    assert confirmed_name(app, "mp@example.com") == "Zoë 🌿"


# --- item 8: duplicate JSON keys ------------------------------------------------------------


def test_duplicate_keys_in_a_json_body_are_refused(served: tuple[App, httpx.Client]) -> None:
    app, client = served
    before = table_counts(app)
    body = (b'{"email": "dup-a@example.com", "list": "clinic-news", '
            b'"email": "dup-b@example.com"}')
    response = client.post("/subscribe", content=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "the email address was sent twice"}
    assert table_counts(app) == before


# --- item 9: redirect, echoes, invisible characters, slow bodies, hang-ups -------------------


def test_the_trailing_slash_redirect_is_built_from_base_url_not_the_host_header(
    served: tuple[App, httpx.Client],
) -> None:
    app, client = served
    response = client.get("/archive/pain-care/?x=1", headers={"Host": "evil.example"})
    assert response.status_code == 307
    assert response.headers["location"] == f"{app.settings.base_url}/archive/pain-care?x=1"
    assert "evil.example" not in response.headers["location"]
    assert client.get("/no-such-page/", headers={"Host": "evil.example"}).status_code == 404


def test_not_found_messages_do_not_repeat_the_address_or_name_files(
    served: tuple[App, httpx.Client],
) -> None:
    _app, client = served
    marker = "Call-555-0100-now"
    series = client.get(f"/archive/{marker}")
    unknown_list = client.post("/subscribe", data={"email": "a@example.com", "list": marker})
    as_json = client.post("/subscribe", json={"email": "a@example.com", "list": marker})
    for response in (series, unknown_list, as_json):
        assert response.status_code == 404
        assert marker not in response.text
        assert "lists.toml" not in response.text
    assert as_json.json() == {"error": "there is no such list"}


def test_bidi_and_zero_width_characters_are_stripped_from_names_at_signup(
    served: tuple[App, httpx.Client],
) -> None:
    app, client = served
    response = client.post("/subscribe", data=form(
        "bidi@example.com", name="\u202eAna\u200b Lo\u2066pez\ufeff"))
    assert response.status_code == 200
    assert confirmed_name(app, "bidi@example.com") == "Ana Lopez"


def test_a_body_that_trickles_in_gets_408_and_the_connection_is_closed(
    make_app: AppFactory,
) -> None:
    app = make_app(request_body_timeout_seconds=1)
    received, closed = b"", False
    with LiveServer(create_web_app(app)) as server, socket.create_connection(
        ("127.0.0.1", server.port), timeout=0.25
    ) as sock:
        sock.sendall(b"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 1000\r\n\r\nemail=slow")
        # One byte every quarter second, as a slow-loris client does: a timeout per read
        # would never fire. Bounded, so a server without a deadline fails instead of hanging.
        for _ in range(120):
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                try:
                    sock.sendall(b"x")
                except OSError:
                    closed = True
                    break
                continue
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True  # the server ended the connection
                break
            received += chunk
    assert received.startswith(b"HTTP/1.1 408 ")
    assert closed
    assert b"content-security-policy" in received.lower()
    assert table_counts(app)["subscribers"] == 0


def test_a_client_that_hangs_up_mid_body_is_logged_as_such_not_as_a_crash(
    served: tuple[App, httpx.Client], caplog: pytest.LogCaptureFixture
) -> None:
    app, client = served
    caplog.set_level(logging.INFO)
    port = int(str(client.base_url).rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 500\r\n\r\nemail=gone%40example.com")
        time.sleep(0.2)  # let the server start reading the body before the hang-up
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        "went away" in r.getMessage() or r.levelno >= logging.ERROR for r in caplog.records
    ):
        time.sleep(0.05)
    assert any("client went away" in r.getMessage() for r in caplog.records)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    with app.sessions() as session:
        assert session.scalars(select(ConsentRecord)).all() == []


def test_a_nul_in_a_series_address_is_a_404_on_every_database(
    served: tuple[App, httpx.Client],
) -> None:
    # Found by the fuzz test: PostgreSQL refuses NUL in a query parameter (a 500 before).
    _app, client = served
    for path in ("/archive/%00", "/archive/pain%00care/1", "/archive/" + "x" * 300):
        response = client.get(path)
        assert response.status_code == 404, path
        assert_secured(response)
