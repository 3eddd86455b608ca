"""``python -m newsletter`` is the ``newsletter`` command."""

from newsletter.cli import main

if __name__ == "__main__":  # not when a sending process started with "spawn" imports it
    main()
