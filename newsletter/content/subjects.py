"""Subjects that stay true: staff's own words in the file, "part N of M" computed when rendered.

The subject in an issue file is text staff own. The import writes a default:
the issue's heading, then the series title, so a subject reads right in an
inbox full of other mail ("Your first appointment – Back Pain and
Physiotherapy" rather than "Your first appointment", which reads like an
appointment notice). When a subject is rendered (:func:`subject_line`), the
series as it is *now* decides the part number:

1. a "part N of M" anywhere in the subject (any case) gets the current
   numbers: "(part 4 of 4)" written by an older import, or by staff, reads
   "(part 4 of 5)" once a fifth issue exists; in a series of one issue a
   bracketed "(part 1 of 1)" is removed;
2. a subject that numbers itself another way ("Part 2: what causes it") is
   left exactly as staff wrote it;
3. otherwise, in a series of two or more issues, " (part N of M)" is appended.

N is the issue's position and M the number of issues, as in the body's
"Part N of M" line, so subject and body always agree.
"""

from __future__ import annotations

import re

SEPARATOR = " – "
_PART_OF = re.compile(r"(\(\s*)?\b(part)\s+(\d+)\s+of\s+(\d+)\b(\s*\))?", re.IGNORECASE)
_PART_ONLY = re.compile(r"\bpart\s+\d+\b", re.IGNORECASE)


def default_subject(heading: str, series_title: str) -> str:
    """The subject the import writes: heading, then series title (unless one holds the other)."""
    heading, series_title = heading.strip(), series_title.strip()
    if not series_title or series_title.casefold() in heading.casefold():
        return heading or series_title
    if not heading or heading.casefold() in series_title.casefold():
        return series_title
    return f"{heading}{SEPARATOR}{series_title}"


def strip_part(subject: str) -> str:
    """``subject`` without a "(part N of M)" (used when migrating older files)."""
    return " ".join(_PART_OF.sub("", subject).split())


def subject_line(subject: str, position: int, total: int) -> str:
    """The subject as sent: staff's text with the part number of the series as it is now."""
    match = _PART_OF.search(subject)
    if match:
        if total <= 1 and match.group(1) and match.group(5):
            return " ".join((subject[: match.start()] + subject[match.end() :]).split())
        part = match.group(2)
        fresh = f"{match.group(1) or ''}{part} {position} of {total}{match.group(5) or ''}"
        return subject[: match.start()] + fresh + subject[match.end() :]
    if _PART_ONLY.search(subject) or total <= 1:
        return subject
    return f"{subject} (part {position} of {total})"
