"""Typed settings from ``newsletter.toml`` and ``NEWSLETTER_*`` environment variables.

The environment wins over the file; the file wins over the embedded defaults,
which work on a laptop with nothing configured: a SQLite file and a secret key
under ``var/``, and the built-in mail catcher as transport. Nothing is read at
import time: call :func:`load_settings` from the composition root.

Keys are flat and the same in both places: ``smtp_host`` in the file is
``NEWSLETTER_SMTP_HOST`` in the environment. Lists in the environment are
comma-separated.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import tomllib
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from newsletter.clock import find_zone
from newsletter.errors import ConfigError

CONFIG_FILE = "newsletter.toml"
ENV_PREFIX = "NEWSLETTER_"


class Settings(BaseModel):
    """Every setting of the application, validated; secrets are hidden from repr."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    root: Path = Field(default_factory=Path.cwd)  # relative paths start here
    database_url: str = ""
    base_url: str = "http://127.0.0.1:8000"
    secret_keys: list[SecretStr] = Field(default_factory=list)

    transport: Literal["catcher", "smtp"] = "catcher"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=2525, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = Field(default=30.0, gt=0)
    smtp_data_timeout: float = Field(default=600.0, gt=0)
    # Connections per sending process (two processes per core): 2 × 2 × cores in all, as
    # many as 4 per process × 1 per core gave before, with less contention for the GIL.
    smtp_pool_size: int = Field(default=2, ge=1, le=64)
    smtp_rate_per_second: float = Field(default=0.0, ge=0)
    smtp_rate_per_hour: int = Field(default=0, ge=0)
    # Delivery policy (RELIABILITY #14-16): leases, batches, backoff, give-up, pauses.
    delivery_lease_seconds: float = Field(default=900.0, gt=0)
    delivery_batch_size: int = Field(default=500, ge=1, le=5000)
    delivery_backoff_base_seconds: float = Field(default=300.0, gt=0)
    delivery_backoff_cap_seconds: float = Field(default=4 * 3600.0, gt=0)
    delivery_give_up_seconds: float = Field(default=3 * 86400.0, gt=0)
    delivery_throttle_delay_seconds: float = Field(default=60.0, gt=0)
    delivery_unknown_retry_seconds: float = Field(default=3600.0, gt=0)
    delivery_pause_after_failures: int = Field(default=20, ge=1)
    smtp_connection_max_age: float = Field(default=300.0, gt=0)
    # Workers (issue 14): heartbeat period, and silence after which a worker counts as dead
    # and its claims go back to the queue.
    worker_heartbeat_seconds: float = Field(default=5.0, gt=0)
    worker_dead_after_seconds: float = Field(default=30.0, gt=0)

    sender: str = "Riverside Pain Clinic <news@clinic.example.com>"
    envelope_sender: str | None = None
    postal_address: str = "Riverside Pain Clinic, 12 Harbour Road, Springfield 10001"
    allowed_origins: list[str] = Field(default_factory=list)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto count (addresses or networks);
    # empty: the peer address is the visitor, whatever a header claims (RELIABILITY #27).
    trusted_proxies: list[str] = Field(default_factory=list)
    # Signup (RELIABILITY #26, #28, #39): cooldown, pending lifetime, per-IP and global limits.
    confirm_cooldown_seconds: int = Field(default=900, ge=0)
    pending_ttl_hours: int = Field(default=48, ge=1, le=24 * 30)
    signup_rate_limit: int = Field(default=10, ge=0)  # per IP per window; 0 turns it off
    signup_rate_window_seconds: int = Field(default=600, ge=1)
    signup_global_per_hour: int = Field(default=0, ge=0)  # 0 = no global cap
    max_request_bytes: int = Field(default=16_384, ge=1024)
    request_body_timeout_seconds: float = Field(default=10.0, gt=0)
    smtp_utf8: bool = False  # the relay offers SMTPUTF8: accept non-ASCII local parts
    issues_dir: Path = Path("issues")
    subscribers_dir: Path = Path("subscribers")
    var_dir: Path = Path("var")
    time_zone: str = "UTC"

    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_private_key_path: Path | None = None
    dkim_signed_by_relay: bool = False  # silences the unsigned-mail warning
    ehlo_name: str | None = None  # default: the sender's domain

    # The staff console (/admin): session lifetimes, login throttling, its request-size cap.
    console_session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    console_session_max_hours: int = Field(default=12, ge=1, le=24 * 30)
    console_login_failures_per_account: int = Field(default=5, ge=1, le=1000)
    console_login_failures_per_ip: int = Field(default=20, ge=1, le=100_000)
    console_login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    console_max_request_bytes: int = Field(default=2_000_000, ge=1024)
    # The REST API (/api/v1): each bearer token may make ``api_rate_per_minute`` requests
    # a minute on average, ``api_rate_burst`` at once (shared by every web process: the
    # limiter's state is in the database).
    api_rate_per_minute: int = Field(default=120, ge=1, le=1_000_000)
    api_rate_burst: int = Field(default=30, ge=1, le=100_000)
    # CSV files of subscribers uploaded at /admin/subscribers/import (kept in var/imports).
    console_import_max_bytes: int = Field(default=20_000_000, ge=1024)

    # Bounces and complaints (RELIABILITY #46-49): VERP address and the policy.
    verp_local_part: str = Field(default="bounces", pattern=r"^[A-Za-z0-9._-]{1,24}$")
    verp_separator: Literal["+", "-"] = "+"
    verp_domain: str | None = None  # default: the sender's domain
    bounce_soft_limit: int = Field(default=3, ge=1, le=100)
    bounce_soft_window_days: int = Field(default=60, ge=1, le=3650)
    verp_enabled: bool = True  # off: MAIL FROM is envelope_sender (bounces matched by Message-ID)
    # A send pauses (and alerts) when its hard-bounce or complaint rate passes these,
    # once at least ``feedback_rate_min_sent`` of its messages have gone out.
    bounce_rate_limit: float = Field(default=0.05, gt=0, le=1)
    complaint_rate_limit: float = Field(default=0.003, gt=0, le=1)
    feedback_rate_min_sent: int = Field(default=100, ge=1)
    # Intake: the inbound SMTP listener (``bounces serve``, started by ``run`` too).
    bounce_listen_host: str = "127.0.0.1"
    bounce_listen_port: int = Field(default=2526, ge=0, le=65535)  # 0: ``run`` starts none
    bounce_max_message_bytes: int = Field(default=10_000_000, ge=10_000)
    # Intake: an IMAP mailbox (``bounces poll``), always over verified TLS.
    imap_host: str | None = None
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: Literal["ssl", "starttls"] = "ssl"
    imap_username: str | None = None
    imap_password: SecretStr | None = None
    imap_folder: str = "INBOX"
    imap_processed_folder: str = "Processed"
    imap_ca_file: Path | None = None  # a private CA; default: the system's trust store
    imap_timeout: float = Field(default=30.0, gt=0)
    # Intake: provider webhooks under /webhooks/<provider>; each is off until configured.
    webhook_max_age_seconds: int = Field(default=3600, ge=60)
    webhook_max_request_bytes: int = Field(default=1_000_000, ge=16_384)
    webhook_sns_topic_arns: list[str] = Field(default_factory=list)
    webhook_sns_cert_hosts: list[str] = Field(
        default_factory=lambda: ["sns.*.amazonaws.com", "sns.*.amazonaws.com.cn"])
    webhook_postmark_username: str | None = None
    webhook_postmark_password: SecretStr | None = None
    webhook_mailgun_signing_key: SecretStr | None = None
    webhook_sendgrid_public_key: str | None = None
    # Outbound webhooks (newsletter/hooks/, console /admin/hooks): where, how long, how often.
    hooks_allow_private_targets: bool = False  # true: loopback/private receivers allowed (SSRF!)
    hooks_timeout_seconds: float = Field(default=10.0, gt=0)
    hooks_lease_seconds: float = Field(default=300.0, gt=0)
    hooks_backoff_base_seconds: float = Field(default=30.0, gt=0)
    hooks_backoff_cap_seconds: float = Field(default=3600.0, gt=0)
    hooks_give_up_seconds: float = Field(default=86400.0, gt=0)
    hooks_disable_after_seconds: float = Field(default=5 * 86400.0, gt=0)
    # ``newsletter doctor`` and the console's "Run the checks": whom to ask, whom to trust.
    doctor_dns_server: str | None = None  # HOST or HOST:PORT; default: the system's resolver
    doctor_ca_file: Path | None = None  # trust this CA for the relay's TLS; default: the system's

    @field_validator("secret_keys", "allowed_origins", "trusted_proxies", "webhook_sns_topic_arns",
                     "webhook_sns_cert_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _heartbeat_before_death(self) -> Settings:
        if self.worker_dead_after_seconds < 2 * self.worker_heartbeat_seconds:
            raise ValueError(
                f"worker_dead_after_seconds={self.worker_dead_after_seconds:g} must be at least "
                f"twice worker_heartbeat_seconds={self.worker_heartbeat_seconds:g}, or a live "
                "worker whose heartbeat is a little late would count as dead")
        return self

    @model_validator(mode="after")
    def _hook_lease_outlasts_request(self) -> Settings:
        if self.hooks_lease_seconds <= self.hooks_timeout_seconds:
            raise ValueError(
                f"hooks_lease_seconds={self.hooks_lease_seconds:g} must be longer than "
                f"hooks_timeout_seconds={self.hooks_timeout_seconds:g}, or a webhook still "
                "being posted could be taken by another worker and posted twice")
        return self

    @model_validator(mode="after")
    def _relay_needs_https_links(self) -> Settings:
        # RFC 8058: the one-click List-Unsubscribe URI must be HTTPS. Plain http is
        # only acceptable while links point at this machine (local runs, tests).
        if (self.transport == "smtp" and self.base_url.startswith("http://")
                and not self.base_url_is_loopback):
            raise ValueError(
                f"base_url={self.base_url!r} must start with https:// when mail goes to a "
                "relay (RFC 8058 one-click unsubscribe links must be HTTPS)"
            )
        return self

    @field_validator("time_zone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        if find_zone(value) is None:
            raise ValueError("is not a known IANA time zone (e.g. Europe/Berlin)")
        return value

    @property
    def base_url_is_loopback(self) -> bool:
        """Whether links point at this machine only (a local run, a test)."""
        return is_loopback_host(urlsplit(self.base_url).hostname or "")

    def path(self, value: Path) -> Path:
        """Resolve a configured path against the root folder."""
        return value if value.is_absolute() else self.root / value

    @property
    def issues_path(self) -> Path:
        """Folder holding one sub-folder per series."""
        return self.path(self.issues_dir)

    @property
    def subscribers_path(self) -> Path:
        """Folder holding ``lists.toml`` and subscriber CSV files."""
        return self.path(self.subscribers_dir)

    @property
    def var_path(self) -> Path:
        """Folder for local state: the SQLite file, the generated secret key, rendered output."""
        return self.path(self.var_dir)

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or a SQLite file under ``var/``."""
        return self.database_url or f"sqlite:///{self.var_path / 'newsletter.db'}"

    @property
    def envelope_from(self) -> str:
        """The bounce address (SMTP MAIL FROM)."""
        return self.envelope_sender or parseaddr(self.sender)[1]

    @property
    def org_name(self) -> str:
        """The organisation as people read it: the sender's display name, else its address."""
        name, address = parseaddr(self.sender)
        return name or address or self.sender


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an address, as given to --host) is this machine only."""
    if host.strip("[]").lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_SECRET_KEYS = {"smtp_password", "secret_keys", "imap_password", "webhook_postmark_password",
                "webhook_mailgun_signing_key"}


def _read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    unknown = sorted(set(data) - set(Settings.model_fields) - {"root"})
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}")
    return data


def _read_env(environ: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in Settings.model_fields:
        env_name = ENV_PREFIX + name.upper()
        if env_name in environ:
            values[name] = environ[env_name]
    return values


def _describe(error: ValidationError, sources: dict[str, str], values: dict[str, Any]) -> str:
    lines = []
    for problem in error.errors():
        if not problem["loc"]:  # a rule across settings: its message names them
            lines.append(str(problem["msg"]).removeprefix("Value error, "))
            continue
        key = str(problem["loc"][0])
        where = sources.get(key, key)
        shown = "<hidden>" if key in _SECRET_KEYS else repr(values.get(key))
        lines.append(f"{where}={shown}: {problem['msg']}")
    return "invalid settings: " + "; ".join(lines)


def load_settings(
    root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read ``newsletter.toml`` under ``root`` and the environment, validate, and fill defaults.

    ``overrides`` win over both (used by tests and by commands with flags). When
    no secret key is configured, one is generated once and kept in ``var/secret_key``.
    """
    root = (root or Path.cwd()).resolve()
    environ = os.environ if environ is None else environ
    file_values = _read_file(root / CONFIG_FILE)
    env_values = _read_env(environ)
    values: dict[str, Any] = {**file_values, **env_values, **(overrides or {}), "root": root}
    sources = {key: f"{CONFIG_FILE}:{key}" for key in file_values}
    sources.update({key: ENV_PREFIX + key.upper() for key in env_values})
    try:
        settings = Settings.model_validate(values)
    except ValidationError as err:
        raise ConfigError(_describe(err, sources, values)) from None
    if not settings.secret_keys:
        key = _stored_secret_key(settings.var_path)
        settings = settings.model_copy(update={"secret_keys": [SecretStr(key)]})
    return settings


def _stored_secret_key(var_path: Path) -> str:
    """Return the secret key kept under ``var/``, creating it (mode 0600) the first time."""
    key_file = var_path / "secret_key"
    if key_file.exists():
        key = key_file.read_text(encoding="utf-8").strip()
        if key:
            return key
    var_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key
