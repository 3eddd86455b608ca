"""Commands registered on the root group (see newsletter.cli)."""

from __future__ import annotations
