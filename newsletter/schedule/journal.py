"""The fan-out journal: a record, outside the database, of what the scheduler queued.

Why: after a database is restored from a backup older than a fan-out, the
``broadcasts`` row says "scheduled" again and the outbox rows are gone, so
the database alone would mail the whole list a second time (RELIABILITY #45).
The scheduler therefore appends one JSON line per broadcast fan-out and per
drip issue to ``var/schedule-journal.jsonl`` after the transaction commits,
and consults it before queueing: what the journal says went out is marked as
such (broadcast) or counted as received (drip) instead of being sent again.

The journal is append-only and flushed to disk per entry. An entry is written
after the commit, so a crash between the two can lose one entry: the window is
one transaction, not a backup interval.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

JOURNAL_FILE = "schedule-journal.jsonl"


@dataclass
class JournalView:
    """What the journal says went out: broadcast issue ids and drip (issue, subscriber) pairs."""

    broadcasts: dict[int, str] = field(default_factory=dict)
    drips: set[tuple[int, int]] = field(default_factory=set)


class Journal:
    """Append-only JSON lines in the scheduler's var folder; read once per tick."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_folder(cls, var_path: Path) -> Journal:
        """The journal kept in ``var_path``."""
        return cls(var_path / JOURNAL_FILE)

    def read(self) -> JournalView:
        """Everything recorded so far (an unreadable line is skipped, never fatal)."""
        view = JournalView()
        if not self.path.exists():
            return view
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                    issue_id = int(entry["issue"])
                    if entry["kind"] == "broadcast":
                        view.broadcasts[issue_id] = str(entry["at"])
                    elif entry["kind"] == "drip":
                        view.drips.add((issue_id, int(entry["subscriber"])))
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line after a crash
        return view

    def _append(self, entries: list[dict[str, object]]) -> None:
        if not entries:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps(entry, sort_keys=True) + "\n" for entry in entries)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    def broadcast(self, issue_id: int, at: datetime) -> None:
        """Record that ``issue_id`` was fanned out to its list at ``at``."""
        self._append([{"kind": "broadcast", "issue": issue_id, "at": at.isoformat()}])

    def drips(self, pairs: list[tuple[int, int]], at: datetime) -> None:
        """Record drip issues queued at ``at`` as (issue id, subscriber id) pairs."""
        self._append([
            {"kind": "drip", "issue": issue, "subscriber": subscriber, "at": at.isoformat()}
            for issue, subscriber in pairs
        ])
