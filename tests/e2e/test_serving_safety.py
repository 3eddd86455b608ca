"""What ``newsletter serve`` and ``run`` expose, as real processes (issue 13, items 1 and 7).

The built-in mail catcher holds every confirm link, so its pages exist only on a
loopback bind with a loopback ``base_url``; a public bind with the catcher
refuses to start. ``X-Forwarded-For`` counts only from ``trusted_proxies``,
the same in both commands (the per-IP signup limit shows whom the app believes).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from newsletter.app import App
from newsletter.web.app import create_web_app
from tests.support.net import free_port
from tests.support.signup import LiveServer

REPO = Path(__file__).resolve().parents[2]
NEWSLETTER = str(Path(sys.executable).with_name("newsletter"))
LIMIT = 3
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104  (the bind under test; nothing may answer there)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    root = tmp_path / "clone"
    root.mkdir()
    for name in ("docs/examples", "issues", "subscribers"):
        shutil.copytree(REPO / name, root / name)
    return root


def _env(**settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSLETTER_")}
    env.update({f"NEWSLETTER_{key.upper()}": value for key, value in settings.items()})
    env.setdefault("NEWSLETTER_SMTP_PORT", str(free_port()))
    return env


def _answers(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return None


@contextmanager
def started(root: Path, args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([NEWSLETTER, *args], cwd=root, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT if args[0] == "serve" else signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _wait_up(process: subprocess.Popen[str], url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode}"
        if _answers(url) is not None:
            return
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s")


@pytest.mark.slow
@pytest.mark.parametrize("command", ["serve", "run"])
def test_the_catcher_on_a_public_interface_refuses_to_start_and_says_why(
        clone: Path, command: str) -> None:
    port = free_port(EVERY_INTERFACE)
    with started(clone, [command, "--host", EVERY_INTERFACE, "--port", str(port)],
                 _env(base_url="https://news.clinic.example")) as process:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            caught = _answers(f"http://127.0.0.1:{port}/caught")
            assert caught is None, f"/caught answered {caught} on a public bind"
            time.sleep(0.2)
        assert process.returncode not in (None, 0)
        assert process.stdout is not None
        output = process.stdout.read()
    assert "mail catcher" in output
    assert EVERY_INTERFACE in output
    assert "transport" in output
    assert "Traceback" not in output


def test_caught_mail_pages_do_not_exist_when_base_url_is_public(
        app: App) -> None:
    settings = app.settings.model_copy(update={"base_url": "https://news.clinic.example"})
    public = App(**{**vars(app), "settings": settings})
    with LiveServer(create_web_app(public)) as server:
        assert _answers(server.url + "/caught") == 404
    with LiveServer(create_web_app(app)) as server:  # loopback bind, loopback base_url
        assert _answers(server.url + "/caught") == 200


def _signup(base: str, n: int, forwarded_for: str) -> int:
    body = urllib.parse.urlencode({"email": f"xff{n}@example.com", "list": "clinic-news"})
    request = urllib.request.Request(base + "/subscribe", data=body.encode(), method="POST",
                                     headers={"X-Forwarded-For": forwarded_for})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.slow
@pytest.mark.parametrize("command", ["serve", "run"])
@pytest.mark.parametrize("trusted", [False, True])
def test_forwarded_for_counts_only_from_trusted_proxies_in_serve_and_run(
        clone: Path, command: str, trusted: bool) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = {"base_url": base, "signup_rate_limit": str(LIMIT),
                "database_url": f"sqlite:///{clone / 'xff.db'}"}
    if trusted:
        settings["trusted_proxies"] = "127.0.0.1"
    with started(clone, [command, "--port", str(port)], _env(**settings)) as process:
        _wait_up(process, base + "/")
        statuses = [_signup(base, n, f"203.0.113.{n}") for n in range(LIMIT + 2)]
    if trusted:  # each post came from its own visitor behind our proxy
        assert statuses == [200] * (LIMIT + 2)
    else:  # one visitor on loopback, whatever the header claims
        assert statuses == [200] * LIMIT + [429, 429]
