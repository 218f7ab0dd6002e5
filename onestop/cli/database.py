"""`onestop db …`: the unified database (the embedded PostgreSQL, its migrations, the citizen-ID hashes)."""

from __future__ import annotations

import typer

from onestop import embedded_db

db_app = typer.Typer(help="The unified database (embedded PostgreSQL unless ONESTOP_DB_URL is set).")


@db_app.command("start")
def db_start() -> None:
    """Start the embedded PostgreSQL (idempotent) and apply migrations; prints its URL."""
    from onestop import db

    url = embedded_db.start()
    db.upgrade(url)
    print(url)


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL."""
    print("stopped" if embedded_db.stop() else "not running")


@db_app.command("url")
def db_url() -> None:
    """Print the unified database's URL (fails when the embedded server is not running)."""
    print(embedded_db.database_url())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the unified database."""
    from onestop import db

    with embedded_db.running() as url:
        db.upgrade(url)
        print(f"at revision {db.current_revision(url)}")


@db_app.command("rehash-citizen-ids")
def db_rehash_citizen_ids() -> None:
    """After the citizen-ID key (connection onestop_citizen_id_key) was set or changed: every dossier's lookup
    hash again, so the trace finds citizens by ID."""
    from onestop import db, privacy

    with embedded_db.running() as url, db.connect(url) as conn:
        print(f"rehashed {privacy.rehash_citizen_ids(conn)} dossiers")
