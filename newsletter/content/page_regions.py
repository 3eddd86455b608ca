"""Where on a web page an element sits: navigation, sidebar, share bar, comments... or the article.

Pages name their furniture: landmark elements (``<nav>``, ``<aside>``,
``<form>``, a page-level ``<header>``/``<footer>``), ARIA roles
(``navigation``, ``banner``, ``contentinfo``, ``complementary``, ``dialog``)
and class or id names (``share-buttons``, ``related-posts``, ``comments``,
``author-bio``, ``entry-meta``, ``tags-links``, ``cookie-notice``,
``newsletter``...). :func:`region_of` reads them from the element and its
ancestors and returns what staff read in the import report ("share bar",
"navigation"...).

Two uses: a block a content extractor left out is reported under its region
(or "outside the article" when the page does not say), and a block *inside*
the article that sits in a named chrome region (a share bar between two
paragraphs) is dropped even when the extractor kept it (:func:`hint_of`).
A page-level ``<header>``/``<footer>`` and ``<aside>`` only count outside
``<article>``/``<main>``: an article's own header holds its title, and an aside
inside it is usually a box of content (a tip, key takeaways).
"""

from __future__ import annotations

import re

from bs4.element import Tag

# Class or id names (whole, or a part between '-'/'_'), most specific first.
CLASS_RULES: tuple[tuple[str, str], ...] = (
    ("cookie notice", r"cookie|cookies|consent|gdpr|cc-banner|cookie[-_]?notice"),
    ("share bar", r"share|shares|sharing|sharedaddy|addtoany|sharethis"
                  r"|social[-_]?(?:share|links|icons|buttons)|ss-social"),
    ("related posts", r"related|yarpp|relatedposts|more[-_]?posts|read[-_]?next|recommended"
                      r"|you[-_]?may[-_]?also[-_]?like|sqs[-_]?block[-_]?summary[-_]?v2"),
    ("comments", r"comments?|respond|discussion|disqus|comment[-_]?list|reply"),
    ("author bio", r"author[-_]?bio|author[-_]?box|about[-_]?(?:the[-_]?)?author|authorbox"
                   r"|author[-_]?info|author[-_]?profile|author[-_]?card"),
    ("byline", r"byline|meta|entry[-_]?meta|post[-_]?meta|article[-_]?meta|posted[-_]?on"
               r"|dateline|meta[-_]?info|blog[-_]?meta|post[-_]?date|entry[-_]?date"
               r"|published[-_]?date|reading[-_]?time"),
    ("tag list", r"tags|tag[-_]?links|tags[-_]?links|cat[-_]?links|categories|post[-_]?tags"
                 r"|entry[-_]?tags|taglist|post[-_]?categories"),
    ("breadcrumbs", r"breadcrumbs?"),
    ("signup box", r"newsletter|subscribe|subscription|signup|sign[-_]?up|optin|opt[-_]?in"
                   r"|mailchimp|mc4wp|email[-_]?signup|newsletter[-_]?block"),
    ("call to action", r"cta|call[-_]?to[-_]?action|book[-_]?(?:an[-_]?)?appointment"
                       r"|appointment[-_]?cta|promo|button[-_]?block|sqs[-_]?block[-_]?button"),
    ("advert", r"ads?|advert|advertisement|sponsor|sponsored|ad[-_]?slot"),
    ("review date", r"review[-_]?date|last[-_]?reviewed|page[-_]?review"),
    ("feedback question", r"feedback|was[-_]?this[-_]?helpful|page[-_]?rating|rating"),
    ("page tools", r"print|page[-_]?tools|toolbar|skip[-_]?link|screen[-_]?reader[-_]?text"
                   r"|back[-_]?to[-_]?top"),
    ("navigation", r"nav|navbar|menu|navigation|pagination|post[-_]?navigation|nav[-_]?links"
                   r"|toc|table[-_]?of[-_]?contents|contents[-_]?list|on[-_]?this[-_]?page"
                   r"|skip[-_]?nav"),
    ("sidebar", r"sidebar|widget|widget[-_]?area|secondary"),
    ("page header", r"site[-_]?header|masthead|page[-_]?header|top[-_]?bar|header[-_]?bar"),
    ("page footer", r"site[-_]?footer|page[-_]?footer|colophon|footer[-_]?widgets"),
)
_CLASS_PATTERNS = tuple(
    (reason, re.compile(rf"(?:^|[-_])(?:{pattern})(?:$|[-_])", re.IGNORECASE))
    for reason, pattern in CLASS_RULES
)
ROLES = {
    "navigation": "navigation",
    "banner": "page header",
    "contentinfo": "page footer",
    "complementary": "sidebar",
    "dialog": "pop-up",
    "alertdialog": "pop-up",
    "search": "navigation",
}
ALWAYS_TAGS = {"nav": "navigation", "form": "form"}
OUTER_TAGS = {"header": "page header", "footer": "page footer", "aside": "sidebar"}
CONTENT_TAGS = ("article", "main")


def _names(tag: Tag) -> list[str]:
    names: list[str] = []
    classes = tag.get("class")
    if isinstance(classes, list):
        names.extend(str(c) for c in classes)
    elif isinstance(classes, str):
        names.extend(classes.split())
    for attribute in ("id", "aria-label", "data-block-type"):
        value = tag.get(attribute)
        if isinstance(value, str) and value:
            names.append(value.strip().lower().replace(" ", "-"))
    return names


def own_region(tag: Tag, inside_content: bool) -> str:
    """The region this element itself names (not its ancestors), or ""."""
    name = tag.name.lower()
    role = str(tag.get("role") or "").lower()
    if name in ALWAYS_TAGS:
        return ALWAYS_TAGS[name]
    # Class names are the most specific ("cookie-notice" on a role="dialog").
    for value in _names(tag):
        for reason, pattern in _CLASS_PATTERNS:
            if pattern.search(value):
                return reason
    if role in ROLES:
        return ROLES[role]
    if name in OUTER_TAGS and not inside_content:
        return OUTER_TAGS[name]
    return ""


def region_of(tag: Tag) -> str:
    """The innermost named region around ``tag`` (itself included), or "" inside the article.

    A bare ``<form>`` says little: when a named region holds it (comments, a
    signup box), that name is used.
    """
    chain = [tag, *tag.parents]
    generic = ""
    for index, element in enumerate(chain):
        if not isinstance(element, Tag) or element.name in ("[document]", "html", "body"):
            continue
        inside = any(isinstance(a, Tag) and a.name in CONTENT_TAGS for a in chain[index + 1 :])
        reason = own_region(element, inside)
        if reason == "form":
            generic = reason
        elif reason:
            return reason
    return generic


def hint_of(tag: Tag, content_root: Tag | None) -> str:
    """The chrome region of an element inside the article's container (below ``content_root``)."""
    for element in [tag, *tag.parents]:
        if not isinstance(element, Tag) or element is content_root:
            return ""
        inside = any(a.name in CONTENT_TAGS for a in element.parents if isinstance(a, Tag))
        reason = own_region(element, inside)
        if reason:
            return reason
    return ""
