"""Integration fixtures shared by several files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.render import Renderer
from tests.support.series import render_settings, write_lists
from tests.support.smtpd import SMTPRecorder


@pytest.fixture
def server() -> Iterator[SMTPRecorder]:
    """A real SMTP server on loopback that records messages and injects faults."""
    with SMTPRecorder() as recorder:
        yield recorder


@pytest.fixture
def renderer(project: Path) -> Renderer:
    """A renderer for ``project``, whose lists.toml declares the clinic's list."""
    write_lists(project, [("clinic-news", "Riverside Pain Clinic News")])
    return Renderer(render_settings(project))
