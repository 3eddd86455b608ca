"""The README's main command, as a new user meets it: `newsletter run` in a fresh folder.

It runs as a real process on the embedded defaults (SQLite under var/, the
built-in mail catcher on loopback). Real Chromium signs up on the home page;
the confirmation email arrives in the catcher over SMTP; the link confirms.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.support.browser import screenshot_path
from tests.support.net import free_port
from tests.support.processes import stop_process

REPO = Path(__file__).resolve().parents[2]
NEWSLETTER = str(Path(sys.executable).with_name("newsletter"))


def _wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"newsletter run exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {seconds}s")


def _caught(folder: Path, count: int, seconds: float = 30) -> list[Path]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = sorted(folder.glob("*.eml")) if folder.is_dir() else []
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"expected {count} caught messages in {folder}")


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    """What a new user has after cloning: the sample article, issues and lists, no var/."""
    root = tmp_path / "clone"
    root.mkdir()
    for name in ("docs/examples", "issues", "subscribers"):
        shutil.copytree(REPO / name, root / name)
    return root


@pytest.fixture
def running(fresh_clone: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """`newsletter run` on free ports, stopped with SIGTERM afterwards."""
    port, smtp_port, bounce_port = free_port(), free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "NEWSLETTER_BASE_URL": base, "NEWSLETTER_SMTP_PORT": str(smtp_port),
           "NEWSLETTER_BOUNCE_LISTEN_PORT": str(bounce_port)}
    env.pop("NEWSLETTER_DATABASE_URL", None)
    log = (fresh_clone / "run.log").open("wb")
    process = subprocess.Popen([NEWSLETTER, "run", "--port", str(port)], cwd=fresh_clone,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for(base + "/", process)
        yield base, fresh_clone, process
    finally:
        try:
            stop_process(process)
        finally:
            log.close()


@pytest.mark.browser
@pytest.mark.slow
def test_a_new_user_signs_up_and_confirms_through_the_running_service(
    running: tuple[str, Path, subprocess.Popen[bytes]], browser: Browser,
) -> None:
    base, root, process = running
    assert (root / "var" / "site" / "index.html").is_file()
    page = browser.new_page(viewport={"width": 900, "height": 1000})
    page.goto(base + "/")
    honeypot = page.locator("input[name=website]").bounding_box()
    assert honeypot is not None
    assert honeypot["x"] < -1000, "the honeypot is on screen"
    page.screenshot(path=str(screenshot_path("run-home.png", root)), full_page=True)
    page.fill("input[name=email]", "Mira.Lind@Example.com")
    page.fill("input[name=name]", "Mira")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "check your inbox" in page.content()

    caught = _caught(root / "var" / "mailcatcher", 1)
    message = message_from_bytes(caught[0].read_bytes(), policy=policy.default)
    assert str(message["To"]) == "mira.lind@example.com"  # the name is never echoed
    body = message.get_body(("plain",))
    assert body is not None
    link = re.search(r"http://127\.0\.0\.1:\d+/confirm/\S+", body.get_content())
    assert link is not None, "the confirmation email has no confirm link"

    page.goto(base + "/caught")
    assert str(message["Subject"]) in page.content()
    page.screenshot(path=str(screenshot_path("run-caught.png", root)), full_page=True)

    page.goto(link.group(0))
    page.click("button[type=submit]")
    page.wait_for_load_state()
    _caught(root / "var" / "mailcatcher", 2)  # the welcome email
    with sqlite3.connect(root / "var" / "newsletter.db") as db:
        status = db.execute(
            "SELECT s.status FROM subscriptions s JOIN subscribers p ON p.id = s.subscriber_id "
            "WHERE p.email = 'mira.lind@example.com'"
        ).fetchone()
    assert status == ("active",)
    assert process.poll() is None, "the service stopped by itself"
