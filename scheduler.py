"""The scheduler process: the same as ``newsletter scheduler`` (try ``--help``)."""

from __future__ import annotations

import sys

from newsletter.cli import main

if __name__ == "__main__":
    main(["scheduler", *sys.argv[1:]], prog_name="scheduler.py")
