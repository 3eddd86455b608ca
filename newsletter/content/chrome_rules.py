"""The wording of page chrome: which short blocks are bylines, share bars, tag lists, buttons.

Each rule is a reason (what staff read in the import report) and patterns
matched, case-insensitively, against the **plain wording** of one block or
heading. A block only counts when it is short (at most the rule's word limit):
a paragraph that mentions subscribing, booking or sharing in passing is
content, never chrome. The rules are deliberately narrow; a block they miss
stays in the issue, where staff see it, and a block they catch is listed in the
report, so nothing is ever lost silently.

Region rules (:data:`REGION_RULES`) name a heading, or a short block standing
for one, that opens a stretch of chrome: "Related posts", "Leave a reply",
"About the author", "Share this", "Stay connected". What they swallow after
them is decided in :mod:`newsletter.content.chrome`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsletter.content.words import word_count

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = (
    rf"(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+\d{{4}}"
    r"|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{4}-\d{2}-\d{2})"
)
SOCIAL_WORDS = frozenset((
    "facebook", "twitter", "x", "linkedin", "whatsapp", "pinterest", "reddit", "email", "e-mail",
    "mail", "print", "tweet", "pin", "share", "shares", "messenger", "threads", "bluesky",
    "instagram", "youtube", "tiktok", "telegram", "copy", "link", "sharing", "on", "via", "this",
    "article", "post", "page", "story", "|", "·", "•", "/", ",", ":",
))


@dataclass(frozen=True)
class Rule:
    """One reason and its patterns; a block matches when short enough and any pattern hits."""

    reason: str
    patterns: tuple[re.Pattern[str], ...]
    max_words: int = 30
    sentence_guard: bool = True

    def matches(self, plain: str, words: int) -> bool:
        """Whether ``plain`` (of ``words`` words) is chrome of this kind."""
        if words > self.max_words:
            return False
        # A full sentence of some length is prose ("Published in 2019, the study found...").
        if self.sentence_guard and words > SENTENCE_WORDS and plain.rstrip().endswith((".", "?")):
            return False
        return any(p.search(plain) for p in self.patterns)


SENTENCE_WORDS = 12


def _rule(
    reason: str, *patterns: str, max_words: int = 30, case: bool = False, guard: bool = True
) -> Rule:
    flags = 0 if case else re.IGNORECASE
    return Rule(reason, tuple(re.compile(p, flags) for p in patterns), max_words, guard)


BLOCK_RULES: tuple[Rule, ...] = (
    _rule(
        "byline",
        r"^(?:posted|published|written|authored|updated|last updated|first published)"
        rf"(?:\s+(?:on|by)\b|\s*:|\s+{_DATE})",
        r"^(?:medically |clinically )?reviewed by\b",
        r"^(?:author|written by|words by)\s*:",
        rf"^(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?{_DATE}$",
        r"\b\d+\s*(?:-\s*)?min(?:ute)?s?\s+read\b",
        max_words=25,
    ),
    _rule(
        "byline",
        # "By Dr. Lee", "By Anna Smith | March 3": capitals matter, so "By March you..." is prose.
        r"^[Bb][Yy]\s+(?:(?:Dr|Prof|Mr|Mrs|Ms)\.?\s+|the\s+)?[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}"
        r"\s*(?:$|[|·•,–—-]|\bon\b|\d)",
        max_words=20,
        case=True,
    ),
    _rule(
        "comment count",
        r"^(?:\d+|no|one|two|three|four|five|six|seven|eight|nine|ten)\s+"
        r"(?:comments?|responses?|replies|thoughts)\b",
        r"^\d[\d,.]*k?\s+(?:views?|likes?|claps?|reads?)\b",
        max_words=12,
    ),
    _rule(
        "share bar",
        r"^share(?: this(?: (?:post|article|page|story))?| on| via| the article)?\s*[:!]?$",
        r"^share(?: this(?: (?:post|article|page|story))?| on| via)?\s*[:!]?\s+(?:on\s+)?"
        r"(?:facebook|twitter|x|linkedin|whatsapp|e-?mail|pinterest|reddit|bluesky)\b",
        r"^(?:follow us|spread the word)\b",
        max_words=15,
    ),
    _rule(
        "tag list",
        r"^(?:tags?|tagged(?: with| in)?|filed under|posted in|categories|category|topics?|labels?)"
        r"\s*[:\-–]",
        r"^(?:posted|filed) in\b",
        max_words=30,
    ),
    _rule(
        "related posts",
        r"^(?:related(?: posts?| articles?| reading| stories| content| links)?"
        r"|you (?:may|might) also"
        r" (?:like|enjoy)|more (?:from (?:the|our) blog|articles|stories|posts|like this)|read next"
        r"|read more|also read|keep reading|up next|previous post|next post|older post|newer post)"
        r"\s*[:»›]\s*\S",
        r"^(?:previous|next)(?: post| article)?\s*[«»‹›←→]",
        max_words=40,
    ),
    _rule(
        "related posts",
        # A teaser: an excerpt that ends in "[…]" or a "Read more" link (capital R: a button).
        r"(?:\[…\]|\[\.\.\.\]|(?:^|\s)(?:Read more|Continue reading|Read the full (?:post|article"
        r"|story))\s*[»›→>…]*)$",
        max_words=60,
        case=True,
        guard=False,
    ),
    _rule(
        "call to action",
        r"^(?:book|request|make|schedule|arrange)\s+(?:an?|your|a free)\s+(?:appointment|"
        r"consultation|visit|assessment|call)(?:\s+(?:today|now|online|with us))?\s*[.!]?$",
        r"^(?:call|phone|ring|contact|e-?mail|message)\s+(?:us|our (?:team|clinic|office))\b.*"
        r"\b(?:book|booking|appointments?|consultation|enquir\w*|referral|free|\d{3,})\b",
        r"^(?:find out more|learn more|read more|click here|get started|book now|book online"
        r"|enquire now|contact us|get in touch|download (?:the|our) (?:free )?(?:guide|leaflet|"
        r"brochure))\s*[.!»›→]*$",
        max_words=20,
    ),
    _rule(
        "signup box",
        r"\bnews via (?:e-?mail|inbox)\b",
        r"\bmail us for (?:the )?latest news\b",
        r"\b(?:latest )?news and updates (?:in|to|via) your inbox\b",
        r"\bsubscribe (?:to|for) (?:our|the|my) (?:newsletter|mailing list|updates|news|blog)\b",
        r"\bsign up (?:for|to) (?:our|the|my) (?:newsletter|mailing list|updates|news|emails?)\b",
        r"\bjoin (?:our|the|my) (?:newsletter|mailing list)\b",
        r"\benter your e-?mail(?: address)?\b",
        r"^your e-?mail(?: address)?\s*\*?$",
        r"\bget (?:the latest|our) (?:news|updates)\b",
        r"^(?:subscribe|sign up|newsletter|stay connected|stay in touch|stay informed)[!.]?$",
        max_words=25,
        guard=False,
    ),
    _rule(
        "cookie notice",
        r"\bcookies?\b.*\b(?:accept|consent|we use|uses?|cookie (?:policy|settings|preferences)"
        r"|manage)\b",
        r"\b(?:we use|this (?:site|website) uses)\b.*\bcookies?\b",
        r"^(?:accept(?: all)?(?: cookies)?|reject(?: all)?|manage (?:cookies|preferences)"
        r"|cookie settings)$",
        max_words=60,
        guard=False,
    ),
    _rule(
        "breadcrumbs",
        r"^(?:you are here\s*:?\s*)?(?:home|start)\s*(?:>|›|»|/|\\|→)\s*\S",
        max_words=20,
    ),
    _rule(
        "page tools",
        r"^(?:print(?: this page)?|email this page|download (?:this page )?(?:as )?pdf|back to top"
        r"|skip to (?:main )?content|text size\b.*|listen(?: to this (?:page|article))?"
        r"|translate(?: this page)?|on this page\s*:?)$",
        r"^(?:jump|go|scroll)?\s*back to (?:the )?top(?: of (?:the|this) page)?[.!]?$",
        max_words=8,
    ),
    _rule(
        "review date",
        r"^(?:page |this page was )?(?:last|next) (?:reviewed|updated|review(?: due)?)\b",
        r"^(?:date )?(?:published|updated|reviewed)\s*:",
        max_words=15,
    ),
    _rule(
        "feedback question",
        r"^(?:was|is|did) this (?:page|article|information|post)"
        r" (?:useful|helpful|help(?: you)?)\b",
        r"^(?:thank you|thanks) for your feedback\b",
        max_words=15,
    ),
    _rule(
        "comment form",
        r"^leave a (?:reply|comment|response)\b",
        r"^(?:your )?e-?mail address will not be published\b",
        r"\brequired fields are marked\b",
        r"^(?:post comment|submit comment|cancel reply|reply|log in to reply|reply to this comment"
        r"|notify me of (?:follow-up|new) (?:comments|posts).*)$",
        max_words=25,
        guard=False,
    ),
    _rule("advert", r"^(?:advertisement|sponsored(?: content)?|ad)$", max_words=3),
)

REGION_RULES: tuple[Rule, ...] = (
    _rule(
        "related posts",
        r"^(?:related(?: posts?| articles?| reading| stories| content| links)?"
        r"|you (?:may|might) also"
        r" (?:like|enjoy|be interested in)|more (?:from (?:the|our) blog|articles|stories|posts|"
        r"like this|on this topic)|read next|also read|keep reading|up next|recommended(?: for you|"
        r" reading)?|popular posts|recent posts|latest (?:posts|articles|news))\s*[:]?$",
        max_words=8,
    ),
    _rule(
        "comments",
        r"^(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:thoughts|comments?|"
        r"responses?|replies) (?:on|to)\b",
        r"^(?:leave a (?:reply|comment|response)|join the (?:conversation|discussion)|"
        r"what do you think\??)$",
        max_words=16,
    ),
    _rule(
        "author bio",
        r"^about (?:the )?(?:authors?|writer|our (?:authors?|experts?))$",
        r"^about (?:dr|prof|mr|mrs|ms)\.?\s+\S+(?:\s+\S+)?$",
        max_words=6,
    ),
    _rule("share bar", r"^(?:share(?: this)?(?: (?:post|article|page|story))?|follow us)\s*:?$",
          max_words=5),
    _rule(
        "signup box",
        r"^(?:stay connected|stay in touch|stay informed|newsletter|join our newsletter"
        r"|subscribe(?: to our newsletter)?|sign up(?: for our newsletter)?|never miss a post"
        r"|get (?:our|the) newsletter)[!.]?$",
        max_words=6,
    ),
    _rule("feedback question",
          r"^(?:was|is|did) this (?:page|article|information|post)"
          r" (?:useful|helpful|help(?: you)?)",
          max_words=10),
)


def block_reason(plain: str) -> str | None:
    """The reason a single short block is chrome, or None when it reads as content."""
    words = word_count(plain)
    if not plain or words == 0:
        return None
    for rule in BLOCK_RULES:
        if rule.matches(plain, words):
            return rule.reason
    tokens = plain.lower().replace("|", " | ").split()
    social = [t for t in tokens if t.strip("·•,:") in SOCIAL_WORDS or not t.strip("·•,:|/")]
    named = {t.strip("·•,:") for t in tokens} & {"facebook", "twitter", "linkedin", "whatsapp",
                                                "pinterest", "reddit", "tweet", "bluesky"}
    if len(tokens) <= 12 and len(named) >= 2 and len(social) == len(tokens):
        return "share bar"
    return None


# A bare "Comments" or "3 responses" opens the comment section only as a real heading: as a
# line of text it is usually the count in a byline, and content may follow it.
HEADING_ONLY_RULES: tuple[Rule, ...] = (
    _rule("comments",
          r"^(?:\d+\s+|no\s+|one\s+)?(?:comments?|responses?|replies)\s*(?:\(\d+\))?$",
          max_words=4),
)


def region_reason(plain: str, heading: bool = True) -> str | None:
    """The kind of chrome region a heading (or, with ``heading=False``, a short block) opens."""
    words = word_count(plain)
    rules = (*REGION_RULES, *HEADING_ONLY_RULES) if heading else REGION_RULES
    for rule in rules:
        if rule.matches(plain.strip(), words):
            return rule.reason
    return None
