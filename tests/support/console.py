"""The staff console as tests meet it: a real ``newsletter serve`` process, staff made by the CLI.

    with ConsoleServer(project, database_url=url) as server:
        server.add_staff("ed@clinic.example", "editor")        # `newsletter staff add`
        client = server.client()                               # an httpx.Client on the server
        login(client, "ed@clinic.example")                     # POSTs the login form
        client.post("/admin/...", data=with_csrf(client, {...}))  # token from a console page
        login_page(page, server.url, "ed@clinic.example")      # the same in Playwright

The server runs in its own process, on a free port, in ``project`` (which needs
``subscribers/lists.toml``: :func:`console_project` writes one), with the test
database given by URL; ``server.app()`` opens an App on the same database and
folder for checks. Every password is :data:`PASSWORD` unless a test says.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import httpx
from playwright.sync_api import Page

from newsletter.app import App, create_app
from newsletter.config import Settings, load_settings
from tests.support import project as builder
from tests.support.cli import Cli
from tests.support.net import free_port
from tests.support.processes import stop_process

NEWSLETTER = str(Path(sys.executable).with_name("newsletter"))
PASSWORD = "correct horse battery staple"
CSRF_IN_FORM = re.compile(r'name="csrf_token" value="([^"]+)"')


def console_project(root: Path) -> Path:
    """A project folder with one list, ready for ``newsletter serve``."""
    (root / "issues").mkdir(parents=True, exist_ok=True)
    builder.write_lists(root, builder.ListSpec(builder.CLINIC_LIST, "Riverside Clinic News"))
    return root


class ConsoleServer:
    """``newsletter serve`` in ``root`` on a free port, for a ``with`` block."""

    def __init__(self, root: Path, *, database_url: str | None = None,
                 env: Mapping[str, str] | None = None, base_url: str | None = None) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url or f"sqlite:///{root / 'var' / 'newsletter.db'}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")},
            "NEWSLETTER_BASE_URL": base_url or self.url,
            "NEWSLETTER_DATABASE_URL": self.database_url,
            "PYTHONUNBUFFERED": "1",  # the start-up lines reach serve.log at once
            **(env or {}),
        }
        self._process: subprocess.Popen[bytes] | None = None
        self.log_path = root / "serve.log"

    @property
    def settings(self) -> Settings:
        """The server's settings, read the way the server reads them."""
        return load_settings(self.root, environ=self.env)

    def cli(self) -> Cli:
        """The real ``newsletter`` command, in-process, on the server's settings."""
        return Cli(self.settings)

    def add_staff(self, email: str, role: str, password: str = PASSWORD) -> None:
        """``newsletter staff add EMAIL --role ROLE --password-stdin``."""
        result = self.cli().run("staff", "add", email, "--role", role, "--password-stdin",
                                input=password + "\n")
        assert result.exit_code == 0, result.output

    @contextmanager
    def app(self) -> Iterator[App]:
        """An App on the server's database and folder (for checking what a request did)."""
        application = create_app(self.settings)
        try:
            yield application
        finally:
            application.close()

    def client(self) -> httpx.Client:
        """A fresh httpx client (own cookie jar) on the server; redirects not followed."""
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)

    def __enter__(self) -> ConsoleServer:
        self.root.mkdir(parents=True, exist_ok=True)
        with self.app():  # migrate once here, so the server never races a test's first command
            pass
        log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [NEWSLETTER, "serve", "--port", str(self.port)], cwd=self.root, env=self.env,
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AssertionError(f"newsletter serve exited: {self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/admin/login", timeout=2):
                    pass
            except OSError:
                time.sleep(0.1)
                continue
            # The port was free when chosen, but another process on this shared machine may
            # have taken it since. `serve` binds its port before uvicorn says "Started server
            # process [pid]" and keeps it: that line with our pid, from a live process, proves
            # the answer came from our server (the access log is off by default).
            log = self.log()
            if (f"Started server process [{self._process.pid}]" in log
                    and "Application startup complete" in log and self._process.poll() is None):
                return self
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"newsletter serve did not answer: {self.log()}")

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Stop the server process (SIGTERM, then SIGKILL)."""
        if self._process is not None:
            stop_process(self._process, timeout=20)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def csrf_from(html: str) -> str:
    """The CSRF token in a console page's forms."""
    match = CSRF_IN_FORM.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def csrf_token(client: httpx.Client, path: str = "/admin") -> str:
    """The client's current CSRF token, read from a console page (``path``) as a browser would."""
    response = client.get(path)
    assert response.status_code == 200, f"GET {path}: {response.status_code}"
    return csrf_from(response.text)


def with_csrf(
    client: httpx.Client, data: Mapping[str, str], path: str = "/admin"
) -> dict[str, str]:
    """``data`` plus the session's ``csrf_token`` (fetched from ``path``)."""
    return {**data, "csrf_token": csrf_token(client, path)}


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    """Log ``client`` in through the login form; asserts it worked (303 to the console)."""
    response = try_login(client, email, password)
    assert response.status_code == 303, f"login of {email} failed: {response.status_code}"
    return response


def try_login(client: httpx.Client, email: str, password: str) -> httpx.Response:
    """POST the login form (with the token from the login page) and return the answer as is."""
    token = csrf_token(client, "/admin/login")
    return client.post("/admin/login",
                       data={"email": email, "password": password, "csrf_token": token})


def logout(client: httpx.Client) -> httpx.Response:
    """POST the logout form from the dashboard."""
    return client.post("/admin/logout", data=with_csrf(client, {}))


def login_page(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Log in with Playwright as a person would: fill the form, press the button, land."""
    page.goto(base_url + "/admin/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    assert "/admin/login" not in page.url, f"login of {email} did not work"
