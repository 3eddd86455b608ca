"""The REST API as tests meet it: a served project with a list and a series, tokens from the CLI.

    with api_database("postgresql") as url, ConsoleServer(api_project(root), database_url=url) as s:
        token = make_token(s, "crm", "editor")            # `newsletter staff token create`
        client = api_client(s, token)                      # httpx with the bearer header
        client.get("/api/v1/lists")
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from tests.support import project as builder
from tests.support.console import ConsoleServer, console_project

SERIES = "knee-care"
PROBLEM = "application/problem+json"
POSTGRES_URL = os.environ.get("NEWSLETTER_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def api_project(root: Path) -> Path:
    """A console project plus a two-part series on the clinic list."""
    console_project(root)
    builder.write_series(root, SERIES, "Knee care at home", [
        builder.IssueSpec("Why knees ache", "Why knees ache", "A first look", "Knees carry us."),
        builder.IssueSpec("Moving gently", "Moving gently", "Small steps", "Walk a little daily."),
    ])
    return root


@contextmanager
def api_database(kind: str) -> Iterator[str | None]:
    """None for SQLite (the server's own file), else the URL of a private PostgreSQL schema."""
    if kind == "sqlite":
        yield None
        return
    assert POSTGRES_URL is not None
    base = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = "api_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_token(server: ConsoleServer, name: str, role: str) -> str:
    """``newsletter staff token create NAME --role ROLE``: the token it printed (once)."""
    result = server.cli().run("staff", "token", "create", name, "--role", role)
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("nlapi_"), result.output
    return token


def api_client(server: ConsoleServer, token: str | None = None) -> httpx.Client:
    """An httpx client on the server, with ``Authorization: Bearer <token>`` when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.url, headers=headers, follow_redirects=False, timeout=30)


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    """``response`` is an RFC 9457 problem with ``status``; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM, response.headers
    body = response.json()
    assert isinstance(body, dict)
    assert body["status"] == status
    assert {"type", "title", "detail", "instance"} <= body.keys()
    assert str(body["type"]).startswith("/api/problems/")
    return body
