"""A command loads only the modules it needs, and the map that says which ones is complete."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from collections.abc import Iterator

import click

import newsletter.cli
from newsletter.cli import main
from newsletter.cli.base import COMMAND_MODULES


def _every_module_imported() -> None:
    for info in pkgutil.iter_modules(newsletter.cli.__path__):
        __import__(f"newsletter.cli.{info.name}")


def _callbacks(command: click.Command) -> Iterator[str]:
    if command.callback is not None:
        yield command.callback.__module__
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from _callbacks(sub)


def test_every_registered_command_is_in_the_map_under_the_modules_that_define_it() -> None:
    _every_module_imported()
    assert set(main.commands) == set(COMMAND_MODULES)
    for name, command in main.commands.items():
        defined = {module.rpartition(".")[2] for module in _callbacks(command)}
        assert defined <= set(COMMAND_MODULES[name]), (name, defined)


def _modules_after(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after ``newsletter ARGS`` (help, so nothing runs)."""
    script = ("import sys\nfrom newsletter.cli import main\n"
              f"try:\n    main({[*args, '--help']!r}, standalone_mode=False)\n"
              "except SystemExit:\n    pass\nprint('\\n'.join(sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True, timeout=120)
    return set(done.stdout.split())


def test_newsletter_send_does_not_load_the_web_console_or_the_article_importer() -> None:
    loaded = _modules_after("send")
    assert "newsletter.cli.delivery" in loaded
    assert not {"newsletter.web.app", "fastapi", "newsletter.content.importer"} & loaded


def test_newsletter_serve_loads_the_web_console() -> None:
    assert "newsletter.web.app" in _modules_after("serve")
