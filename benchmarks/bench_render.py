"""Benchmark: compile an issue once (Jinja2 + MJML) versus personalize it per subscriber.

    .venv/bin/python benchmarks/bench_render.py                 # print a Markdown section
    .venv/bin/python benchmarks/bench_render.py --append docs/benchmarks.md

Uses the sample series in issues/ (no database, no network). "compile" is
``Renderer.compile_issue`` with the cache off and Jinja's template cache warm,
i.e. the cost a naive sender would pay per subscriber; "personalize" is
``CompiledEmail.personalize`` with a different subscriber each call.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from newsletter.config import load_settings  # noqa: E402
from newsletter.content.issuefile import read_series  # noqa: E402
from newsletter.render import PersonalFields, Renderer  # noqa: E402


def measure(series: str, position: int, compiles: int, subscribers: int) -> dict[str, float]:
    """Seconds per compile and per personalize (medians of batches), and sizes."""
    settings = load_settings(REPO, environ={}, overrides={"secret_keys": ["bench-key"]})
    doc = read_series(settings.issues_path / series)
    renderer = Renderer(settings, cache_size=0)  # every compile does the full work
    compiled = renderer.compile_issue(doc, position)  # warm Jinja's template cache
    compile_times = []
    for _ in range(compiles):
        start = time.perf_counter()
        renderer.compile_issue(doc, position)
        compile_times.append(time.perf_counter() - start)
    people = [
        PersonalFields(f"reader{i}@example.com", f"Reader {i}" if i % 3 else None,
                       f"{settings.base_url}/unsubscribe/token-{i:08d}")
        for i in range(subscribers)
    ]
    batch = 1000
    batch_times = []
    for offset in range(0, subscribers, batch):
        chunk = people[offset:offset + batch]
        start = time.perf_counter()
        for person in chunk:
            compiled.personalize(person)
        batch_times.append((time.perf_counter() - start) / len(chunk))
    return {
        "compile": statistics.median(compile_times),
        "personalize": statistics.median(batch_times),
        "html_size": float(compiled.html_size),
    }


def report(result: dict[str, float], args: argparse.Namespace) -> str:
    """The results as a Markdown section."""
    compile_ms = result["compile"] * 1000
    personalize_us = result["personalize"] * 1_000_000
    ratio = result["compile"] / result["personalize"]
    return (
        "\n## Rendering: compile once, personalize per subscriber\n\n"
        f"Command: `.venv/bin/python benchmarks/bench_render.py --compiles {args.compiles} "
        f"--subscribers {args.subscribers}` (issue {args.position} of `{args.series}`, "
        f"HTML {int(result['html_size']):,} bytes).\n"
        f"Machine: {os.cpu_count()} CPUs (`nproc`), Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}.\n\n"
        "| step | median time | per second |\n|---|---|---|\n"
        f"| compile_issue (Jinja2 + MJML, cache off) | {compile_ms:.2f} ms "
        f"| {1 / result['compile']:,.0f} |\n"
        f"| personalize (one subscriber) | {personalize_us:.2f} µs "
        f"| {1 / result['personalize']:,.0f} |\n\n"
        f"Personalizing is **{ratio:,.0f}×** cheaper than compiling: a 100,000-subscriber "
        f"issue costs one compile plus {100_000 * result['personalize']:.2f} s of "
        f"personalizing, where rendering per subscriber would take "
        f"{100_000 * result['compile'] / 60:.0f} min.\n"
    )


def main() -> None:
    """Parse arguments, measure, print (and optionally append) the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="pain-care")
    parser.add_argument("--position", type=int, default=1)
    parser.add_argument("--compiles", type=int, default=50)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--append", type=Path, default=None, help="Markdown file to append to")
    args = parser.parse_args()
    text = report(measure(args.series, args.position, args.compiles, args.subscribers), args)
    print(text)
    if args.append is not None:
        fresh = not args.append.exists()
        with args.append.open("a", encoding="utf-8") as handle:
            handle.write(("# Benchmarks\n" if fresh else "") + text)


if __name__ == "__main__":
    main()
