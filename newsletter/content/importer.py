"""``import-article``: the one content module that touches files (reads articles, writes series).

Reads the article, parses it (:mod:`newsletter.content.parse`), builds the
proposal (:mod:`newsletter.content.proposal`), applies staff's merges and
splits (:mod:`newsletter.content.adjust`: the ones recorded by earlier imports,
then ``--merge``/``--split-at``), plans the issue files
(:mod:`newsletter.content.series_plan`), decides what may be overwritten
(:mod:`newsletter.content.reimport`), and only then writes, each file
atomically (temporary file in the same folder, then rename), ``series.toml``
last. With ``dry_run`` nothing is written: the report shows the proposal.

``series.toml`` is merged, not replaced: keys staff set (mode, template,
time_zone, a changed title...) survive a re-import; ``--title`` and ``--list``
overwrite theirs. Its ``[import]`` table records the source file name, format,
source hash, time, the article's address (``source_url``, reused when the
option is not given again), staff's merges and splits (``joined``,
``split_at``, by heading), and the hash of every generated file. When a re-import
would change nothing on disk, ``series.toml`` is not rewritten either, so a
re-import of an unchanged article is a true no-op.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import tomli_w

from newsletter.content import adjust
from newsletter.content.adjust import Adjustments
from newsletter.content.article import ArticleFormat, Dropped
from newsletter.content.detect import detect_format
from newsletter.content.extract import DEFAULT_EXTRACTOR
from newsletter.content.issuefile import SERIES_FILE, issue_paths, sha256_hex
from newsletter.content.links import is_web_address
from newsletter.content.lists import LISTS_FILE, read_lists
from newsletter.content.parse import parse_article
from newsletter.content.proposal import ImportProposal, propose
from newsletter.content.reimport import Change, plan_changes
from newsletter.content.series_plan import plan_series, subject_warnings
from newsletter.errors import ContentError, EditedFilesError

SERIES_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SERIES_SLUG_MAX = 64
BACKUP_DIR = ".replaced"


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, with ``dry_run``, would do): the proposal and one change per file."""

    series: str
    folder: Path
    source: Path
    format: ArticleFormat
    title: str
    list_slug: str
    changes: list[Change]
    series_file: Literal["created", "updated", "unchanged"]
    proposal: ImportProposal
    adjustments: Adjustments = field(default_factory=Adjustments)
    notes: list[str] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)
    dry_run: bool = False
    time_zone: str | None = None  # the series' zone as series.toml has it (None: not set)
    time_zone_from: str = "series.toml"  # where that zone came from

    @property
    def dropped(self) -> tuple[Dropped, ...]:
        """Every block the import left out, with its reason."""
        return self.proposal.dropped

    @property
    def sectionless(self) -> bool:
        """Whether the article had no section headings (it became one issue)."""
        return not any(b.section for b in self.proposal.blocks)


def check_series_slug(slug: str) -> str:
    """``slug`` if made of lowercase letters, digits and single '-'; else ContentError."""
    if len(slug) > SERIES_SLUG_MAX or not SERIES_SLUG_RE.match(slug):
        raise ContentError(
            f"series slug {slug!r} is not valid: use lowercase letters, digits and '-' "
            f"(e.g. 'pain-care'), at most {SERIES_SLUG_MAX} characters"
        )
    return slug


def read_article_text(source: Path) -> str:
    """The article's text; errors name the file (missing, a folder, unreadable, not UTF-8)."""
    if source.is_dir():
        raise ContentError(f"{source}: is a folder, not an article file")
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise ContentError(f"{source}: no such file") from None
    except OSError as err:
        raise ContentError(f"{source}: cannot read: {err.strerror}") from err
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ContentError(
            f"{source}:{line}: not UTF-8 text (byte {err.start}); save the file as UTF-8"
        ) from err
    return normal_newlines(text)


def normal_newlines(text: str) -> str:
    """``text`` with Windows and old Mac line ends (and a leading BOM) made plain."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def check_source_url(url: str) -> str:
    """``url`` if it is an absolute http(s) address; else ContentError with an example."""
    if not is_web_address(url):
        raise ContentError(
            f"--source-url {url!r} is not a web address: give the page's full address, "
            "like https://www.example.org/blog/pacing"
        )
    return url.strip()


def propose_source(
    source: Path, text: str, *, source_url: str = "", extractor: str = DEFAULT_EXTRACTOR
) -> ImportProposal:
    """The proposal for an article's text; an article without paragraphs is an error."""
    if not text.strip():
        raise ContentError(f"{source}: the article is empty")
    parsed = parse_article(text, detect_format(source.name, text), source_url=source_url,
                           extractor=extractor)
    proposal = propose(parsed)
    if not any(not b.heading for b in proposal.blocks):
        raise ContentError(f"{source}: no paragraphs found (only a title or headings)")
    return proposal


