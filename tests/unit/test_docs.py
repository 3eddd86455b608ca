"""The documentation keeps up with the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"
KEYS = [name for name in Settings.model_fields if name != "root"]


@pytest.mark.parametrize("key", KEYS)
def test_every_setting_is_documented_with_its_variable(key: str) -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert f"`NEWSLETTER_{key.upper()}`" in text


def test_the_readme_names_exactly_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in section.splitlines() if line.startswith("    ")]
    assert commands == ["make run", "make test"]
