"""`newsletter serve` alone turns a form post into a queued confirmation email.

The request only stores a signup row (issue 14 item 5); `serve` runs the signup
processor in a child process so that a deployment with no worker yet still
queues confirmations, and `serve --no-ingest` leaves that to `newsletter worker`.
A real process, a real SQLite file, real HTTP.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.processes import children_of, stop_process

REPO = Path(__file__).resolve().parents[2]
NEWSLETTER = str(Path(sys.executable).with_name("newsletter"))


def _post(url: str, email: str) -> int:
    body = urllib.parse.urlencode({"email": email, "list": "clinic-news"}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=30) as answer:
        return int(answer.status)


def _rows(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute(sql).fetchone()[0])


def _until(check: object, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    shutil.copytree(REPO / "subscribers", root / "subscribers")
    shutil.copytree(REPO / "issues", root / "issues")
    return root


def _serve(folder: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "NEWSLETTER_BASE_URL": base}
    env.pop("NEWSLETTER_DATABASE_URL", None)
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen([NEWSLETTER, "serve", "--port", str(port), *extra], cwd=folder,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert _until(lambda: _answers(base + "/assets/site.css")), "serve did not start"
        yield base, process
    finally:
        try:
            stop_process(process, sig=signal.SIGINT)
        finally:
            log.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_serve_alone_queues_the_confirmation_of_a_form_post(folder: Path) -> None:
    db = folder / "var" / "newsletter.db"
    for base, process in _serve(folder):
        assert _post(base + "/subscribe", "ana@example.com") == 200
        assert _until(lambda: _rows(db, "SELECT count(*) FROM deliveries "
                                        "WHERE kind = 'confirmation'") == 1)
        assert _rows(db, "SELECT count(*) FROM signups WHERE processed_at IS NULL") == 0
        assert process.poll() is None
    assert process.returncode is not None
    assert "Traceback" not in (folder / "serve.log").read_text(encoding="utf-8")


@pytest.mark.slow
def test_serve_with_no_ingest_only_stores_the_signup(folder: Path) -> None:
    db = folder / "var" / "newsletter.db"
    for base, _process in _serve(folder, "--no-ingest"):
        assert _post(base + "/subscribe", "ana@example.com") == 200
        assert _rows(db, "SELECT count(*) FROM signups WHERE processed_at IS NULL") == 1
    assert _rows(db, "SELECT count(*) FROM deliveries") == 0


def _signup_processor(serve: int) -> int | None:
    """The child of ``serve`` that multiprocessing spawned (not its resource tracker)."""
    for child in children_of(serve):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                return child
        except OSError:
            continue
    return None


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"  # a zombie has ended; only its exit status is left


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_a_killed_serve_leaves_no_signup_processor_behind(folder: Path) -> None:
    for _base, process in _serve(folder):
        pid = process.pid
        assert _until(functools.partial(_signup_processor, pid))  # it has started
        processor = _signup_processor(pid)
        assert processor is not None
        process.kill()  # SIGKILL: no clean shutdown, no stop event
        process.wait()
        # Within a deadline, not a timing claim: the kernel sends it SIGKILL at once.
        assert _until(functools.partial(_gone, processor), seconds=30), (
            f"signup processor {processor} outlived its killed `serve`")
