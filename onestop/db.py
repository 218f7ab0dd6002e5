"""Connections to the unified database and its migrations."""

from __future__ import annotations

from pathlib import Path

import psycopg

from onestop.embedded_db import database_url


def connect(url: str | None = None, *, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(url or database_url(), autocommit=autocommit, application_name="onestop")


def _alembic_config(url: str):
    from alembic.config import Config

    import schemas

    config = Config()
    config.set_main_option("script_location", str(Path(schemas.__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("postgresql://", "postgresql+psycopg://", 1))
    return config


def upgrade(url: str | None = None) -> None:
    """Apply every migration (idempotent)."""
    from alembic import command

    command.upgrade(_alembic_config(url or database_url()), "head")


def recreate(url: str) -> None:
    """Drop the product's schema and migrate afresh: a clean province for the chaos suite and the benchmark."""
    with connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS onestop CASCADE")
        conn.execute("DROP TABLE IF EXISTS public.alembic_version")
    upgrade(url)


def current_revision(url: str | None = None) -> str | None:
    with connect(url, autocommit=True) as conn:
        try:
            row = conn.execute("SELECT version_num FROM onestop.alembic_version").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return row[0] if row else None


def with_database(url: str, database: str) -> str:
    """The same server's URL with another database name (a URL, not a key=value conninfo)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))
