"""Fuzzing the public endpoints of a live server: no input gets a 5xx (issue 13, item 4).

Hypothesis builds hostile requests for every way in: form posts (urlencoded,
multipart, JSON, raw bytes under any content type, with invalid UTF-8, lone
surrogates, NUL, deep nesting and repeated keys) and the GET/POST paths with a
token or a slug in them. Every answer must be below 500 and carry the security
headers (RELIABILITY #39: bad input gets a 4xx, never a 500 or a stack trace).

The run is derandomized so the suite is repeatable; set
``NEWSLETTER_FUZZ_EXAMPLES`` (e.g. 5000) for a longer, randomized hunt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.app import App
from newsletter.delivery.catcher import CATCHER_DIR, MailStore
from newsletter.web.app import create_web_app
from tests.support import signup as support
from tests.support.signup import LIST_SLUG, AppFactory, LiveServer, free_port

make_app = support.make_app

EXTRA = int(os.environ.get("NEWSLETTER_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=EXTRA or 150,
    deadline=None,
    derandomize=not EXTRA,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FIELDS = ["email", "list", "name", "time_zone", "consent", "page", "form", "website"]

# Text with the characters that broke things before: surrogates, NUL, bidi, odd digits.
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),
        st.sampled_from(["\ud800", "\udfff", "\x00", "\u202e", "\u200b", "²", "١", "@", "%"]),
    ),
    max_size=40,
)
EMAILS = st.one_of(st.emails(), TEXT, st.sampled_from(["zoë@example.com", "a@b", ""]))
KEYS = st.one_of(st.sampled_from(FIELDS), TEXT)


@st.composite
def form_pairs(draw: st.DrawFn) -> list[tuple[str, str]]:
    """Mostly plausible signups (so the deep code runs), with hostile extras and repeats."""
    pairs = [("email", draw(EMAILS)), ("list", draw(st.sampled_from([LIST_SLUG, "x"]) | TEXT))]
    pairs += draw(st.lists(st.tuples(KEYS, TEXT), max_size=5))
    return draw(st.permutations(pairs))


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate becomes invalid UTF-8


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    """A content type and a body for POST /subscribe."""
    kind = draw(st.sampled_from(["urlencoded", "multipart", "json", "nested", "raw"]))
    if kind == "urlencoded":
        return "application/x-www-form-urlencoded", urlencode(
            draw(form_pairs()), encoding="utf-8", errors="surrogatepass").encode()
    if kind == "multipart":
        parts = b"".join(
            b"--BB\r\nContent-Disposition: form-data; name=\"" + _bytes(key).replace(b'"', b"")
            + b"\"\r\n\r\n" + _bytes(value) + b"\r\n"
            for key, value in draw(form_pairs())
        )
        return "multipart/form-data; boundary=BB", parts + b"--BB--\r\n"
    if kind == "json":
        # Written by hand: repeated keys survive, json.dumps escapes surrogates as \ud800.
        values = st.one_of(TEXT, st.none(), st.integers(), st.lists(TEXT, max_size=2))
        items = [(key, draw(values) if draw(st.booleans()) else value)
                 for key, value in draw(form_pairs())]
        body = "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in items) + "}"
        return "application/json", body.encode()
    if kind == "nested":
        depth = draw(st.integers(min_value=100, max_value=7000))
        return "application/json", b'{"email": ' + b"[" * depth + b"]" * depth + b"}"
    content_type = draw(st.sampled_from([
        "application/json", "application/x-www-form-urlencoded", "multipart/form-data",
        "multipart/form-data; boundary=", "text/plain", "application/json; charset=latin-1",
    ]))
    return content_type, draw(st.binary(max_size=300))


DIGITS = st.text(alphabet="0123456789²³¹١٢٣０１", min_size=1, max_size=8)
LONG = st.text(alphabet="abcdef0123456789-", min_size=200, max_size=400)
PATHS = st.one_of(
    st.builds(lambda s, n: f"/archive/{s}/{n}", st.sampled_from(["pain-care"]) | TEXT,
              DIGITS | TEXT),
    st.builds(lambda s: f"/archive/{s}", TEXT),
    st.builds(lambda t: f"/confirm/{t}", TEXT),
    st.builds(lambda t: f"/unsubscribe/{t}", TEXT),
    st.builds(lambda t: f"/caught/{t}", TEXT | LONG),
    st.builds(lambda t: f"/caught/{t}/html", TEXT),
    st.builds(lambda t: f"/{t}/", TEXT),
)


@pytest.fixture
def fuzzed(make_app: AppFactory) -> Iterator[tuple[App, httpx.Client]]:
    port = free_port()
    app = make_app(base_url=f"http://127.0.0.1:{port}", allowed_origins=["https://clinic.example"])
    MailStore(app.settings.var_path / CATCHER_DIR, app.clock).save(
        "news@clinic.example.com", "ana@example.com", b"Subject: hi\r\n\r\nhello\r\n")
    with LiveServer(create_web_app(app), port=port) as server, httpx.Client(
        base_url=server.url, timeout=30
    ) as client:
        yield app, client


def _check(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{response.status_code} for {what}: {response.text[:200]}"
    assert "x-content-type-options" in response.headers, what
    assert "Traceback" not in response.text, what


@pytest.mark.slow
def test_no_hostile_form_post_gets_a_5xx(fuzzed: tuple[App, httpx.Client]) -> None:
    _app, client = fuzzed
    seen: set[int] = set()

    @FUZZ
    @given(body=bodies(), accept=st.sampled_from(["text/html", "application/json", "*/*"]))
    def post(body: tuple[str, bytes], accept: str) -> None:
        content_type, content = body
        response = client.post("/subscribe", content=content, headers={
            "Content-Type": content_type, "Accept": accept})
        seen.add(response.status_code)
        _check(response, f"{content_type} {content[:120]!r}")

    post()
    # The fuzz reached the signup itself, not only the body checks in front of it.
    assert seen & {200, 202}, seen


@pytest.mark.slow
def test_no_hostile_path_gets_a_5xx(fuzzed: tuple[App, httpx.Client]) -> None:
    _app, client = fuzzed

    @FUZZ
    @given(path=PATHS, method=st.sampled_from(["GET", "POST"]))
    def request(path: str, method: str) -> None:
        quoted = quote(path, safe="/", encoding="utf-8", errors="surrogatepass")
        response = client.request(method, quoted, headers={
            "Content-Type": "application/x-www-form-urlencoded"}, content=b"scope=list")
        _check(response, f"{method} {quoted}")

    request()
