"""Confirmation and welcome emails, rendered from ``templates/email/`` through the Renderer.

They are addressed to the normalised address and never show the submitted
name (RELIABILITY #34): whoever typed the form may not be the mailbox owner.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from newsletter.audience.tokens import TokenData
from newsletter.content.lists import ListConfig
from newsletter.delivery.outbox import TransactionalMail
from newsletter.render.compiled import CompiledEmail, PersonalFields

if TYPE_CHECKING:
    from newsletter.app import App


def _personal(app: App, compiled: CompiledEmail, email: str, public_id: str,
              list_slug: str) -> TransactionalMail:
    rendered = compiled.personalize(
        PersonalFields(
            email=email, name=None, unsubscribe_url=app.links.unsubscribe_url(public_id, list_slug)
        )
    )
    return TransactionalMail(subject=rendered.subject, html=rendered.html, text=rendered.text)


def _render(app: App, template: str, email: str, public_id: str, context: dict[str, Any],
            list_slug: str) -> TransactionalMail:
    return _personal(app, app.renderer.compile_email(template, context), email, public_id,
                     list_slug)


def _confirmation_context(
    app: App, mailing_list: ListConfig, by_staff: bool, confirm_url: str
) -> dict[str, Any]:
    return {
        "subject": f"Please confirm your subscription to {mailing_list.name}",
        "preheader": "Open the link and press the button to start. No confirmation, no newsletter.",
        "added_by_staff": by_staff,
        "list_name": mailing_list.name,
        "list_description": mailing_list.description,
        "confirm_url": confirm_url,
        "valid_hours": app.settings.pending_ttl_hours,
    }


def confirmation_mail(
    app: App, *, email: str, public_id: str, mailing_list: ListConfig, by_staff: bool = False,
    pending_id: str | None = None,
) -> TransactionalMail:
    """The email with the confirm link for a pending signup (``by_staff``: staff added them).

    The link carries ``pending_id`` (the signup's pending record) when given,
    else the person's ``public_id``.
    """
    url = app.links.confirm_url(pending_id or public_id, mailing_list.slug)
    context = _confirmation_context(app, mailing_list, by_staff, url)
    return _render(app, "confirmation", email, public_id, context, mailing_list.slug)


def _welcome_context(mailing_list: ListConfig) -> dict[str, Any]:
    return {
        "subject": f"Welcome to {mailing_list.name}",
        "preheader": "Your subscription is active.",
        "list_name": mailing_list.name,
        "list_description": mailing_list.description,
    }


def welcome_mail(
    app: App, *, email: str, public_id: str, mailing_list: ListConfig
) -> TransactionalMail:
    """The email sent once a subscription becomes active."""
    return _render(app, "welcome", email, public_id, _welcome_context(mailing_list),
                   mailing_list.slug)


class SignupMails:
    """Confirmation and welcome emails for a batch of signups, each template compiled once.

    Compiling (Jinja + MJML) costs about a millisecond; personalising a few
    microseconds. The confirm link differs per signup but is not a subscriber
    field, so it is compiled as a random marker that is swapped for the real
    token afterwards (tokens are URL-safe: nothing to escape in HTML or text).
    Compiled templates are kept for ``max_age`` seconds, so edited templates or
    lists are picked up by a long-running worker.
    """

    def __init__(self, app: App, *, max_age: float = 60.0) -> None:
        self._app = app
        self._max_age = max_age
        self._marker = "nlconfirm" + secrets.token_hex(8)
        self._compiled: dict[tuple[str, bool, bool], tuple[float, ListConfig, CompiledEmail]] = {}

    def _template(self, mailing_list: ListConfig, *, welcome: bool,
                  by_staff: bool) -> CompiledEmail:
        key = (mailing_list.slug, welcome, by_staff)
        found = self._compiled.get(key)
        now = time.monotonic()
        if found is not None and found[1] is mailing_list and now - found[0] < self._max_age:
            return found[2]
        if welcome:
            compiled = self._app.renderer.compile_email("welcome", _welcome_context(mailing_list))
        else:
            url = f"{self._app.links.base_url}/confirm/{self._marker}"
            context = _confirmation_context(self._app, mailing_list, by_staff, url)
            compiled = self._app.renderer.compile_email("confirmation", context)
        self._compiled[key] = (now, mailing_list, compiled)
        return compiled

    def confirmation(self, *, email: str, public_id: str, pending_id: str,
                     mailing_list: ListConfig, by_staff: bool) -> TransactionalMail:
        """The confirmation email whose link carries the pending record ``pending_id``."""
        compiled = self._template(mailing_list, welcome=False, by_staff=by_staff)
        mail = _personal(self._app, compiled, email, public_id, mailing_list.slug)
        if self._marker not in mail.text and self._marker not in mail.html:
            # A template that transforms the link: render this one the slow way.
            return confirmation_mail(self._app, email=email, public_id=public_id,
                                     mailing_list=mailing_list, by_staff=by_staff,
                                     pending_id=pending_id)
        token = self._app.tokens.confirm(TokenData(pending_id, mailing_list.slug))
        return TransactionalMail(subject=mail.subject, html=mail.html.replace(self._marker, token),
                                 text=mail.text.replace(self._marker, token))

    def welcome(self, *, email: str, public_id: str, mailing_list: ListConfig) -> TransactionalMail:
        """The welcome email of a list without double opt-in."""
        compiled = self._template(mailing_list, welcome=True, by_staff=False)
        return _personal(self._app, compiled, email, public_id, mailing_list.slug)
