"""Two places name code by a string; a move or rename must fail here, not silently in use."""

from __future__ import annotations

from apscheduler.util import obj_to_ref, ref_to_obj

from newsletter.render import errors as render_errors
from newsletter.render.renderer import FrontMatter
from newsletter.schedule import process


def test_the_front_matter_class_named_in_render_errors_is_the_real_one() -> None:
    # Jinja names a context object by its dotted path in "has no attribute" messages.
    path = f"{FrontMatter.__module__}.{FrontMatter.__qualname__}"
    assert path in render_errors._TYPE_WORDS
    message = f"'{path} object' has no attribute 'titel'"
    assert render_errors._readable(message) == "the front matter has no field 'titel'"


def test_the_heartbeat_reference_stored_by_apscheduler_resolves_to_the_heartbeat() -> None:
    assert ref_to_obj(process.HEARTBEAT_REF) is process.heartbeat
    assert obj_to_ref(process.heartbeat) == process.HEARTBEAT_REF
