"""Confirmation and welcome emails, rendered from ``templates/email/`` through the Renderer.

They are addressed to the normalised address and never show the submitted
name (RELIABILITY #34): whoever typed the form may not be the mailbox owner.
"""

from __future__ import annotations

from typing import Any

from newsletter.app import App
from newsletter.delivery.outbox import TransactionalMail
from newsletter.lists import ListConfig
from newsletter.render.compiled import PersonalFields
from newsletter.tokens import TokenData, Tokens


def tokens_for(app: App) -> Tokens:
    """The token maker for the App's secret keys (newest signs, all verify)."""
    tokens = app.extras.get("subscriptions.tokens")
    if not isinstance(tokens, Tokens):
        tokens = Tokens([key.get_secret_value() for key in app.settings.secret_keys])
        app.extras["subscriptions.tokens"] = tokens
    return tokens


def confirm_url(app: App, public_id: str, list_slug: str) -> str:
    """The double opt-in link for one subscriber and list (it expires)."""
    token = tokens_for(app).confirm(TokenData(subscriber=public_id, list_slug=list_slug))
    return f"{app.settings.base_url}/confirm/{token}"


def unsubscribe_url(app: App, public_id: str, list_slug: str) -> str:
    """The one-click unsubscribe link for one subscriber and list (it never expires)."""
    token = tokens_for(app).unsubscribe(TokenData(subscriber=public_id, list_slug=list_slug))
    return f"{app.settings.base_url}/unsubscribe/{token}"


def _render(app: App, template: str, email: str, public_id: str, context: dict[str, Any],
            list_slug: str) -> TransactionalMail:
    compiled = app.renderer.compile_email(template, context)
    rendered = compiled.personalize(
        PersonalFields(
            email=email, name=None, unsubscribe_url=unsubscribe_url(app, public_id, list_slug)
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
        "confirm_url": confirm_url(app, public_id, mailing_list.slug),
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
