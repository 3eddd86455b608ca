"""The one composition root: settings → database, clock, renderer, links, catalog, DKIM, transport.

Entry points (the CLI, the web app, ``scheduler.py``) build an :class:`App`
with :func:`create_app` and pass it down; nothing else creates engines,
sessions, token makers or transports. Services import :class:`App` for type
checking only. Every attribute is typed and built here, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parseaddr

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from newsletter.audience.origins import AllowedOrigins
from newsletter.audience.tokens import Links, Tokens
from newsletter.catalog import Catalog
from newsletter.clock import Clock, SystemClock
from newsletter.config import Settings, load_settings
from newsletter.db.engine import is_sqlite, make_engine, make_sessionmaker
from newsletter.db.migrate import upgrade
from newsletter.db.transactions import Transactions
from newsletter.delivery.signing import SignerSource
from newsletter.delivery.transport import Transport, transport_from_settings
from newsletter.feedback.verp import Verp, verp_from_settings
from newsletter.render.pages import PageRenderer
from newsletter.render.renderer import Renderer

TransportFactory = Callable[[], Transport]


@dataclass(frozen=True)
class App:
    """Everything a use case needs, wired once."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]  # plain sessions (tests, ad-hoc reads); services use ``db``
    db: Transactions
    clock: Clock
    renderer: Renderer
    pages: PageRenderer  # the web pages
    tokens: Tokens
    links: Links
    catalog: Catalog
    transport: TransportFactory  # a new transport (and its connection pool) per call
    dkim: SignerSource  # the DKIM signer, read once (again when ``dkim init`` changes the key)
    verp: Verp  # bounce addresses: signs the envelope sender, reads it back from bounces
    origins: AllowedOrigins  # allowed_origins plus the console's embedding origins (cached)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def make_renderer(settings: Settings) -> Renderer:
    """The renderer (needs no database: previews work while it is down)."""
    return Renderer(settings)


def make_links(settings: Settings) -> Links:
    """Confirm and unsubscribe links signed with the configured keys (the newest signs)."""
    keys = [key.get_secret_value() for key in settings.secret_keys]
    return Links(settings.base_url, Tokens(keys))


def make_verp(settings: Settings) -> Verp:
    """The VERP codec of these settings (the bounce domain defaults to the sender's)."""
    sender_domain = parseaddr(settings.sender)[1].rpartition("@")[2]
    return verp_from_settings(settings, sender_domain or "localhost")


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    migrate: bool = True,
) -> App:
    """Wire the application from ``settings`` (read from the working folder when omitted).

    With ``migrate`` the schema is brought up to date first, so every command
    that needs the database can simply call this.
    """
    settings = settings or load_settings()
    clock = clock or SystemClock()
    engine = make_engine(settings.effective_database_url)
    if migrate:
        upgrade(engine)
    sessions = make_sessionmaker(engine)
    db = Transactions(sessions, sqlite=is_sqlite(engine))
    links = make_links(settings)
    return App(
        settings=settings,
        engine=engine,
        sessions=sessions,
        db=db,
        clock=clock,
        renderer=make_renderer(settings),
        pages=PageRenderer(settings),
        tokens=links.tokens,
        links=links,
        catalog=Catalog(settings, db, clock),
        transport=lambda: transport_from_settings(settings, clock),
        dkim=SignerSource(settings),
        verp=make_verp(settings),
        origins=AllowedOrigins(settings, db),
    )
