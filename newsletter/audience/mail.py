"""Confirmation and welcome emails, rendered from ``templates/email/`` through the Renderer.

They are addressed to the normalised address and never show the submitted
name (RELIABILITY #34): whoever typed the form may not be the mailbox owner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from newsletter.content.lists import ListConfig
from newsletter.delivery.outbox import TransactionalMail
from newsletter.render.compiled import PersonalFields

if TYPE_CHECKING:
    from newsletter.app import App


def _render(app: App, template: str, email: str, public_id: str, context: dict[str, Any],
            list_slug: str) -> TransactionalMail:
    compiled = app.renderer.compile_email(template, context)
    rendered = compiled.personalize(
        PersonalFields(
            email=email, name=None, unsubscribe_url=app.links.unsubscribe_url(public_id, list_slug)
        )
    )
    return TransactionalMail(subject=rendered.subject, html=rendered.html, text=rendered.text)


def confirmation_mail(
    app: App, *, email: str, public_id: str, mailing_list: ListConfig, by_staff: bool = False
) -> TransactionalMail:
    """The email with the confirm link for a pending signup (``by_staff``: staff added them)."""
    context = {
        "subject": f"Please confirm your subscription to {mailing_list.name}",
        "preheader": "Open the link and press the button to start. No confirmation, no newsletter.",
        "added_by_staff": by_staff,
        "list_name": mailing_list.name,
        "list_description": mailing_list.description,
        "confirm_url": app.links.confirm_url(public_id, mailing_list.slug),
        "valid_hours": app.settings.pending_ttl_hours,
    }
    return _render(app, "confirmation", email, public_id, context, mailing_list.slug)


def welcome_mail(
    app: App, *, email: str, public_id: str, mailing_list: ListConfig
) -> TransactionalMail:
    """The email sent once a subscription becomes active."""
    context = {
        "subject": f"Welcome to {mailing_list.name}",
        "preheader": "Your subscription is active.",
        "list_name": mailing_list.name,
        "list_description": mailing_list.description,
    }
    return _render(app, "welcome", email, public_id, context, mailing_list.slug)
