"""The embedded PostgreSQL: started with the settings its bulk loads want."""

from __future__ import annotations

import psycopg
import pytest

from onestop import embedded_db


@pytest.mark.embedded_server
def test_the_embedded_server_runs_with_its_bulk_write_settings(pg_url: str) -> None:
    # The session's server started from a new data folder, where every setting was PostgreSQL's default: start()
    # wrote them and restarted it once (wal_buffers is read at start only).
    with psycopg.connect(pg_url) as conn:
        running = {
            name: conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]
            for name in embedded_db.SETTINGS
        }
    assert running == embedded_db.SETTINGS
    # and the restarted server still writes its log where pgserver's start put it (the hostile suite reads it)
    log = (embedded_db.data_dir() / "log").read_text(errors="replace")
    assert log.count("database system is ready to accept connections") >= 2


@pytest.mark.embedded_server
def test_starting_the_running_server_again_restarts_nothing(pg_url: str) -> None:
    pid = embedded_db.postmaster_pid()
    with psycopg.connect(pg_url) as conn:
        assert embedded_db.start() == pg_url
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the session survived: no restart
    assert embedded_db.postmaster_pid() == pid
