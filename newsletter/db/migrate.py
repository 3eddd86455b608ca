"""Alembic migrations, driven from code: no alembic.ini needed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from newsletter.errors import DatabaseError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs our migrations on ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest migration shipped with the package."""
    head = ScriptDirectory.from_config(alembic_config_for_scripts()).get_current_head()
    assert head is not None
    return head


def _known(revision: str) -> bool:
    """Whether ``revision`` is one of the migrations shipped with this package."""
    scripts = ScriptDirectory.from_config(alembic_config_for_scripts())
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


def alembic_config_for_scripts() -> Config:
    """A config that can read the migration scripts without a database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as err:
        raise DatabaseError(f"{engine.url.render_as_string()}: cannot open: {err.orig}") from err


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns (before, after). A no-op when current."""
    before = current_revision(engine)
    head = head_revision()
    if before != head:  # only then: reading the scripts again costs every command 7 ms
        if before is not None and not _known(before):
            raise DatabaseError(
                f"{engine.url.render_as_string(hide_password=True)}: the schema is at revision "
                f"{before!r}, which this version of newsletter does not know (its newest is "
                f"{head!r}): a newer version upgraded it. Run that version, or restore the "
                "backup taken before the upgrade (docs/deploy.md, \"Upgrading\").")
        try:
            command.upgrade(alembic_config(engine), "head")
        except OperationalError as err:
            raise DatabaseError(
                f"{engine.url.render_as_string()}: migration failed: {err.orig}"
            ) from err
    return before, head
