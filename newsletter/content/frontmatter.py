"""An issue file's YAML front matter: written by a YAML dumper, read with errors staff can act on.

Writing goes through PyYAML's dumper, so a subject with a colon, a quote or a
leading ``*`` is quoted as YAML requires. Reading is where staff's edits meet
YAML's rules, so a failure says which line and what to do:

* ``subject: Hands-on treatment: what it can do`` →
  ``…md:3: front matter is not valid YAML (mapping values are not allowed
  here); put the subject in quotes: subject: 'Hands-on treatment: what it can
  do'``;
* an unquoted ``title``, ``subject`` or ``preheader`` containing `` #`` is
  refused the same way, because YAML would silently cut the text at the ``#``;
* those three keys are always read as the text written (``subject: No`` is
  "No", not false; ``title: 2026`` is "2026").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from newsletter.errors import ContentError

TEXT_KEYS = ("title", "subject", "preheader")
_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]+(.*\S)[ \t]*$")
_COMMENT = re.compile(r"[ \t]#")


def dump(front: dict[str, Any]) -> str:
    """The YAML text of ``front`` (keys in the given order, one line each, quoted where needed)."""
    text: str = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=10_000)
    return text.strip()


def quoted_line(key: str, value: str) -> str:
    """``key: value`` as YAML writes it safely (the suggestion shown to staff)."""
    return dump({key: value})


_SPECIAL_START = tuple("*&!%@`|>[{'\"")


def _needs_quotes(value: str) -> bool:
    """Whether an unquoted YAML value would break or change (": ", " #", a special first sign)."""
    return ": " in value or value.endswith(":") or " #" in value or value.startswith(_SPECIAL_START)


def _suggestion(line: str) -> str:
    match = _KEY_LINE.match(line)
    if not match or (match.group(2)[:1] in ("'", '"') and not _unbalanced(match.group(2))):
        return ""
    key, value = match.group(1), match.group(2)
    if not _needs_quotes(value):
        return ""
    return f"; put the {key} in quotes: {quoted_line(key, value)}"


def _unbalanced(value: str) -> bool:
    """A value that opens a quote it does not close ("Pain" and sleep)."""
    quote = value[0]
    return not (value.endswith(quote) and len(value) > 1 and value.count(quote) == 2)


def _diagnose(lines: list[str], index: int) -> tuple[int, str]:
    """(the line to blame, the likely fix) for a YAML error reported at line ``index``.

    YAML often reports a problem on the line after the one at fault, so the
    line before is examined too.
    """
    for candidate in (index, index - 1):
        if 0 <= candidate < len(lines):
            line = lines[candidate]
            if line.strip() and ":" not in line:
                return candidate, "; each line must be 'key: value'"
            if "\t" in line[: len(line) - len(line.lstrip())]:
                return candidate, "; indent with spaces, not tabs"
            hint = _suggestion(line)
            if hint:
                return candidate, hint
    return index, ""


def load(text: str, path: Path, first_line: int = 2) -> dict[str, Any]:
    """Parse front matter ``text`` (file line ``first_line`` on); errors name the line and fix."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        match = _KEY_LINE.match(line)
        if match is None or match.group(1) not in TEXT_KEYS or match.group(2)[:1] in ("'", '"'):
            continue
        if _COMMENT.search(match.group(2)):
            raise ContentError(
                f"{path}:{index + first_line}: the {match.group(1)} has ' #', which YAML reads "
                f"as the start of a comment{_suggestion(line)}",
                line=index + first_line,
            )
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        index, hint = _diagnose(lines, mark.line if mark is not None else -1)
        where = f":{index + first_line}" if mark is not None else ""
        problem = getattr(err, "problem", None) or "not valid"
        raise ContentError(
            f"{path}{where}: front matter is not valid YAML ({problem}){hint}",
            line=index + first_line if mark is not None else None,
        ) from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ContentError(f"{path}: front matter must be key: value lines")
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if (isinstance(key_node, yaml.ScalarNode) and key_node.value in TEXT_KEYS
                    and isinstance(value_node, yaml.ScalarNode)):
                data[key_node.value] = value_node.value
    return data
