"""Write the next Alembic migration from the difference between the models and the schema.

Usage: .venv/bin/python scripts/new_migration.py "add bounce table"

It builds a scratch SQLite database at the newest revision, lets Alembic compare
it with newsletter/db/models.py, and writes newsletter/db/migrations/versions/
NNNN_<message>.py (formatted with ruff). Read and test the result on SQLite and
PostgreSQL before committing: autogenerate does not see every change (renames,
data moves).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from newsletter.db.engine import make_engine
from newsletter.db.migrate import MIGRATIONS, alembic_config, head_revision, upgrade


def main(message: str) -> None:
    """Autogenerate the revision after the current head."""
    next_id = f"{int(head_revision()) + 1:04d}"
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'scratch.db'}")
        upgrade(engine)
        command.revision(alembic_config(engine), message=message, autogenerate=True,
                         rev_id=next_id)
        engine.dispose()
    ruff = Path(sys.executable).parent / "ruff"
    subprocess.run([str(ruff), "format", str(MIGRATIONS / "versions")], check=True)
    subprocess.run([str(ruff), "check", "--fix", "-q", str(MIGRATIONS / "versions")], check=False)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit('usage: scripts/new_migration.py "what the migration does"')
    main(sys.argv[1])
