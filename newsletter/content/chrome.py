"""Page chrome: the signup call-to-action a web page puts after an article.

Text copied from the clinic's site ends with lines such as "news via inbox" and
"Mail us for latest news and updates". They are page furniture, not content,
and they look like headings by shape, so they are removed *before* sections are
found.

The rule (deliberately narrow, so content is never lost):

* Only the **end** of the article is examined: units are removed from the last
  one backwards, and the scan stops at the first unit that is not chrome. A
  paragraph that mentions subscribing in the middle of the article is never
  touched, and neither is anything before the last real paragraph.
* A unit is chrome when it is **short** (at most :data:`MAX_CHROME_WORDS` words)
  and its plain wording matches one of :data:`CHROME_PATTERNS`
  (case-insensitive, anywhere in the unit).
* A heading left with nothing under it at the very end, once chrome after it
  is gone, was the title of the signup box ("Stay Connected") and goes too.

Everything removed is returned, so the caller can show it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from newsletter.content.article import Unit
from newsletter.content.words import markdown_to_plain, word_count

MAX_CHROME_WORDS = 25

CHROME_PATTERNS: tuple[str, ...] = (
    r"\bnews via (?:e-?mail|inbox)\b",
    r"\bmail us for (?:the )?latest news\b",
    r"\b(?:latest )?news and updates (?:in|to|via) your inbox\b",
    r"\bsubscribe (?:to|for) (?:our|the|my) (?:newsletter|mailing list|updates|news)\b",
    r"\bsign up (?:for|to) (?:our|the|my) (?:newsletter|mailing list|updates|news)\b",
    r"\bjoin (?:our|the|my) (?:newsletter|mailing list)\b",
    r"\benter your e-?mail(?: address)?\b",
    r"\byour e-?mail address\b",
    r"\bget (?:the latest|our) (?:news|updates)\b",
    r"^(?:subscribe|sign up|newsletter|stay connected|stay in touch|stay informed)[!.]?$",
)
_COMPILED = tuple(re.compile(p, re.IGNORECASE) for p in CHROME_PATTERNS)


def is_chrome(text: str) -> bool:
    """Whether one short block or heading reads as a signup call-to-action."""
    plain = markdown_to_plain(text) if text.strip() else ""
    if not plain or word_count(plain) > MAX_CHROME_WORDS:
        return False
    return any(pattern.search(plain) for pattern in _COMPILED)


def strip_trailing_chrome(units: Sequence[Unit]) -> tuple[list[Unit], list[str]]:
    """Split ``units`` into the article proper and the chrome removed from its end."""
    kept = list(units)
    dropped: list[str] = []
    while kept and is_chrome(kept[-1].text):
        dropped.insert(0, kept.pop().text)
    if dropped and kept and kept[-1].kind == "heading" and word_count(kept[-1].text) <= 6:
        dropped.insert(0, kept.pop().text)
    return kept, dropped
