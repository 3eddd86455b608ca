"""Content commands: ``import-article``."""

from __future__ import annotations
