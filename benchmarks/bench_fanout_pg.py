"""Benchmark: where a PostgreSQL fan-out's time goes, from the server's own account of it.

    NEWSLETTER_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python benchmarks/bench_fanout_pg.py -n 1000000 --postgres env

In a private schema of the server, with N active readers of the sample list:

1. the real fan-out runs once, as ``newsletter send --issue`` does it
   (``send_issue_now``: mirror the series, freeze the edition, one
   ``INSERT ... SELECT``), timed from the outside; its ``INSERT`` is captured;
2. that same ``INSERT``, with the same parameters, then runs again under
   ``EXPLAIN (ANALYZE)`` in transactions that are rolled back, after emptying
   ``deliveries`` (``TRUNCATE``, rolled back too): as the schema is, and with
   each foreign key of ``deliveries`` dropped inside the transaction, then all
   of them. PostgreSQL reports the time of each foreign-key trigger (one call
   per row) apart from the insert itself.

Nothing is changed for good: every variant is rolled back, and the schema is
dropped at the end. It says what the fan-out costs, and what each guarantee of
the schema costs in it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import cli_env, database, machine, make_project, postgres_url, prepare, seed_active
from sqlalchemy import event, text

from newsletter.app import create_app
from newsletter.config import load_settings
from newsletter.delivery.outbox import send_issue_now

SERIES, POSITION = "pain-care", 1
FOREIGN_KEYS = ("fk_deliveries_issue_id_issues", "fk_deliveries_list_id_lists",
                "fk_deliveries_subscriber_id_subscribers", "fk_deliveries_edition_id_editions")
# A variant, not the schema: the edition names its issue, so one key on both checks both.
COMPOSITE = (
    "ALTER TABLE editions ADD CONSTRAINT uq_editions_id_issue UNIQUE (id, issue_id)",
    "ALTER TABLE deliveries ADD CONSTRAINT fk_deliveries_subscriber FOREIGN KEY (subscriber_id) "
    "REFERENCES subscribers (id) ON DELETE CASCADE",
    "ALTER TABLE deliveries ADD CONSTRAINT fk_deliveries_edition_issue FOREIGN KEY "
    "(edition_id, issue_id) REFERENCES editions (id, issue_id) ON DELETE CASCADE",
)
TRIGGER = re.compile(r"Trigger for constraint (\S+): time=([\d.]+) calls=(\d+)")
INSERT = re.compile(r"Insert on deliveries .*actual time=[\d.]+\.\.([\d.]+)")
EXECUTION = re.compile(r"Execution Time: ([\d.]+) ms")


def real_fan_out(project: Path, url: str) -> tuple[float, int, str, dict[str, Any]]:
    """Run the fan-out as `send --issue` does; its seconds, rows, and the INSERT it ran."""
    settings = load_settings(project, environ={"NEWSLETTER_DATABASE_URL": url})
    app = create_app(settings)
    captured: list[tuple[str, dict[str, Any]]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO DELIVERIES"):
            captured.append((statement, dict(parameters)))

    event.listen(app.engine, "before_cursor_execute", keep)
    try:
        started = time.perf_counter()
        _, added = send_issue_now(app, SERIES, POSITION)
        seconds = time.perf_counter() - started
    finally:
        event.remove(app.engine, "before_cursor_execute", keep)
        app.close()
    if len(captured) != 1:
        raise SystemExit(f"expected one INSERT INTO deliveries, saw {len(captured)}")
    return seconds, added, *captured[0]


def explain(engine: Any, statement: str, parameters: dict[str, Any],
            drop: tuple[str, ...], add: tuple[str, ...] = ()) -> dict[str, float]:
    """The server's timing of ``statement`` on an empty outbox, ``drop`` keys dropped and
    ``add`` statements run first (all rolled back)."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            connection.exec_driver_sql("TRUNCATE deliveries CASCADE")
            for name in drop:
                connection.exec_driver_sql(f"ALTER TABLE deliveries DROP CONSTRAINT {name}")
            for sql in add:
                connection.exec_driver_sql(sql)
            plan = "\n".join(row[0] for row in connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, COSTS OFF) " + statement, parameters))
        finally:
            transaction.rollback()
    found = {"insert": float(INSERT.search(plan).group(1)) / 1000,  # type: ignore[union-attr]
             "total": float(EXECUTION.search(plan).group(1)) / 1000}  # type: ignore[union-attr]
    for name, ms, _calls in TRIGGER.findall(plan):
        found[name] = float(ms) / 1000
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200_000, help="readers (default 200,000)")
    parser.add_argument("--postgres", metavar="URL", default="env",
                        help="PostgreSQL server URL, or 'env' for NEWSLETTER_TEST_POSTGRES_URL")
    args = parser.parse_args()
    pg = postgres_url(args.postgres)
    if pg is None:
        raise SystemExit("no PostgreSQL server: pass --postgres URL or set "
                         "NEWSLETTER_TEST_POSTGRES_URL")
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="bench-fanout-pg-") as folder:
        project = make_project(Path(folder))
        with database(project, pg) as db:
            assert db.url is not None
            prepare(project, cli_env(db))
            print(f"seeded {args.n:,} in {seed_active(db, args.n):.1f} s", flush=True)
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
            seconds, added, statement, parameters = real_fan_out(project, db.url)
            print(f"fan-out as `send --issue` runs it: {added:,} rows in {seconds:.2f} s",
                  flush=True)
            variants: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
                ("as the schema is", (), ())]
            variants += [(f"without {name}", (name,), ()) for name in FOREIGN_KEYS]
            variants.append(("without any foreign key", FOREIGN_KEYS, ()))
            variants.append(("two keys: subscriber, and (edition, issue) as one; no list key",
                             FOREIGN_KEYS, COMPOSITE))
            print("\n| variant | server total | insert (rows, indexes, ON CONFLICT) "
                  "| foreign-key triggers |\n|---|---|---|---|")
            for label, drop, add in variants:
                found = explain(db.engine, statement, parameters, drop, add)
                triggers = ", ".join(f"{name.removeprefix('fk_deliveries_')} {value:.2f} s"
                                     for name, value in found.items()
                                     if name not in ("insert", "total")) or "none"
                print(f"| {label} | {found['total']:.2f} s | {found['insert']:.2f} s "
                      f"| {triggers} |", flush=True)
    print(f"\nmachine after: {machine()}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
