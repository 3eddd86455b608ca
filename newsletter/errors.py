"""The one exception tree of the package.

Every error a person can act on is a ``NewsletterError``; its message names the
thing concerned (the setting, the file and line, the address, the host:port).
Entry points (CLI, web) turn these into an exit message or an HTTP status; any
other exception is a bug.

    NewsletterError
    ├── ConfigError          a setting is missing or has a bad value
    ├── DatabaseError        the database is unreachable, locked too long, or not migrated
    ├── ContentError         an article or issue file cannot be read or imported
    │   └── EditedFilesError re-import would overwrite files staff have edited
    ├── RenderError          a template is broken or a field is missing (names template and line)
    ├── NotFoundError        a series, issue, list or subscriber does not exist
    ├── SubscriptionError    an address, name or token is not acceptable
    │   ├── AddressError     the address, name or time zone (newsletter.audience.addresses)
    │   ├── TokenError       a tampered, expired or wrong-purpose link (newsletter.audience.tokens)
    │   └── ConfirmRefused   a valid link that cannot confirm (newsletter.audience.signup)
    ├── DeliveryError        SMTP or message assembly failed (names host:port or address)
    ├── FeedbackError        a bounce or complaint cannot be read, or its VERP token is forged
    │   └── SignatureError   a provider webhook's signature, credentials or timestamp do not check
    ├── ScheduleError        a schedule is impossible or ambiguous
    └── AccountError         a staff account, role or password is not acceptable
        └── LoginRefused     wrong address or password, or too many tries (newsletter.accounts)

The three subscription errors live beside the rules that raise them; the web
layer maps TokenError and ConfirmRefused to a "this link does not work" page.
"""

from __future__ import annotations


class NewsletterError(Exception):
    """Base of every error a person can act on."""


class ConfigError(NewsletterError):
    """A setting is missing or has a bad value; the message names the key and the value."""


class DatabaseError(NewsletterError):
    """The database cannot be used right now (unreachable, locked, not migrated)."""


class ContentError(NewsletterError):
    """An article or an issue file cannot be read, parsed or written.

    ``line`` is the line of the text at fault when one is known (front matter YAML).
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class EditedFilesError(ContentError):
    """Re-importing would overwrite issue files that staff have edited."""

    def __init__(self, message: str, paths: list[str]) -> None:
        super().__init__(message)
        self.paths = paths


class RenderError(NewsletterError):
    """A template or an issue cannot be rendered; names the template and line."""

    def __init__(self, message: str, template: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.template = template
        self.line = line


class NotFoundError(NewsletterError):
    """A named series, issue, list or subscriber does not exist."""


class FeedbackError(NewsletterError):
    """A bounce or complaint cannot be used: unreadable, or its VERP token fails the check."""


class SignatureError(FeedbackError):
    """A provider webhook is refused: forged or missing signature, wrong credentials, stale."""


class SubscriptionError(NewsletterError):
    """A submitted address, name or token is not acceptable."""


class DeliveryError(NewsletterError):
    """Sending failed in a way the caller must handle; names host:port or the address."""


class ScheduleError(NewsletterError):
    """A schedule is impossible or ambiguous."""


class AccountError(NewsletterError):
    """A staff account, role or password is not acceptable; names the account."""
