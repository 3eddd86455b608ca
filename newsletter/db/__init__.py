"""Database: typed models, engine and session helpers, Alembic migrations."""
