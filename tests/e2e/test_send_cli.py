"""``newsletter send``/``status``/``resume`` as a person runs them, with the built-in catcher."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from newsletter.app import App, create_app
from newsletter.config import load_settings
from newsletter.delivery.outbox import send_issue_now
from newsletter.web.app import create_web_app
from tests.support.audience import seed
from tests.support.cli import Cli
from tests.support.signup import LiveServer

AUDIENCE = 25


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "NEWSLETTER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "NEWSLETTER_SECRET_KEYS": "cli-secret", "NEWSLETTER_TRANSPORT": "catcher",
            "NEWSLETTER_BASE_URL": "https://news.example.org", "COLUMNS": "200"}


@pytest.fixture
def cli_app(project: Path, environment: dict[str, str]) -> Iterator[App]:
    application = create_app(load_settings(project, environ=environment))
    seed(application, project, AUDIENCE)
    yield application
    application.close()


def run(project: Path, environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsletter", *args], cwd=project,
                          env=environment, capture_output=True, text=True, timeout=120)


def test_send_issue_queues_once_sends_to_the_catcher_and_status_counts_it(
        cli_app: App, project: Path, environment: dict[str, str]) -> None:
    dry = run(project, environment, "send", "--issue", "pain-care/1", "--dry-run")
    assert dry.returncode == 0
    assert f"Would queue pain-care/1: {AUDIENCE} new recipients" in dry.stdout
    assert "nothing was sent" in dry.stdout
    first = run(project, environment, "send", "--issue", "pain-care/1")
    assert first.returncode == 0, first.stderr
    assert f"Queued pain-care/1: {AUDIENCE} new recipients" in first.stdout
    assert f"sent {AUDIENCE}" in first.stdout
    caught = list((project / "var" / "mailcatcher").glob("*.eml"))
    assert len(caught) == AUDIENCE
    again = run(project, environment, "send", "--issue", "pain-care/1")
    assert "0 new recipients" in again.stdout
    assert "nothing was due" in again.stdout
    status = run(project, environment, "status")
    assert status.returncode == 0
    line = next(row for row in status.stdout.splitlines() if "pain-care/1" in row)
    assert str(AUDIENCE) in line
    assert "finished" in line


def test_send_with_a_limit_sends_only_that_many(
        cli_app: App, project: Path, environment: dict[str, str]) -> None:
    result = run(project, environment, "send", "--issue", "pain-care/1", "--limit", "10")
    assert result.returncode == 0, result.stderr
    assert "sent 10" in result.stdout


def test_a_bad_issue_argument_is_a_clear_error_without_a_traceback(
        cli_app: App, project: Path, environment: dict[str, str]) -> None:
    # A malformed value is a usage error (click's exit status 2); an unknown issue is not found.
    for argument, status in (("pain-care", 2), ("no-such-series/1", 1), ("pain-care/99", 1)):
        result = run(project, environment, "send", "--issue", argument)
        assert result.returncode == status
        assert "Traceback" not in result.stderr
        assert "Error:" in result.stderr


def test_the_caught_mail_page_lists_and_shows_messages(
        cli_app: App, project: Path, environment: dict[str, str]) -> None:
    run(project, environment, "send", "--issue", "pain-care/1", "--limit", "2")
    # Caught mail is shown only while base_url is local too (issue 13, item 1).
    local = App(**{**vars(cli_app), "settings": cli_app.settings.model_copy(
        update={"base_url": "http://127.0.0.1:8000"})})
    with LiveServer(create_web_app(local)) as live:
        index = httpx.get(f"{live.url}/caught")
        assert index.status_code == 200
        assert index.text.count('href="/caught/') == 2
        link = index.text.split('href="/caught/', 1)[1].split('"', 1)[0]
        page = httpx.get(f"{live.url}/caught/{link}")
        assert page.status_code == 200
        assert "Part 1" in page.text
        frame = httpx.get(f"{live.url}/caught/{link}/html")
        assert "sandbox" in frame.headers["content-security-policy"]
        assert httpx.get(f"{live.url}/caught/..%2Fsecret_key").status_code == 404


def test_the_worker_process_sends_queued_mail_and_stops_cleanly_on_sigterm(
        cli_app: App, project: Path, environment: dict[str, str]) -> None:
    import signal
    import time

    from newsletter.delivery.outbox import send_issue_now
    from tests.support.audience import counts

    worker = subprocess.Popen([sys.executable, "-m", "newsletter", "worker", "--idle", "0.2"],
                              cwd=project, env=environment, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        issue_id, added = send_issue_now(cli_app, "pain-care", 1)
        assert added == AUDIENCE
        deadline = time.monotonic() + 60
        while counts(cli_app, issue_id) != {"sent": AUDIENCE}:
            assert time.monotonic() < deadline, counts(cli_app, issue_id)
            time.sleep(0.1)  # a real process: wait for it in real time
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    # One line per drain and process (`worker` runs one sending process per core).
    assert sum(int(n) for n in re.findall(r"\bsent (\d+)", out)) == AUDIENCE, out


@pytest.mark.slow
def test_a_locked_database_is_a_clear_error_and_the_next_send_loses_nobody(
        cli_app: App, project: Path, environment: dict[str, str], tmp_path: Path) -> None:
    _issue, added = send_issue_now(cli_app, "pain-care", 1)  # queue only
    assert added == AUDIENCE
    # Another process holds SQLite's write lock for longer than our busy timeout.
    holder = sqlite3.connect(tmp_path / "cli.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        blocked = run(project, environment, "send")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert blocked.returncode == 1
    assert "Traceback" not in blocked.stderr
    assert "database busy or unreachable while sending" in blocked.stderr
    assert not list((project / "var" / "mailcatcher").glob("*.eml")), "sent without its row"
    recovered = run(project, environment, "send")
    assert recovered.returncode == 0, recovered.stderr
    assert len(list((project / "var" / "mailcatcher").glob("*.eml"))) == AUDIENCE


def test_resume_names_an_unknown_issue_and_refuses_a_malformed_one(
        cli_app: App, project: Path, environment: dict[str, str]) -> None:
    cli = Cli(cli_app.settings, cli_app.clock)
    unknown = cli.invoke("resume", "--issue", "pain-care/9")
    assert unknown.exit_code == 1
    assert "no issue pain-care/9 in the database" in unknown.output
    malformed = cli.invoke("resume", "--issue", "pain-care")
    assert malformed.exit_code == 2
    assert "expected SERIES/N" in malformed.output
    assert cli.run("resume").output == "Lifted 0 pauses.\n"


def test_counts_of_one_read_as_singular(
        project: Path, environment: dict[str, str]) -> None:
    # "Queued pacing/1: 1 new recipients." (issue 13, item 18)
    application = create_app(load_settings(project, environ=environment))
    try:
        seed(application, project, 1)
        cli = Cli(application.settings, application.clock)
        dry = cli.run("send", "--issue", "pain-care/1", "--dry-run")
        assert "Would queue pain-care/1: 1 new recipient (dry run)." in dry.output
        sent = cli.run("send", "--issue", "pain-care/1")
        assert "Queued pain-care/1: 1 new recipient." in sent.output
        send_issue_now(application, "pain-care", 2)
        due = cli.run("send", "--dry-run")
        assert "1 message is due now; nothing was sent" in due.output
        assert cli.run("resume").output == "Lifted 0 pauses.\n"
    finally:
        application.close()


def test_send_corrected_and_editions_as_staff_run_them(
        cli_app: App, project: Path, environment: dict[str, str]) -> None:
    first = run(project, environment, "send", "--issue", "pain-care/1", "--limit", "5",
                "--processes", "1")
    assert first.returncode == 0, first.stderr
    same = run(project, environment, "send-corrected", "pain-care/1")
    assert "the files are the same as edition 1; nothing to correct" in same.stdout
    issue = sorted((project / "issues" / "pain-care").glob("01*.md"))[0]
    issue.write_text(issue.read_text(encoding="utf-8") + "\nA correction.\n", encoding="utf-8")
    fixed = run(project, environment, "send-corrected", "pain-care/1")
    assert fixed.returncode == 0, fixed.stderr
    assert (f"pain-care/1: edition 2 goes to {AUDIENCE - 5} recipients not yet sent; "
            "the edition of 5 other recipients stays as it was.") in fixed.stdout
    listed = run(project, environment, "editions", "pain-care/1")
    assert listed.returncode == 0, listed.stderr
    lines = [line.split() for line in listed.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [(line[0], line[3], line[4]) for line in lines] == [
        ("1", "fan-out", "5"), ("2", "corrected", str(AUDIENCE - 5))]
    missing = run(project, environment, "send-corrected", "pain-care/9")
    assert missing.returncode != 0
    assert "Traceback" not in missing.stderr
