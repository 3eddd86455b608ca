"""Print what the importer makes of a corpus article, as an expectations file to review.

    .venv/bin/python scripts/corpus_expect.py tests/corpus/h21-wordpress-clinic-page.html
    .venv/bin/python scripts/corpus_expect.py NEW.html --shape "..." --write

For a NEW article only: the output is what the code does today, not what it
should do. Read every issue title, block and dropped entry against the article
and correct the file where the importer is wrong (then fix the importer), so
the corpus test checks intent, not habit. ``--write`` refuses to overwrite an
existing expectations file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.corpus import expected_toml, run  # noqa: E402


def main() -> int:
    """Print (or write) the expectations of one article."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("article", type=Path)
    parser.add_argument("--shape", default="", help="what real-world shape the article stands for")
    parser.add_argument("--source-url", default="")
    parser.add_argument("--write", action="store_true", help="write NAME.expected.toml")
    args = parser.parse_args()
    text = expected_toml(args.article, run(args.article, args.source_url), args.shape,
                         args.source_url)
    target = args.article.with_name(args.article.stem + ".expected.toml")
    if not args.write:
        print(text, end="")
        return 0
    if target.exists():
        print(f"{target} exists; edit it by hand", file=sys.stderr)
        return 1
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}: now review it line by line")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