def _recorded(previous: Any) -> tuple[str, Adjustments]:
    """The source URL and adjustments an earlier import recorded."""
    if not isinstance(previous, dict):
        return "", Adjustments()

    def strings(key: str) -> tuple[str, ...]:
        value = previous.get(key, [])
        return tuple(str(v) for v in value) if isinstance(value, list) else ()

    url = previous.get("source_url", "")
    return (url if isinstance(url, str) else ""), Adjustments(
        strings("joined"), strings("split_at"), strings("split_at_paragraph"))


def adjusted(
    proposal: ImportProposal,
    recorded: Adjustments,
    merges: tuple[str, ...] = (),
    splits: tuple[str, ...] = (),
) -> tuple[ImportProposal, list[str]]:
    """Recorded adjustments, then ``--merge`` (numbers as shown after those), ``--split-at``."""
    current, problems = adjust.apply(proposal, recorded)
    current = adjust.merge_all(current, [adjust.parse_merge(m) for m in merges])
    for heading in splits:
        current = adjust.split_at(current, heading)
    return current, problems


def _read_series_toml(folder: Path) -> dict[str, Any]:
    path = folder / SERIES_FILE
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ContentError(f"{path}: not valid TOML, so the import cannot merge it: {err}") from err


def _choose_list(subscribers_dir: Path, wanted: str | None, current: Any) -> str:
    declared = [config.slug for config in read_lists(subscribers_dir)]
    lists_file = subscribers_dir / LISTS_FILE
    if wanted is not None:
        if declared and wanted not in declared:
            raise ContentError(
                f"list {wanted!r} is not declared in {lists_file} (declared: {', '.join(declared)})"
            )
        return wanted
    if isinstance(current, str) and current:
        return current
    if not declared:
        raise ContentError(f"no --list given and {lists_file} declares no list")
    return declared[0]


def _default_mode() -> int:
    """0666 minus the process umask: the mode ``open()`` would give a new file."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` all at once (temporary file in the same folder, rename)."""
    try:
        handle, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as err:
        raise ContentError(f"{path}: cannot write: {err.strerror}") from err
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp makes the file private (0600); an issue file is ordinary project text.
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else _default_mode())
        os.replace(temporary, path)
    except OSError as err:
        Path(temporary).unlink(missing_ok=True)
        raise ContentError(f"{path}: cannot write: {err.strerror}") from err


def _conflict_error(folder: Path, conflicts: list[Change]) -> EditedFilesError:
    paths = [str(folder / c.name) for c in conflicts]
    listed = "; ".join(f"{folder / c.name} ({c.conflict})" for c in conflicts)
    return EditedFilesError(
        f"re-import would overwrite or remove files staff changed: {listed}. "
        "Nothing was written. Re-run with --force to replace them (copies are kept "
        f"in {folder / BACKUP_DIR}/).",
        paths,
    )


