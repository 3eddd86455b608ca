"""The first console owner, made by ``newsletter run``: a new user reaches /admin at once.

With no staff account yet: at a terminal, ``run`` asks for the owner's address
and a password (an empty answer generates one); otherwise it makes
``owner@<the sender's domain>`` with a generated password. A generated
password is printed once, in the start-up panel, and never stored in clear.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from email.utils import parseaddr

import click

from newsletter.accounts.audit import Actor
from newsletter.accounts.passwords import MIN_LENGTH, generate_password
from newsletter.accounts.roles import Role
from newsletter.accounts.staff import add_staff, has_staff
from newsletter.app import App
from newsletter.errors import AccountError


@dataclass(frozen=True)
class FirstOwner:
    """The owner made on this run, and the password to show once (None when they typed it)."""

    email: str
    password: str | None


def default_owner_address(app: App) -> str:
    """``owner@`` the sender's domain (``owner@localhost`` when the sender has none)."""
    domain = parseaddr(app.settings.sender)[1].rpartition("@")[2] or "localhost"
    return f"owner@{domain}"


def ensure_first_owner(app: App, *, interactive: bool | None = None) -> FirstOwner | None:
    """Make the first owner when there is no staff account; None when there is one already."""
    if has_staff(app):
        return None
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    email = default_owner_address(app)
    password = ""
    if interactive:
        click.echo("No one can log in to the staff console yet: make the first owner.")
        email = str(click.prompt("Owner's email address", default=email)).strip()
        password = str(click.prompt(
            f"Password (at least {MIN_LENGTH} characters; empty: generate one)",
            default="", show_default=False, hide_input=True, confirmation_prompt=True,
        ))
    generated = not password
    password = password or generate_password()
    try:
        made = add_staff(app, email, Role.OWNER, password, actor=Actor("newsletter run"),
                         only_if_none=True)
    except AccountError:
        if has_staff(app):  # another process made the first account a moment ago
            return None
        raise
    return FirstOwner(made.email, password if generated else None)
