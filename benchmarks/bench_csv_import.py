"""Benchmark: the console's CSV import of subscribers, dry run then import, in rows per second.

    .venv/bin/python benchmarks/bench_csv_import.py -n 100000
    .venv/bin/python benchmarks/bench_csv_import.py -n 100000 --postgres env

Runs the service the console calls (newsletter.audience.import_jobs) in this
process on a fresh database: ``check_upload`` (store the file, dry run: parse,
validate, look up every address in batches of 500, write nothing), the import
(``claim`` + ``run_import``, batches of 500 with the job's count moved after
each), then the same file checked and imported again (every row already
subscribed: the idempotent path). 2% of the rows are bad, to be refused.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.harness import database, machine, make_project, postgres_url  # noqa: E402
from newsletter.accounts.audit import Actor  # noqa: E402
from newsletter.app import create_app  # noqa: E402
from newsletter.audience import import_jobs  # noqa: E402
from newsletter.config import load_settings  # noqa: E402

LIST = "clinic-news"


def csv_bytes(count: int) -> bytes:
    lines = ["email;name;time_zone"]
    for number in range(count):
        if number % 50 == 49:
            lines.append(f"reader{number}-at-example.com;Reader {number};")  # refused
        else:
            lines.append(f"reader{number}@example.com;Reader {number};Europe/Berlin")
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=100_000, help="data rows in the file")
    parser.add_argument("--postgres", default=None, help="'env' or a URL; default SQLite")
    args = parser.parse_args()
    print(machine())
    data = csv_bytes(args.n)
    print(f"file: {args.n} rows, {len(data) / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory() as scratch:
        project = make_project(Path(scratch))
        with database(project, postgres_url(args.postgres)) as db:
            overrides = {"database_url": db.url} if db.url else {}
            app = create_app(load_settings(project, environ={}, overrides=overrides))
            actor = Actor("bench@clinic.example")
            try:
                for round_name in ("first", "again"):
                    started = time.perf_counter()
                    job = import_jobs.check_upload(app, file_name="bench.csv", data=data,
                                                   list_slug=LIST, basis="", actor=actor)
                    checked = time.perf_counter() - started
                    assert import_jobs.claim(app, job.token)
                    started = time.perf_counter()
                    done = import_jobs.run_import(app, job.token)
                    imported = time.perf_counter() - started
                    assert done.state == "done", done.error
                    assert done.result is not None
                    print(f"{db.kind} {round_name}: dry run {checked:.1f} s "
                          f"({args.n / checked:,.0f} rows/s; would add {job.checked.added}, "
                          f"refuse {job.checked.refused}); import {imported:.1f} s "
                          f"({args.n / imported:,.0f} rows/s; added {done.result.added}, "
                          f"already subscribed {done.result.existing})")
            finally:
                app.close()


if __name__ == "__main__":
    main()
