"""Helpers for the results and click tests: a list with click tracking, a send, the links we sent.

:func:`write_tracked_list` writes ``lists.toml`` with the clinic list and its
``click_tracking`` (and privacy notice); :func:`send_to_catcher` fans an issue
out and drains it into the mail catcher; :func:`click_links` reads the
``/c/...`` links of caught messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from newsletter.app import App
from newsletter.delivery.catcher import CATCHER_DIR, MailStore
from newsletter.delivery.outbox import send_issue_now
from newsletter.delivery.sender import drain
from tests.support import project as builder
from tests.support.console import console_project

NOTICE = "https://clinic.example.com/privacy"
READING = "https://clinic.example.com/reading/sleep-and-pain"
EXERCISE = "https://clinic.example.com/exercise"
CLICK_RE = re.compile(r"https?://[^\s\"'<>]+/c/[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)?")


def write_tracked_list(project: Path, mode: str | None, *, notice: str | None = NOTICE,
                       slug: str = "clinic-news", name: str = "Riverside Pain Clinic News"
                       ) -> Path:
    """``subscribers/lists.toml`` with one list; ``mode`` None writes no click setting."""
    lines = ["[[list]]", f'slug = "{slug}"', f'name = "{name}"']
    if mode is not None:
        lines.append(f'click_tracking = "{mode}"')
    if notice is not None and mode == "people":
        lines.append(f'privacy_notice_url = "{notice}"')
    path = project / "subscribers" / "lists.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Caught:
    """One caught message: recipient, raw bytes, envelope sender, text and HTML parts."""

    to: str
    raw: bytes
    envelope_from: str
    text: str
    html: str


def caught(app: App) -> list[Caught]:
    """Every message in the catcher (newest first)."""
    found = []
    for mail in MailStore(app.settings.var_path / CATCHER_DIR, app.clock).list():
        message = mail.message()
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        assert text is not None
        assert html is not None
        found.append(Caught(str(message["X-Envelope-To"]).strip("<>"), mail.path.read_bytes(),
                            str(message["Return-Path"]).strip("<>"),
                            str(text.get_content()), str(html.get_content())))
    return found


def send_to_catcher(app: App, series: str, position: int) -> int:
    """Queue issue ``position`` for the list and send it to the catcher; the issue id."""
    issue_id, _ = send_issue_now(app, series, position)
    drain(app)
    return issue_id


def click_links(text: str) -> list[str]:
    """The click-redirect links in a message part, in order."""
    return CLICK_RE.findall(text)


def linked_issue(position: int) -> builder.IssueSpec:
    """A short issue with two links out (the same in every issue of the series)."""
    return builder.IssueSpec(
        title=f"Part {position}", subject=f"Pain care, part {position}",
        preheader=f"Part {position} in brief",
        body=(f"Part {position} of the series. Read [how sleep and pain meet]({READING}) "
              f"and try [the gentle exercises]({EXERCISE}).\n\n"
              "Questions? Write to [the desk](mailto:desk@clinic.example.com).\n"))


def results_project(root: Path, mode: str | None, issues: int = 4) -> Path:
    """A console project whose list has ``click_tracking = mode`` and a series ``care``."""
    console_project(root)
    write_tracked_list(root, mode, name="Riverside Clinic News")
    builder.write_series(root, "care", "Pain care",
                         [linked_issue(n) for n in range(1, issues + 1)], mode="broadcast",
                         time_zone="Europe/Berlin")
    return root
