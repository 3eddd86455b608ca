"""Every command explains itself: help text with an example, like sqlite-utils' test_docs."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from newsletter.cli import main
from newsletter.cli.base import COMMAND_MODULES, load_command_modules

load_command_modules(COMMAND_MODULES)  # commands are loaded when used; these tests see them all


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}".strip()
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


ALL = list(_commands(main))


def test_the_command_tree_is_not_empty() -> None:
    assert len(ALL) >= 3


@pytest.mark.parametrize(("path", "command"), ALL, ids=[path for path, _ in ALL])
def test_every_command_has_help_text_with_an_example(path: str, command: click.Command) -> None:
    assert command.help, f"`newsletter {path}` has no help text"
    assert "Example:" in command.help, f"`newsletter {path}` help has no 'Example:'"


@pytest.mark.parametrize(("path", "command"), ALL, ids=[path for path, _ in ALL])
def test_the_one_line_help_in_command_lists_is_never_cut_inside_brackets(
    path: str, command: click.Command
) -> None:
    # click cuts the summary at the first ". ": "Erase a person (GDPR Art." (issue 13, #18).
    short = command.get_short_help_str(limit=200)
    assert short.count("(") == short.count(")"), f"`newsletter {path}`: {short!r}"
