"""Raw records as fetched, kept as sent in onestop.staging (COPY in, read back in chunks), with what is wrong
inside each (connectors.base.Defect) as JSON, for the load to quarantine it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import psycopg

STAGE_COLUMNS = "run_id, seq, record_id, content_type, payload, defects"
Staged = tuple[str | None, str, str, str | None]  # record id, content type, payload, defects (JSON) or None


def stage(conn: psycopg.Connection, run_id: int, records: Iterable[Staged]) -> int:
    """COPY (record id, content type, payload, defects) rows for one run; returns how many. Replaces an earlier
    try."""
    conn.execute("DELETE FROM onestop.staging WHERE run_id = %s", (run_id,))
    seq = 0
    with conn.cursor() as cur, cur.copy(f"COPY onestop.staging ({STAGE_COLUMNS}) FROM STDIN") as copy:
        for record_id, content_type, payload, defects in records:
            copy.write_row((run_id, seq, record_id, content_type, payload, defects))
            seq += 1
    return seq


def count(conn: psycopg.Connection, run_id: int) -> int:
    """Records staged for a run (seq counts from 0 without gaps: one look at the primary key)."""
    row = conn.execute("SELECT max(seq) + 1 FROM onestop.staging WHERE run_id = %s", (run_id,)).fetchone()
    return row[0] or 0 if row else 0


def read_staged(
    conn: psycopg.Connection, run_id: int, chunk: int = 2000
) -> Iterator[list[tuple[int, str | None, str, str, str | None]]]:
    """(seq, record id, content type, payload, defects) in fetch order, one chunk at a time: memory stays
    bounded."""
    start = 0
    while True:
        rows = conn.execute(
            "SELECT seq, record_id, content_type, payload, defects::text FROM onestop.staging"
            " WHERE run_id = %s AND seq >= %s AND seq < %s ORDER BY seq",
            (run_id, start, start + chunk),
        ).fetchall()
        if not rows:
            return
        yield rows
        start += chunk
