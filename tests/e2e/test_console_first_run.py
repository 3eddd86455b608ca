"""The README's command opens the console to a new user: `newsletter run` makes the first owner.

Run as a new user would, in a fresh folder with no terminal attached: the
start-up panel shows the console's address, an owner address and a generated
password, once. That password logs in over HTTP. A second run makes no second
owner and shows no password.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import pytest

from tests.support.console import login
from tests.support.net import free_port
from tests.support.processes import stop_process

REPO = Path(__file__).resolve().parents[2]
NEWSLETTER = str(Path(sys.executable).with_name("newsletter"))


def run_until_serving(root: Path, log_name: str) -> tuple[str, str]:
    """Start `newsletter run`, wait for the console, stop it; its URL and what it printed."""
    port, smtp_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update({"NEWSLETTER_BASE_URL": base, "NEWSLETTER_SMTP_PORT": str(smtp_port),
                "COLUMNS": "100"})
    log_path = root / log_name
    with log_path.open("wb") as log:
        process = subprocess.Popen([NEWSLETTER, "run", "--port", str(port)], cwd=root, env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                with urllib.request.urlopen(base + "/admin/login", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the console did not answer"
                time.sleep(0.2)
        return base, log_path.read_text(encoding="utf-8")
    finally:
        stop_process(process)


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    root = tmp_path / "clone"
    root.mkdir()
    for name in ("docs/examples", "issues", "subscribers"):
        shutil.copytree(REPO / name, root / name)
    return root


@pytest.mark.slow
def test_the_first_run_makes_an_owner_whose_printed_password_logs_in_and_the_next_run_does_not(
    fresh_clone: Path,
) -> None:
    base, printed = run_until_serving(fresh_clone, "first.log")
    assert f"{base}/admin" in printed
    owner = re.search(r"log in as\s+(\S+@\S+)", printed)
    password = re.search(r"password\s+(\S+)\s+\(shown once\)", printed)
    assert owner, printed
    assert password, printed
    assert owner.group(1) == "owner@clinic.example.com"  # the sample sender's domain

    _, second = run_until_serving(fresh_clone, "second.log")
    assert "/admin" in second
    assert "shown once" not in second
    assert password.group(1) not in second

    # The password still works after the restart (it was stored hashed, not printed again).
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["NEWSLETTER_BASE_URL"] = f"http://127.0.0.1:{port}"
    with (fresh_clone / "serve.log").open("wb") as log:
        server = subprocess.Popen([NEWSLETTER, "serve", "--port", str(port)], cwd=fresh_clone,
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            while True:
                try:
                    client.get("/admin/login")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
            login(client, owner.group(1), password.group(1))
            dashboard = client.get("/admin")
            assert dashboard.status_code == 200
            assert "Staff" in dashboard.text  # an owner sees staff management
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
