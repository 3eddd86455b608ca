"""The API's error shape for what a served test cannot provoke: a crash, a streamed large body.

The API app is built as production builds it (``create_web_app``, so the
site-wide middleware wraps it) and served by uvicorn in a thread; a route that
fails on purpose is added to the API's own sub-application, so the crash goes
through the real handlers.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Mount

from newsletter.accounts.api_tokens import create_token
from newsletter.accounts.audit import Actor
from newsletter.accounts.roles import Role
from newsletter.app import App
from newsletter.web.app import create_web_app
from tests.support.api import PROBLEM, api_project
from tests.support.signup import LiveServer


@pytest.fixture
def web(app: App) -> Iterator[tuple[httpx.Client, str]]:
    api_project(app.settings.root)
    token = create_token(app, "problems", Role.OWNER, actor=Actor("test")).token
    site = create_web_app(app)
    [api] = [route.app for route in site.routes
             if isinstance(route, Mount) and route.path == "/api"]
    assert isinstance(api, FastAPI)

    @api.get("/v1/test-crash")
    def crash() -> None:
        raise RuntimeError("secret internal detail /srv/db password=hunter2")

    with LiveServer(site) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield client, token


def test_a_crash_is_a_500_problem_that_tells_nothing_of_the_inside(
    web: tuple[httpx.Client, str], caplog: pytest.LogCaptureFixture
) -> None:
    client, token = web
    answer = client.get("/api/v1/test-crash", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert body["type"] == "/api/problems/server-error"
    assert body["instance"] == "/api/v1/test-crash"
    assert "hunter2" not in answer.text
    assert "Traceback" not in answer.text
    assert any("hunter2" in str(record.exc_info) for record in caplog.records)  # logged


def test_a_body_streamed_past_the_cap_is_a_413_problem(web: tuple[httpx.Client, str]) -> None:
    client, token = web

    def chunks() -> Iterator[bytes]:
        yield b'{"email": "a@example.org", "list": "clinic-news", "name": "'
        for _ in range(40):
            yield b"x" * 1024
        yield b'"}'

    answer = client.post("/api/v1/subscribers", content=chunks(),
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["type"] == "/api/problems/too-large"
