"""Development only, until the first release: rewrite migration 0001 from the models.

Usage: .venv/bin/python scripts/regen_initial_migration.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from newsletter.db.engine import make_engine
from newsletter.db.migrate import MIGRATIONS, alembic_config

for old in (MIGRATIONS / "versions").glob("0001_*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as folder:
    engine = make_engine(f"sqlite:///{Path(folder) / 'empty.db'}")
    config = alembic_config(engine)
    command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")
    engine.dispose()
ruff = Path(sys.executable).parent / "ruff"
subprocess.run([str(ruff), "format", str(MIGRATIONS / "versions")], check=True)
subprocess.run([str(ruff), "check", "--fix", "-q", str(MIGRATIONS / "versions")], check=False)
