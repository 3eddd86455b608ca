"""What a (re-)import may do to the files already in a series folder (pure: decides, never writes).

Every import records, in ``series.toml``'s ``[import.files]`` table, the SHA-256
of each issue file exactly as it generated it. On the next import each existing
issue file is therefore one of:

* **generated** — recorded, and its bytes still have the recorded hash: ours to
  rewrite (or to leave alone when the new text is identical);
* **edited** — recorded, but the hash differs: staff changed it;
* **hand-made** — not recorded at all: staff added it.

The rules:

1. A planned file whose name is free is **created**.
2. A generated file is **updated** with the new text (or left **unchanged**).
3. A generated file the new import no longer produces (fewer sections, or a
   renamed heading) is **stale** and is **removed**, so the series does not keep
   an orphan issue.
4. An edited file that the import would overwrite or remove is a **conflict**.
5. A hand-made file is **kept** untouched, unless the import would overwrite it
   or produce another file with the same number prefix: then it is a conflict.
6. When the article itself is unchanged since the last import
   (``keep_edits``), an edited file the import would rewrite is simply **kept**:
   there is nothing new to bring in, so the staff's version wins without
   ``--force`` (this is what lets ``newsletter run`` re-import on every start).
7. Conflicts stop the whole import (nothing is written) with
   :class:`~newsletter.errors.EditedFilesError` naming every file, unless
   ``force``: then each conflicting file is first **backed up** (the importer
   copies it to ``.replaced/<UTC time>/`` in the series folder) and then
   overwritten or removed. ``--force`` never destroys an edit without a copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from newsletter.content.issuefile import sha256_hex
from newsletter.content.series_plan import PlannedIssue

Action = Literal["created", "updated", "unchanged", "removed", "kept"]


@dataclass(frozen=True)
class Change:
    """One file and what the import does to it; ``conflict`` says why it needs ``--force``."""

    name: str
    action: Action
    title: str = ""
    data: bytes | None = None
    conflict: str = ""
    note: str = ""


@dataclass(frozen=True)
class ChangePlan:
    """Every change of an import, in order: planned files first, then stale or kept ones."""

    changes: list[Change] = field(default_factory=list)

    @property
    def conflicts(self) -> list[Change]:
        """The changes that would overwrite or remove staff's work."""
        return [c for c in self.changes if c.conflict]

    @property
    def touches_disk(self) -> bool:
        """Whether anything would be written or removed."""
        return any(c.action in ("created", "updated", "removed") for c in self.changes)


def _prefix(name: str) -> str:
    return name.split("-", 1)[0]


def plan_changes(
    planned: Sequence[PlannedIssue],
    existing: Mapping[str, bytes],
    recorded: Mapping[str, str],
    keep_edits: bool = False,
) -> ChangePlan:
    """Decide each file's fate from the planned issues, the files on disk and recorded hashes."""

    def state(name: str) -> str:
        if name not in recorded:
            return "hand-made"
        return "generated" if sha256_hex(existing[name]) == recorded[name] else "edited"

    changes: list[Change] = []
    planned_names = {p.filename for p in planned}
    planned_prefixes = {_prefix(p.filename) for p in planned}
    for issue in planned:
        data = issue.text.encode("utf-8")
        name = issue.filename
        if name not in existing:
            changes.append(Change(name, "created", issue.title, data))
            continue
        kind = state(name)
        if kind == "generated":
            action: Action = "unchanged" if existing[name] == data else "updated"
            changes.append(Change(name, action, issue.title, data))
        elif existing[name] == data:
            changes.append(Change(name, "unchanged", issue.title, data))
        elif kind == "edited" and keep_edits:
            note = "edited by staff; the article has not changed"
            changes.append(Change(name, "kept", issue.title, note=note))
        else:
            reason = "edited since it was imported" if kind == "edited" else "not made by an import"
            changes.append(Change(name, "updated", issue.title, data, conflict=reason))
    for name in sorted(existing):
        if name in planned_names:
            continue
        kind = state(name)
        if kind == "generated":
            changes.append(Change(name, "removed"))
        elif kind == "edited":
            changes.append(Change(name, "removed", conflict="edited, and no longer in the article"))
        elif _prefix(name) in planned_prefixes:
            reason = f"hand-made, and its number {_prefix(name)} is taken by the new import"
            changes.append(Change(name, "removed", conflict=reason))
        else:
            changes.append(Change(name, "kept"))
    return ChangePlan(changes)
