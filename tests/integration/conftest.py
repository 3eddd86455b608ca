"""Integration fixtures shared by several files."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.render import Renderer
from tests.support.series import render_settings, write_lists


@pytest.fixture
def renderer(project: Path) -> Renderer:
    """A renderer for ``project``, whose lists.toml declares the clinic's list."""
    write_lists(project, [("clinic-news", "Riverside Pain Clinic News")])
    return Renderer(render_settings(project))
