"""Benchmark: what starting a `newsletter` command costs in CPU and memory, before its work.

    .venv/bin/python benchmarks/bench_cli_startup.py --runs 7
    .venv/bin/python benchmarks/bench_cli_startup.py --runs 7 --compare /tmp/before

Each command runs in a fresh project on the SQLite default (migrated first by
the same code, so no run pays for the schema), ``--runs`` times; the table gives the median
CPU time (user + system) and the median peak RSS of the process. With
``--compare DIR`` the same commands also run from another checkout of this
repository (``PYTHONPATH=DIR``, e.g. a ``git worktree`` of an older commit),
alternating with this one run by run, and the table gives the ratio: the two
are measured in one run, on the same machine at the same moment.

`newsletter send` pays this once per send, before the fan-out; every staff
command and every cron job pays it every time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import cli_env, database, machine, make_project, newsletter_bin, prepare

COMMANDS = (("--help",), ("db", "current"), ("status",), ("send", "--help"),
            ("subscribers", "--help"), ("serve", "--help"))


def one_run(project: Path, env: dict[str, str], args: tuple[str, ...]) -> tuple[float, float]:
    """CPU seconds and peak RSS (MB) of one ``newsletter ARGS`` in ``project``."""
    process = subprocess.Popen([newsletter_bin(), *args], cwd=project, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        assert process.stderr is not None
        raise SystemExit(f"`newsletter {' '.join(args)}` failed: {process.stderr.read()!r}")
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    parser.add_argument("--compare", type=Path, metavar="DIR",
                        help="another checkout to run the same commands from, alternating")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    sides: dict[str, str | None] = {"this checkout": None}
    if args.compare:
        sides["--compare " + str(args.compare)] = str(args.compare.resolve())
    cpu: dict[tuple[str, tuple[str, ...]], list[float]] = {}
    rss: dict[tuple[str, tuple[str, ...]], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cli-startup-") as folder, ExitStack() as stack:
        projects: dict[str, tuple[Path, dict[str, str]]] = {}
        for number, (side, path) in enumerate(sides.items()):
            # One project per checkout: each migrates its own database with its own code.
            project = make_project(Path(folder) / str(number))
            env = cli_env(stack.enter_context(database(project, None)))
            if path:
                env["PYTHONPATH"] = path
            prepare(project, env)
            projects[side] = (project, env)
        for _ in range(args.runs):
            for command in COMMANDS:
                for side, (project, env) in projects.items():
                    seconds, mb = one_run(project, env, command)
                    cpu.setdefault((side, command), []).append(seconds)
                    rss.setdefault((side, command), []).append(mb)
    names = list(sides)
    header = "| command | " + " | ".join(f"{n}: CPU, peak RSS" for n in names)
    print(f"\nmedians of {args.runs} runs\n")
    print(header + (" | CPU ratio (this / other) |" if len(names) == 2 else " |"))
    print("|---" * (len(names) + 1 + (len(names) == 2)) + "|")
    for command in COMMANDS:
        cells = [f"{statistics.median(cpu[(n, command)]):.2f} s, "
                 f"{statistics.median(rss[(n, command)]):.0f} MB" for n in names]
        row = f"| `newsletter {' '.join(command)}` | " + " | ".join(cells)
        if len(names) == 2:
            ratio = (statistics.median(cpu[(names[0], command)])
                     / statistics.median(cpu[(names[1], command)]))
            row += f" | {ratio:.2f}"
        print(row + " |")
    print(f"\nmachine after: {machine()}")


if __name__ == "__main__":
    main()
