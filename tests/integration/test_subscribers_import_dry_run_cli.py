"""`newsletter subscribers import --dry-run` and `--basis` on a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.app import App
from newsletter.db.models import ConsentRecord, Subscriber
from tests.support.cli import Cli
from tests.support.signup import LIST_SLUG, write_lists


@pytest.fixture
def cli(project: Path, app: App) -> Cli:
    write_lists(project)
    return Cli(app.settings, app.clock)


def test_a_dry_run_reports_what_the_import_would_do_and_writes_nobody(
    cli: Cli, app: App, project: Path
) -> None:
    source = project / "people.csv"
    source.write_text("email\nana@example.com\nnope\nbo@example.com\n", encoding="utf-8")
    result = cli.run("subscribers", "import", str(source), "--list", LIST_SLUG, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "people.csv:3: nope" in result.output
    assert "dry run: 3 rows: 2 would be added" in result.output
    with app.sessions() as session:
        assert session.scalar(select(func.count(Subscriber.id))) == 0


def test_the_stated_basis_goes_into_every_imported_consent_record(
    cli: Cli, app: App, project: Path
) -> None:
    source = project / "people.csv"
    source.write_text("email\nana@example.com\nbo@example.com\n", encoding="utf-8")
    result = cli.run("subscribers", "import", str(source), "--list", LIST_SLUG,
                     "--basis", "clinic open day sign-up sheet")
    assert "2 rows: 2 added" in result.output
    with app.sessions() as session:
        texts = session.scalars(select(ConsentRecord.consent_text)).all()
    assert texts == ["clinic open day sign-up sheet"] * 2
