"""``newsletter run --port N`` with nothing configured works on port N (issue 13, item 10).

``base_url`` follows --host/--port when it is not configured, so the page's
stylesheet, its form and the links in mail all point at the port in use; a
port already taken stops the command before it says it is running.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.e2e.test_run_main_job import NEWSLETTER, _caught, _wait_for, fresh_clone
from tests.support.net import free_port
from tests.support.processes import stop_process

__all__ = ["fresh_clone"]  # the fixture, shared with the README's run test


def _env(smtp_port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSLETTER_")}
    env["NEWSLETTER_SMTP_PORT"] = str(smtp_port)  # the catcher's port: not the web's
    return env


@pytest.mark.browser
@pytest.mark.slow
def test_run_on_a_free_port_signs_up_and_confirms_end_to_end_in_a_browser(
        fresh_clone: Path, browser: Browser) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (fresh_clone / "run.log").open("wb")
    process = subprocess.Popen([NEWSLETTER, "run", "--port", str(port)], cwd=fresh_clone,
                               env=_env(free_port()), stdout=log, stderr=subprocess.STDOUT)
    page = None
    try:
        _wait_for(base + "/", process)
        page = browser.new_page()
        blocked: list[str] = []
        # What broke on main: the stylesheet and the form post to :8000, both refused.
        page.on("console", lambda message: blocked.append(message.text)
                if "stylesheet" in message.text or "form data" in message.text else None)
        page.goto(base + "/")
        assert page.locator("form").first.get_attribute("action") == f"{base}/subscribe"
        box = page.locator("input[name=website]").bounding_box()
        assert box is not None
        assert box["x"] < -1000, "the stylesheet did not load"
        page.fill("input[name=email]", "ines.port@example.com")
        page.click("button[type=submit]")
        page.wait_for_selector("text=check your inbox")

        [mail] = _caught(fresh_clone / "var" / "mailcatcher", 1)
        body = message_from_bytes(mail.read_bytes(), policy=policy.default).get_body(("plain",))
        assert body is not None
        link = re.search(r"http://\S+/confirm/\S+", body.get_content())
        assert link is not None
        assert link.group(0).startswith(f"{base}/confirm/")
        page.goto(link.group(0))
        page.click("button[type=submit]")
        page.wait_for_selector("text=You are subscribed")
        assert blocked == []
    finally:
        if page is not None:
            page.close()
        try:
            stop_process(process)
        finally:
            log.close()
    with sqlite3.connect(fresh_clone / "var" / "newsletter.db") as db:
        status = db.execute(
            "SELECT s.status FROM subscriptions s JOIN subscribers p ON p.id = s.subscriber_id "
            "WHERE p.email = 'ines.port@example.com'").fetchone()
    assert status == ("active",)


@pytest.mark.slow
@pytest.mark.parametrize("taken_one", ["web", "catcher"])
def test_run_on_a_port_in_use_says_so_before_claiming_to_run(
        fresh_clone: Path, taken_one: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        web, smtp = (port, free_port()) if taken_one == "web" else (free_port(), port)
        result = subprocess.run([NEWSLETTER, "run", "--port", str(web)], cwd=fresh_clone,
                                env=_env(smtp), capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "newsletter is running" not in result.stdout
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr
