"""Fixtures that build the application exactly as production does, on real databases.

Every database test runs on a real SQLite file, and also on PostgreSQL when
``NEWSLETTER_TEST_POSTGRES_URL`` is set (each test then gets its own schema).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from newsletter.app import App, create_app
from newsletter.clock import ManualClock
from newsletter.config import Settings, load_settings

POSTGRES_URL = os.environ.get("NEWSLETTER_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
REPO = Path(__file__).resolve().parent.parent

# Property tests are repeatable in the suite (the same examples every run, so a run
# cannot fail by luck); NEWSLETTER_HYPOTHESIS_EXPLORE=1 draws new examples to hunt bugs.
hypothesis_settings.register_profile("suite", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(
    "explore" if os.environ.get("NEWSLETTER_HYPOTHESIS_EXPLORE") else "suite")


def _pg_url(base: str) -> str:
    return base.replace("postgresql://", "postgresql+psycopg://", 1) if base.startswith(
        "postgresql://"
    ) else base


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    assert POSTGRES_URL is not None
    base = _pg_url(POSTGRES_URL)
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def clock() -> ManualClock:
    """A clock that only moves when a test moves it."""
    return ManualClock(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder (the working folder of a staff member)."""
    root = tmp_path / "project"
    (root / "issues").mkdir(parents=True)
    (root / "subscribers").mkdir()
    return root


@pytest.fixture
def settings(project: Path, database_url: str) -> Settings:
    """Settings for ``project`` on the test database, read the way production reads them."""
    return load_settings(project, environ={}, overrides={"database_url": database_url})


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> Iterator[App]:
    """The application, composed and migrated as production does it, with a manual clock."""
    application = create_app(settings, clock=clock)
    try:
        yield application
    finally:
        application.close()
