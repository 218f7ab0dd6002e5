"""Raw records as fetched, kept as sent until their run has loaded (COPY in, read back in chunks), with what is
wrong inside each (connectors.base.Defect) as JSON, for the load to quarantine it.

Two tables: `onestop.staging` says which record ids a run fetched and when (the trace reads it until
`retention.raw_payloads`); `onestop.staging_payload` holds the payloads, and the transaction that loads a run
releases them (release()): by then each good record is in the dossier table and each bad one, payload and all,
in the quarantine, which is what re-drive and `mapping try` read. A run that fails keeps its payloads for a
retry until the retention purge."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

import psycopg

STAGE_COLUMNS = "run_id, seq, record_id, content_type, defects"
Staged = tuple[str | None, str, str, str | None]  # record id, content type, payload, defects (JSON) or None
# Records per pair of COPYs (one connection holds one COPY at a time): small, so that staging holds no more
# than a page does (a run of 1,000 records and one of 10,000 stage in the same memory); two round trips each.
STAGE_BATCH = 500
# A release this large leaves that many dead rows: vacuumed at once (autovacuum would let the next runs append).
VACUUM_FROM = 10_000


def stage(conn: psycopg.Connection, run_id: int, records: Iterable[Staged]) -> int:
    """COPY (record id, content type, payload, defects) rows for one run; returns how many. Replaces an earlier
    try."""
    conn.execute("DELETE FROM onestop.staging WHERE run_id = %s", (run_id,))
    conn.execute("DELETE FROM onestop.staging_payload WHERE run_id = %s", (run_id,))
    seq, it = 0, iter(records)
    with conn.cursor() as cur:
        while batch := list(islice(it, STAGE_BATCH)):
            with cur.copy(f"COPY onestop.staging ({STAGE_COLUMNS}) FROM STDIN") as copy:
                for n, (record_id, content_type, _payload, defects) in enumerate(batch, seq):
                    copy.write_row((run_id, n, record_id, content_type, defects))
            with cur.copy("COPY onestop.staging_payload (run_id, seq, payload) FROM STDIN") as copy:
                for n, (_id, _type, payload, _defects) in enumerate(batch, seq):
                    copy.write_row((run_id, n, payload))
            seq += len(batch)
    return seq


def release(conn: psycopg.Connection, run_id: int) -> int:
    """Drop a run's payloads, in the transaction that loaded it; returns how many."""
    return conn.execute("DELETE FROM onestop.staging_payload WHERE run_id = %s", (run_id,)).rowcount


def vacuum_after(conn: psycopg.Connection, released: int) -> None:
    """After a large release committed (`conn` in autocommit): its space goes back to the table's free space
    map (and a table left empty shrinks), so that the next runs' payloads reuse it instead of growing it."""
    if released >= VACUUM_FROM:
        conn.execute("VACUUM onestop.staging_payload")


def count(conn: psycopg.Connection, run_id: int) -> int:
    """Records staged for a run (seq counts from 0 without gaps: one look at the primary key)."""
    row = conn.execute("SELECT max(seq) + 1 FROM onestop.staging WHERE run_id = %s", (run_id,)).fetchone()
    return row[0] or 0 if row else 0


def read_staged(
    conn: psycopg.Connection, run_id: int, chunk: int = 2000
) -> Iterator[list[tuple[int, str | None, str, str, str | None]]]:
    """(seq, record id, content type, payload, defects) in fetch order, one chunk at a time: memory stays
    bounded. A run whose load committed has no payloads left: nothing is read."""
    start = 0
    while True:
        rows = conn.execute(
            "SELECT s.seq, s.record_id, s.content_type, p.payload, s.defects::text FROM onestop.staging s"
            " JOIN onestop.staging_payload p USING (run_id, seq)"
            " WHERE s.run_id = %s AND s.seq >= %s AND s.seq < %s ORDER BY s.seq",
            (run_id, start, start + chunk),
        ).fetchall()
        if not rows:
            return
        yield rows
        start += chunk
