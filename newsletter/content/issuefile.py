"""Issue files (``issues/<series>/NN-<slug>.md``) and ``series.toml``: the format staff edit.

An issue file is YAML front matter between ``---`` lines, then a Markdown body::

    ---
    title: What is chronic pain?
    subject: "Chronic pain, part 1: what it is"
    preheader: Pain that outlasts healing, and why it deserves care
    position: 1
    ---
    Markdown body...

The front matter is written by a YAML dumper and read with errors that name
the line and the likely fix (:mod:`newsletter.content.frontmatter`). The
subject is staff's text; the subject *sent* adds the part number of the series
as it is now (:meth:`SeriesDoc.subject_line`, rules in
:mod:`newsletter.content.subjects`).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from newsletter.content import frontmatter
from newsletter.content.subjects import subject_line
from newsletter.errors import ContentError, NotFoundError

SERIES_FILE = "series.toml"
ISSUE_FILE_RE = re.compile(r"^(\d{2,3})-[a-z0-9-]+\.md$")
FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n?(.*)\Z", re.DOTALL)
REQUIRED_FRONT = ("title", "subject", "position")
SeriesMode = Literal["broadcast", "drip"]


def sha256_hex(data: str | bytes) -> str:
    """Hex SHA-256 of a file's content; text is hashed as its UTF-8 bytes.

    The one hash of issue files: an issue's ``content_hash`` and the hashes an
    import records in ``series.toml`` (``[import.files]``, ``source_sha256``).
    """
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


@dataclass(frozen=True)
class IssueDoc:
    """One issue as staff wrote it: front matter fields and the Markdown body."""

    path: Path
    position: int
    title: str
    subject: str
    preheader: str
    body: str
    content_hash: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """The file name without the number prefix and extension."""
        return self.path.stem.split("-", 1)[1] if "-" in self.path.stem else self.path.stem


@dataclass(frozen=True)
class SeriesConfig:
    """``series.toml``: what a series is called, which list it goes to, how it is sent."""

    slug: str
    title: str
    list: str
    mode: SeriesMode = "broadcast"
    template: str | None = None
    sender: str | None = None
    time_zone: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SeriesDoc:
    """A series folder: its configuration and its issues in position order."""

    path: Path
    config: SeriesConfig
    issues: list[IssueDoc]

    def issue(self, position: int) -> IssueDoc:
        """The issue at ``position`` (1-based), or NotFoundError naming the series."""
        for doc in self.issues:
            if doc.position == position:
                return doc
        raise NotFoundError(
            f"series {self.config.slug!r} has no issue {position} "
            f"(it has {', '.join(str(d.position) for d in self.issues) or 'none'})"
        )

    def subject_line(self, issue: IssueDoc) -> str:
        """``issue``'s subject as sent: staff's text with the current "part N of M"."""
        return subject_line(issue.subject, issue.position, len(self.issues))


def format_issue(front: dict[str, Any], body: str) -> str:
    """The text of an issue file: YAML front matter, a blank-free separator, the body."""
    return f"---\n{frontmatter.dump(front)}\n---\n\n{body.strip()}\n"


def parse_issue(text: str, path: Path) -> IssueDoc:
    """Parse an issue file's text; errors name the file and, for YAML, the line."""
    match = FRONT_MATTER_RE.match(text)
    if not match:
        raise ContentError(f"{path}: no front matter (the file must start with a '---' line)")
    front = frontmatter.load(match.group(1), path)
    for key in REQUIRED_FRONT:
        if front.get(key) in (None, ""):
            raise ContentError(f"{path}: front matter is missing {key!r}")
    position = front["position"]
    if not isinstance(position, int) or isinstance(position, bool) or position < 1:
        raise ContentError(f"{path}: 'position' must be a whole number from 1, not {position!r}")
    known = {"title", "subject", "preheader", "position"}
    return IssueDoc(
        path=path,
        position=position,
        title=str(front["title"]),
        subject=str(front["subject"]),
        preheader=str(front.get("preheader") or ""),
        body=match.group(2).strip() + "\n",
        content_hash=sha256_hex(text),
        extra={k: v for k, v in front.items() if k not in known},
    )


def read_issue(path: Path) -> IssueDoc:
    """Read and parse one issue file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ContentError(f"{path}: not UTF-8 text (byte {err.start})") from err
    except OSError as err:
        raise ContentError(f"{path}: cannot read: {err.strerror}") from err
    return parse_issue(text, path)


def read_series_config(folder: Path) -> SeriesConfig:
    """Read ``series.toml`` in ``folder``."""
    path = folder / SERIES_FILE
    if not path.exists():
        raise NotFoundError(f"{folder}: no {SERIES_FILE}, so this is not a series folder")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ContentError(f"{path}: not valid TOML: {err}") from err
    mode = raw.get("mode", "broadcast")
    if mode not in ("broadcast", "drip"):
        raise ContentError(f"{path}: mode must be 'broadcast' or 'drip', not {mode!r}")
    for key in ("title", "list"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ContentError(f"{path}: {key!r} is missing")
    return SeriesConfig(
        slug=folder.name,
        title=raw["title"],
        list=raw["list"],
        mode=mode,
        template=raw.get("template"),
        sender=raw.get("sender"),
        time_zone=raw.get("time_zone"),
        raw=raw,
    )


def issue_paths(folder: Path) -> list[Path]:
    """The issue files of a series folder, sorted by name."""
    return sorted(p for p in folder.iterdir() if ISSUE_FILE_RE.match(p.name))


def read_series(folder: Path) -> SeriesDoc:
    """Read a series folder; positions must be unique."""
    config = read_series_config(folder)
    issues = sorted((read_issue(p) for p in issue_paths(folder)), key=lambda d: d.position)
    seen: dict[int, Path] = {}
    for doc in issues:
        if doc.position in seen:
            raise ContentError(
                f"{doc.path}: position {doc.position} is also used by {seen[doc.position].name}"
            )
        seen[doc.position] = doc.path
    return SeriesDoc(path=folder, config=config, issues=issues)


def list_series(issues_dir: Path) -> list[str]:
    """Slugs of the series folders under ``issues_dir``."""
    if not issues_dir.is_dir():
        return []
    return sorted(p.name for p in issues_dir.iterdir() if (p / SERIES_FILE).is_file())


def find_series(issues_dir: Path, slug: str) -> SeriesDoc:
    """Read the series ``slug``, or NotFoundError listing the ones that exist."""
    folder = issues_dir / slug
    if not (folder / SERIES_FILE).is_file():
        known = ", ".join(list_series(issues_dir)) or "none"
        raise NotFoundError(f"no series {slug!r} in {issues_dir} (known: {known})")
    return read_series(folder)
