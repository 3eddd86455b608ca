"""The three console roles, each allowed everything the one below it may do."""

from __future__ import annotations

from enum import StrEnum

from newsletter.errors import AccountError


class Role(StrEnum):
    """What a staff member may do: read (viewer), edit and schedule (editor), everything (owner)."""

    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"


_RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}


def allows(have: Role, need: Role) -> bool:
    """True when someone with role ``have`` may do what needs ``need`` (owner ⊃ editor ⊃ viewer)."""
    return _RANK[have] >= _RANK[need]


def parse_role(value: str) -> Role:
    """The role named ``value`` (any case), or AccountError listing the three."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        names = ", ".join(role.value for role in Role)
        raise AccountError(f"unknown role {value!r}: choose one of {names}") from None
