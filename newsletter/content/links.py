"""Links and images in imported Markdown: made absolute when the address is known, else reported.

An email has no "current page", so a site-relative link (``/groups/pacing``)
or image (``uploads/chart.png``) is dead in a mail client. The article's
address comes from, in this order: ``--source-url`` given by staff, an absolute
``<base href>`` in the page (the page's own rule for its relative links, so it
wins even over ``--source-url``), the page's canonical link or ``og:url``, or a
``canonical_url``/``url`` in Markdown front matter. With an address, every
relative link and image source is resolved against it, as a browser would.

:func:`link_warnings` then lists what still cannot work in an email or needs
staff's eye: a relative link or image (no address known), an in-page ``#``
link, an image without alt text (people who cannot see it, and mail clients
that block images, get nothing), an image embedded as ``data:`` (most mail
clients do not show those). An alt text that is only a file name
("chart.png", as some exports write it) counts as none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
# Some exports (Notion) put the file name where the alt text belongs: that is no description.
_FILE_NAME = re.compile(r"^[\w .-]+\.(?:png|jpe?g|gif|webp|svg|avif)$", re.IGNORECASE)


@dataclass(frozen=True)
class LinkWarning:
    """Something about one link or image that staff should fix; ``kind`` groups them."""

    kind: str
    target: str
    message: str


def is_web_address(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) address."""
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def choose_base(source_url: str, base_href: str, page_url: str, page_from: str) -> tuple[str, str]:
    """(the address relative links resolve against, where it came from) by the module's order."""
    if base_href and is_web_address(base_href):
        return base_href.strip(), "<base href>"
    if source_url:
        joined = urljoin(source_url.strip(), base_href.strip()) if base_href else source_url.strip()
        return joined, "--source-url"
    if page_url and is_web_address(page_url):
        return page_url.strip(), page_from
    return "", ""


def _relative(url: str) -> bool:
    url = url.strip()
    return bool(url) and not _SCHEME.match(url) and not url.startswith("//")


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _targets(markdown: str) -> list[tuple[str, str, str]]:
    """(kind "link"/"image", address, alt text) of every link and image, in order."""
    found: list[tuple[str, str, str]] = []
    env: dict[str, object] = {}
    tokens = _parser().parse(markdown, env)

    def visit(children: list[Token]) -> None:
        for child in children:
            if child.type == "link_open":
                found.append(("link", str(child.attrGet("href") or ""), ""))
            elif child.type == "image":
                found.append(("image", str(child.attrGet("src") or ""), child.content.strip()))
            if child.children:
                visit(child.children)

    for token in tokens:
        if token.children:
            visit(token.children)
    return found


def absolutize_markdown(markdown: str, base: str) -> str:
    """``markdown`` with relative link and image addresses resolved against ``base``.

    Only the address is rewritten, where the author wrote it (inline links,
    images, reference definitions, autolinks); the rest of the text is untouched.
    """
    if not base:
        return markdown
    relative = {url for _, url, _ in _targets(markdown) if _relative(url)}
    relative |= {m.group(2) for m in _REFERENCE.finditer(markdown) if _relative(m.group(2))}
    for url in sorted(relative, key=len, reverse=True):
        absolute = urljoin(base, url).replace("\\", "\\\\")
        quoted = re.escape(url)
        markdown = re.sub(rf"(\]\(\s*<?){quoted}(?=[\s)>])", rf"\g<1>{absolute}", markdown)
        markdown = re.sub(rf"(^[ ]{{0,3}}\[[^\]]+\]:[ \t]*<?){quoted}(?=[\s>]|$)",
                          rf"\g<1>{absolute}", markdown, flags=re.MULTILINE)
    return markdown


_REFERENCE = re.compile(r"^[ ]{0,3}(\[[^\]]+\]):[ \t]*<?([^\s>]+)>?", re.MULTILINE)


def link_warnings(markdown: str) -> list[LinkWarning]:
    """What in ``markdown`` will not work, or not read well, in an email (module docstring)."""
    warnings: list[LinkWarning] = []
    for kind, url, alt in _targets(markdown):
        if kind == "image":
            if not alt or _FILE_NAME.match(alt):
                warnings.append(LinkWarning(
                    "image without alt text", url,
                    f"image {url} has no alt text: describe it in the issue file, "
                    f"![what it shows]({url})",
                ))
            if url.startswith("data:"):
                warnings.append(LinkWarning(
                    "embedded image", url[:40],
                    "an image is embedded as data: most mail clients do not show it; "
                    "link to the image on the web instead",
                ))
            elif _relative(url):
                warnings.append(LinkWarning(
                    "relative image", url,
                    f"image {url} has a relative address and will not load in an email: "
                    "import with --source-url, or give its full address",
                ))
        elif url.startswith("#"):
            warnings.append(LinkWarning(
                "in-page link", url,
                f"link {url} points inside the web page and does nothing in an email: "
                "import with --source-url, or remove the link",
            ))
        elif _relative(url):
            warnings.append(LinkWarning(
                "relative link", url,
                f"link {url} has a relative address and is dead in an email: "
                "import with --source-url, or give its full address",
            ))
    return warnings
