"""The one composition root: settings → engine, sessions, clock, renderer.

Entry points build an :class:`App` with :func:`create_app` and pass it down;
nothing else creates engines, sessions or clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from newsletter.clock import Clock, SystemClock
from newsletter.config import Settings, load_settings
from newsletter.db.engine import make_engine, make_sessionmaker
from newsletter.db.migrate import upgrade
from newsletter.render.renderer import Renderer


@dataclass
class App:
    """Everything a use case needs, wired once."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    renderer: Renderer
    extras: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


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
    engine = make_engine(settings.effective_database_url)
    if migrate:
        upgrade(engine)
    return App(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        clock=clock or SystemClock(),
        renderer=Renderer(settings),
    )