def import_article(
    source: Path,
    *,
    issues_dir: Path,
    subscribers_dir: Path,
    series: str,
    now: datetime,
    title: str | None = None,
    list_slug: str | None = None,
    force: bool = False,
    source_url: str | None = None,
    merges: tuple[str, ...] = (),
    splits: tuple[str, ...] = (),
    reset_split: bool = False,
    adjustments: Adjustments | None = None,
    dry_run: bool = False,
    extractor: str = DEFAULT_EXTRACTOR,
    time_zone: str | None = None,
    text: str | None = None,
) -> ImportReport:
    """Import ``source`` as the series ``series`` under ``issues_dir`` (rules: module docstring).

    ``adjustments`` (from :func:`newsletter.content.adjust.adjustments_of`, as the
    console passes them) replace the recorded merges and splits; ``merges`` and
    ``splits`` (the CLI's options) are applied on top of the recorded ones.
    A new series gets a ``time_zone`` in its series.toml (its list's, else the
    configured ``time_zone``), so its times are never UTC by accident; an
    existing series.toml keeps its own.
    ``text`` is the article itself when it was pasted or uploaded (the console):
    ``source`` then only names it (its extension picks the format, and the name
    is recorded); otherwise the file ``source`` is read.
    """
    check_series_slug(series)
    if source_url:
        check_source_url(source_url)
    text = read_article_text(source) if text is None else normal_newlines(text)
    folder = issues_dir / series
    raw = _read_series_toml(folder)
    previous = raw.get("import", {})
    recorded_url, recorded = _recorded(previous)
    url = source_url or recorded_url
    base = propose_source(source, text, source_url=url, extractor=extractor)
    start = adjustments if adjustments is not None else (
        Adjustments() if reset_split else recorded)
    proposal, notes = adjusted(base, start, merges, splits)
    chosen = adjust.adjustments_of(proposal)
    series_title = title or raw.get("title") or proposal.title
    if not series_title:
        raise ContentError(f"{source}: no title found in the article; pass --title")
    chosen_list = _choose_list(subscribers_dir, list_slug, raw.get("list"))
    list_zone = next((c.time_zone for c in read_lists(subscribers_dir)
                      if c.slug == chosen_list and c.time_zone), None)
    zone_from = f"the time zone of the list {chosen_list}" if list_zone else (
        "the time_zone setting")
    time_zone = list_zone or time_zone

    planned = plan_series(proposal, series_title)
    notes += subject_warnings(planned)
    existing = {p.name: p.read_bytes() for p in issue_paths(folder)} if folder.is_dir() else {}
    hashes = previous.get("files", {}) if isinstance(previous, dict) else {}
    hashes = hashes if isinstance(hashes, dict) else {}
    source_hash = sha256_hex(text)
    # Edits win without --force only when nothing staff asked for has changed either.
    same_source = (
        isinstance(previous, dict)
        and previous.get("source_sha256") == source_hash
        and url == recorded_url
        and chosen == recorded
    )
    plan = plan_changes(planned, existing, hashes, keep_edits=same_source and not force)
    if plan.conflicts and not force and not dry_run:
        raise _conflict_error(folder, plan.conflicts)

    files = {c.name: sha256_hex(c.data) for c in plan.changes if c.data is not None}
    # A kept edited file keeps its recorded hash, so it still counts as edited next time.
    files.update({c.name: hashes[c.name] for c in plan.changes if c.note and c.name in hashes})
    files = dict(sorted(files.items()))
    new_raw: dict[str, Any] = {
        "title": series_title,
        "list": chosen_list,
        "mode": raw.get("mode", "broadcast"),
        **({"time_zone": time_zone} if time_zone and not raw else {}),
        **{k: v for k, v in raw.items() if k not in ("title", "list", "mode", "import")},
        "import": {
            "source": source.name,
            "format": proposal.format,
            "source_sha256": source_hash,
            **({"source_url": url} if url else {}),
            **({"joined": list(chosen.joined)} if chosen.joined else {}),
            **({"split_at": list(chosen.split_at)} if chosen.split_at else {}),
            **({"split_at_paragraph": list(chosen.split_at_paragraph)}
               if chosen.split_at_paragraph else {}),
            "imported_at": now.replace(microsecond=0),
            "files": files,
        },
    }
    same_import = isinstance(previous, dict) and all(
        previous.get(key) == new_raw["import"].get(key)
        for key in ("source", "format", "source_sha256", "source_url", "joined", "split_at",
                    "split_at_paragraph", "files")
    )
    unchanged = (
        bool(raw)
        and not plan.touches_disk
        and same_import
        and all(raw.get(k) == new_raw[k] for k in ("title", "list", "mode"))
    )
    series_state: Literal["created", "updated", "unchanged"] = (
        "unchanged" if unchanged else "updated" if raw else "created"
    )

    backups: list[Path] = []
    if not unchanged and not dry_run:
        folder.mkdir(parents=True, exist_ok=True)
        backups = _back_up(folder, plan.conflicts, now)
        for change in plan.changes:
            if change.action in ("created", "updated") and change.data is not None:
                write_atomic(folder / change.name, change.data)
            elif change.action == "removed":
                (folder / change.name).unlink(missing_ok=True)
        write_atomic(folder / SERIES_FILE, tomli_w.dumps(new_raw).encode("utf-8"))
    return ImportReport(
        series=series,
        folder=folder,
        source=source,
        format=proposal.format,
        title=series_title,
        list_slug=chosen_list,
        changes=plan.changes,
        series_file=series_state,
        proposal=proposal,
        adjustments=chosen,
        notes=notes,
        backups=backups,
        dry_run=dry_run,
        time_zone=new_raw.get("time_zone"),
        time_zone_from="series.toml" if raw.get("time_zone") else zone_from,
    )


def _back_up(folder: Path, conflicts: list[Change], now: datetime) -> list[Path]:
    """Copy files about to be replaced under ``--force`` to ``.replaced/<time>/``."""
    if not conflicts:
        return []
    target = folder / BACKUP_DIR / now.strftime("%Y%m%dT%H%M%SZ")
    copies: list[Path] = []
    try:
        target.mkdir(parents=True, exist_ok=True)
        for change in conflicts:
            copy = target / change.name
            shutil.copy2(folder / change.name, copy)
            copies.append(copy)
    except OSError as err:
        raise ContentError(f"{target}: cannot keep a copy of replaced files: {err}") from err
    return copies
