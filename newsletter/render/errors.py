"""Turn Jinja2 and MJML failures into RenderError naming the template file and line.

Staff see these at preview time, so they must point at something to fix:
``newsletter/templates/email/issue.mjml.j2:14: 'issue' has no attribute 'author'``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path

from jinja2 import Environment, TemplateError, TemplateNotFound, TemplateSyntaxError

from newsletter.errors import RenderError
from newsletter.render.templates import PACKAGE_TEMPLATES

# Context objects whose missing keys mean something to staff (see renderer.FrontMatter).
_TYPE_WORDS = {
    "newsletter.render.renderer.FrontMatter": "the front matter has no field",
}
_POSITION_RE = re.compile(r"at position (\d+):(\d+)")
# Elements that never have a closing tag in HTML (and so also inside MJML text).
_VOID = frozenset(
    (
        *("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"),
        *("param", "source", "track", "wbr", "mj-breakpoint", "mj-font", "mj-preview"),
        *("mj-title", "mj-all", "mj-class", "mj-image", "mj-divider", "mj-spacer"),
        "mj-carousel-image",
    )
)


def display_path(filename: str | None, root: Path) -> str:
    """A template path as a person reads it: relative to the project, or to the package."""
    if not filename:
        return "<template>"
    path = Path(filename)
    for base in (root, PACKAGE_TEMPLATES.parent.parent):
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def _template_frame(err: BaseException, filenames: set[str]) -> tuple[str, int] | None:
    # Jinja rewrites the traceback so template frames carry the template's file
    # name and source line; the innermost one is where the error happened.
    found: tuple[str, int] | None = None
    tb = err.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name in filenames or name.endswith(".j2"):
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _readable(message: str) -> str:
    for type_repr, words in _TYPE_WORDS.items():
        message = message.replace(f"'{type_repr} object' has no attribute", words)
    return message


def from_jinja(
    err: Exception, env: Environment, name: str, root: Path, what: str = ""
) -> RenderError:
    """A RenderError for a failure while rendering template ``name`` (Jinja or a filter)."""
    suffix = f" ({what})" if what else ""
    if isinstance(err, TemplateNotFound):
        missing = err.name or name
        return RenderError(f"template {missing!r} not found{suffix}", template=str(missing))
    if isinstance(err, TemplateSyntaxError):
        where = display_path(err.filename, root) if err.filename else str(err.name or name)
        return RenderError(
            f"{where}:{err.lineno}: template syntax error: {err.message}{suffix}",
            template=where,
            line=err.lineno,
        )
    if isinstance(err, TemplateError):
        detail = _readable(str(err.message or err))
    else:  # e.g. a division by zero or a failing filter inside the template
        detail = f"{type(err).__name__}: {err}"
    frame = _template_frame(err, set())
    if frame is None:
        return RenderError(f"{name}: {detail}{suffix}", template=name)
    where = display_path(frame[0], root)
    return RenderError(f"{where}:{frame[1]}: {detail}{suffix}", template=where, line=frame[1])


class _Balance(HTMLParser):
    """Finds the first unbalanced tag of a rendered MJML document, with its line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, int]] = []
        self.problem: tuple[int, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.stack.append((tag, self.getpos()[0]))

    def handle_endtag(self, tag: str) -> None:
        if self.problem or tag in _VOID:
            return
        if not self.stack or self.stack[-1][0] != tag:
            opened = f", but <{self.stack[-1][0]}> is still open" if self.stack else ""
            self.problem = (self.getpos()[0], f"unexpected </{tag}>{opened}")
            return
        self.stack.pop()

    def result(self) -> tuple[int, str] | None:
        if self.problem:
            return self.problem
        if self.stack:
            tag, line = self.stack[-1]
            return line, f"<{tag}> is never closed"
        return None


def _locate(mjml_text: str, message: str) -> tuple[int | None, str]:
    # Our own tag check first: MRML reports where it noticed, often lines later.
    checker = _Balance()
    checker.feed(mjml_text)
    checker.close()
    found = checker.result()
    if found:
        return found[0], f"{message}: {found[1]}"
    match = _POSITION_RE.search(message)
    if match:
        return mjml_text.count("\n", 0, int(match.group(1))) + 1, message
    return None, message


def _template_line(
    env: Environment, names: Sequence[str], text: str
) -> tuple[str, list[int]] | None:
    # A rendered line that is static markup appears verbatim in one of the templates;
    # when the same markup sits on several lines, all of them are candidates.
    needle = text.strip()
    if len(needle) < 4 or env.loader is None:
        return None
    for name in names:
        try:
            source, filename, _ = env.loader.get_source(env, name)
        except TemplateError:
            continue
        numbers = [n for n, line in enumerate(source.splitlines(), start=1)
                   if line.strip() == needle]
        if numbers:
            return filename or name, numbers
    return None


def from_mjml(
    err: Exception, mjml_text: str, env: Environment, names: Sequence[str], root: Path
) -> RenderError:
    """A RenderError for an MJML failure; names the template line when the line is static."""
    line, detail = _locate(mjml_text, str(err))
    first = display_path(env.get_template(names[0]).filename, root) if names else "<mjml>"
    if line is None:
        return RenderError(f"{first}: MJML could not compile it: {detail}", template=first)
    text = mjml_text.splitlines()[line - 1] if line <= len(mjml_text.splitlines()) else ""
    located = _template_line(env, names, text)
    if located is not None:
        where = display_path(located[0], root)
        first_line, others = located[1][0], located[1][1:]
        also = f" (or line {', '.join(map(str, others))}: the same markup)" if others else ""
        return RenderError(
            f"{where}:{first_line}: MJML could not compile it: {detail}{also}",
            template=where,
            line=first_line,
        )
    return RenderError(
        f"{first}: MJML could not compile it: {detail} "
        f"(line {line} of the rendered MJML: {text.strip()[:80]!r})",
        template=first,
        line=line,
    )


def excerpt(err: RenderError, root: Path, around: int = 2) -> list[tuple[int, str]]:
    """The lines of the template ``err`` names, ``around`` either side of its line.

    Empty when the error has no template line or the file cannot be read (the
    message alone still names the place).
    """
    if not err.template or not err.line:
        return []
    for base in (root, PACKAGE_TEMPLATES.parent.parent):
        path = base / err.template
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        first = max(1, err.line - around)
        return [(n, lines[n - 1]) for n in range(first, min(len(lines), err.line + around) + 1)]
    return []
