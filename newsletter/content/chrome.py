"""Page chrome anywhere in an article: found, removed, and every removal reported.

Web pages put furniture inside the article as well as around it: a byline
under the title, a share bar between two paragraphs, a tag list, "Related
posts", a comment form, a "Book an appointment" button, the signup box. Staff
copy it along with the text. Two passes remove it, in any position:

1. **Blocks** (:func:`drop_blocks`): a unit the source marks as chrome (an HTML
   class such as ``share-buttons``: :attr:`Unit.hint`) or whose wording matches
   one of :data:`~newsletter.content.chrome_rules.BLOCK_RULES` (short blocks
   only). Units that open a region are left for pass 2. For plain text this
   pass runs *before* headings are recognised, because chrome lines look like
   headings ("Share this: Facebook Twitter" is a short capitalised line).
2. **Regions** (:func:`drop_regions`): a heading, or a short block standing for
   one, that matches :data:`~newsletter.content.chrome_rules.REGION_RULES` is
   dropped with what belongs to it: for "Related posts" the short lines and
   teasers after it; for share and feedback boxes the few short words after
   them; for a signup box its short blocks; for comments and author bios
   everything up to the next heading of the same or a higher level. Then a
   heading left with nothing after it at the very end goes too.

Every removal is a :class:`~newsletter.content.article.Dropped` entry with its
reason and its place, so the import report lists it. A block that is chrome
but not recognised stays in the issue, where staff see it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from newsletter.content.article import Dropped, Unit
from newsletter.content.chrome_rules import block_reason, region_reason
from newsletter.content.words import markdown_to_plain, word_count

REGION_START_MAX_WORDS = 16
SHORT_LINE_WORDS = 15


def plain_of(unit: Unit) -> str:
    """The plain wording of a unit (a heading's text, a block's words without markup)."""
    return unit.text.strip() if unit.kind == "heading" else markdown_to_plain(unit.text)


def chrome_reason(unit: Unit) -> str | None:
    """Why one unit is chrome on its own (its source hint or its wording), or None."""
    if unit.hint:
        return unit.hint
    return block_reason(plain_of(unit))


def _opens_region(unit: Unit) -> str | None:
    plain = plain_of(unit)
    if unit.kind == "block" and word_count(plain) > REGION_START_MAX_WORDS:
        return None
    return region_reason(plain, heading=unit.kind == "heading")


def drop_blocks(units: Sequence[Unit]) -> tuple[list[Unit], list[Dropped]]:
    """Pass 1: remove units that are chrome on their own; region openers are kept for pass 2."""
    kept: list[Unit] = []
    dropped: list[Dropped] = []
    for unit in units:
        reason = None if _opens_region(unit) and not unit.hint else chrome_reason(unit)
        if reason is None:
            kept.append(unit)
            continue
        last = dropped[-1] if dropped else None
        # Consecutive units of one hinted box (a share bar's heading and links) are one entry.
        if (unit.hint and last is not None and last.reason == reason
                and last.seq + last.count == unit.seq):
            dropped[-1] = Dropped(last.text, reason, last.count + 1, last.seq,
                                  details=(*last.texts, plain_of(unit)))
        else:
            dropped.append(Dropped(plain_of(unit), reason, 1, unit.seq))
    return kept, dropped


def _short(unit: Unit, limit: int) -> bool:
    if unit.kind == "heading":
        return False
    lines = [line for line in unit.text.splitlines() if line.strip()]
    if lines and all(line.lstrip().startswith(("- ", "* ", "+ ")) or line.lstrip()[:1].isdigit()
                     for line in lines):
        # A list of links ("related posts") counts as short when every item is.
        return all(word_count(markdown_to_plain(line)) <= limit for line in lines)
    return word_count(plain_of(unit)) <= limit


def _belongs(kind: str) -> Callable[[Unit], bool]:
    """What a region of ``kind`` swallows after its opening heading (headings are checked first)."""
    if kind == "related posts":
        return lambda u: _short(u, SHORT_LINE_WORDS) or block_reason(plain_of(u)) is not None
    if kind in ("share bar", "feedback question"):
        return lambda u: _short(u, 6)
    if kind == "signup box":
        return lambda u: _short(u, 25) or block_reason(plain_of(u)) is not None
    return lambda u: True  # comments, author bio: everything up to the next heading


def drop_regions(units: Sequence[Unit]) -> tuple[list[Unit], list[Dropped]]:
    """Pass 2: remove chrome regions, then a heading left empty at the very end."""
    kept: list[Unit] = []
    dropped: list[Dropped] = []
    index = 0
    while index < len(units):
        unit = units[index]
        kind = _opens_region(unit)
        if kind is None:
            kept.append(unit)
            index += 1
            continue
        level = unit.level if unit.kind == "heading" else 99
        belongs = _belongs(kind)
        end = index + 1
        while end < len(units):
            following = units[end]
            if following.kind == "heading":
                after = units[end + 1] if end + 1 < len(units) else None
                # Deeper headings inside a region (post titles in <h3>) belong to it; so
                # does a post title read as a heading in copied text (no prose under it).
                title_only = kind == "related posts" and (after is None or _short(after, 15))
                if kind in ("share bar", "feedback question") or (
                    following.level <= level and not title_only
                ):
                    break
                end += 1
                continue
            opens = _opens_region(following)
            if not belongs(following) or (opens and opens != kind):
                break
            end += 1
        dropped.append(Dropped(plain_of(unit), kind, end - index, unit.seq, units[end - 1].seq,
                               tuple(plain_of(u) for u in units[index:end])))
        index = end
    while kept and kept[-1].kind == "heading":
        last = kept.pop()
        dropped.append(Dropped(last.text, "heading with nothing under it", 1, last.seq))
    dropped.sort(key=lambda entry: entry.seq)
    return kept, dropped


# Single chrome blocks that trail a region of this kind belong to it.
_FOLLOWERS = {
    "comments": "comment form",
    "signup box": "signup box",
    "related posts": "related posts",
}


def coalesce(dropped: Sequence[Dropped], kept_seqs: Sequence[int]) -> list[Dropped]:
    """Fold entries that lie inside, or right after, a dropped region into its entry.

    "Right after" means no kept unit comes between them: the "Reply" links of a
    comment section that pass 1 already removed belong to that section's line.
    """
    ordered = sorted(dropped, key=lambda entry: entry.seq)
    kept = sorted(kept_seqs)
    out: list[Dropped] = []
    for entry in ordered:
        host = out[-1] if out and out[-1].until >= 0 else None
        if host is not None and entry.seq > host.until:
            between = [s for s in kept if host.until < s < entry.seq]
            if between or entry.until >= 0 or entry.reason != _FOLLOWERS.get(host.reason):
                host = None
        if host is None:
            out.append(entry)
            continue
        out[-1] = Dropped(host.text, host.reason, host.count + entry.count, host.seq,
                          max(host.until, entry.until, entry.seq), (*host.texts, *entry.texts))
    return out
