"""Reconciliation's side in the database: what the unified database and the portal hold for one source and one
day, and the stored report with its mismatch rows (state open → repaired | resolved)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import psycopg

# The registry's watermark_field → the dossier column a source's day is read by.
DAY_COLUMN = {"updated": "source_updated_at", "received": "received_at"}


@dataclass(frozen=True, slots=True)
class Held:
    """A dossier as the database holds it, with what the portal acknowledged of it."""

    uid: str
    record_id: str
    ma_ho_so: str
    content_hash: str
    version: int
    live: bool  # neither deleted nor in conflict: it belongs at the portal
    delivered_hash: str | None  # content of the newest version the portal acknowledged
    outbox_state: str | None  # of the current version


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: str  # missing_in_db | differs_in_db | extra_in_db | not_at_portal | behind_at_portal
    record_id: str
    uid: str
    ma_ho_so: str | None
    detail: str


def checksum(pairs: Iterable[tuple[str, str]]) -> tuple[int, str]:
    """(count, md5 of the sorted `uid:content_hash` lines): equal sets give equal checksums."""
    lines = sorted(f"{uid}:{h}" for uid, h in pairs)
    return len(lines), hashlib.md5("\n".join(lines).encode(), usedforsecurity=False).hexdigest()


_HELD = (
    "SELECT d.uid, d.source_record_id, d.ma_ho_so, d.content_hash, d.version,"
    " d.conflict_with IS NULL AND NOT d.deleted, dv.content_hash,"
    " (SELECT o.state FROM onestop.outbox o WHERE o.uid = d.uid AND o.version = d.version)"
    " FROM onestop.dossier d"
    " LEFT JOIN LATERAL (SELECT max(o.version) AS version FROM onestop.outbox o"
    "  WHERE o.uid = d.uid AND o.state = 'delivered') sent ON true"
    " LEFT JOIN onestop.dossier_version dv ON dv.uid = d.uid AND dv.version = sent.version"
)


def held_on_day(
    conn: psycopg.Connection, source: str, watermark_field: str, start: datetime, end: datetime
) -> dict[str, Held]:
    """The source's dossiers whose update (or receipt) time falls in [start, end), deleted ones left out."""
    column = DAY_COLUMN[watermark_field]
    rows = conn.execute(
        f"{_HELD} WHERE d.source = %s AND NOT d.deleted AND d.{column} >= %s AND d.{column} < %s",
        (source, start, end),
    ).fetchall()
    return {row[0]: Held(*row) for row in rows}


def held_by_uid(conn: psycopg.Connection, uids: list[str]) -> dict[str, Held]:
    """The same, for dossiers the source lists on a day the database files them under another (or nowhere)."""
    if not uids:
        return {}
    rows = conn.execute(f"{_HELD} WHERE d.uid = ANY(%s)", (uids,)).fetchall()
    return {row[0]: Held(*row) for row in rows}


def store(
    conn: psycopg.Connection,
    *,
    day: date,
    source: str,
    figures: dict,
    mismatches: list[Mismatch],
    note: str | None,
) -> int:
    """One report row; its mismatches upserted (seen again → last_seen_at); open ones of this source and day
    that are no longer found close as repaired. Returns the report's id."""
    row = conn.execute(
        "INSERT INTO onestop.reconciliation (day, source, source_count, source_bad, source_checksum,"
        " db_count, db_checksum, portal_count, portal_checksum, mismatches, note)"
        " VALUES (%(day)s, %(source)s, %(source_count)s, %(source_bad)s, %(source_checksum)s, %(db_count)s,"
        "  %(db_checksum)s, %(portal_count)s, %(portal_checksum)s, %(mismatches)s, %(note)s) RETURNING id",
        {**figures, "day": day, "source": source, "mismatches": len(mismatches), "note": note},
    ).fetchone()
    assert row is not None
    report_id = row[0]
    conn.execute(
        "CREATE TEMP TABLE found (kind text, record_id text, uid text, ma_ho_so text, detail text)"
        " ON COMMIT DROP"
    )
    with conn.cursor().copy("COPY found FROM STDIN") as copy:
        for m in mismatches:
            copy.write_row((m.kind, m.record_id, m.uid, m.ma_ho_so, m.detail))
    params = {"day": day, "source": source, "report": report_id}
    conn.execute(
        "UPDATE onestop.reconciliation_mismatch m SET state = 'repaired', closed_at = now(),"
        " closed_by = 'reconcile'"
        " WHERE m.source = %(source)s AND m.day = %(day)s AND m.state = 'open' AND NOT EXISTS ("
        "  SELECT 1 FROM found f WHERE f.kind = m.kind AND f.record_id = m.record_id)",
        params,
    )
    conn.execute(
        "INSERT INTO onestop.reconciliation_mismatch (day, source, kind, record_id, uid, ma_ho_so, detail,"
        " reconciliation_id)"
        " SELECT %(day)s, %(source)s, kind, record_id, uid, ma_ho_so, detail, %(report)s FROM found"
        " ON CONFLICT (source, day, kind, record_id) WHERE state = 'open' DO UPDATE SET last_seen_at = now(),"
        "  detail = EXCLUDED.detail, reconciliation_id = EXCLUDED.reconciliation_id",
        params,
    )
    conn.execute("DROP TABLE found")
    return report_id


def open_mismatches(
    conn: psycopg.Connection, source: str | None, kind: str | None, ids: list[str] | None
) -> list[tuple[int, date, str, str, str, str, str | None]]:
    """(id, day, source, kind, record_id, uid, ma_ho_so) of open mismatches, filtered like a re-drive."""
    where, params = ["state = 'open'"], []
    if source:
        where.append("source = %s")
        params.append(source)
    if kind:
        where.append("kind = %s")
        params.append(kind)
    if ids:
        where.append("(record_id = ANY(%s) OR uid = ANY(%s) OR ma_ho_so = ANY(%s))")
        params += [ids, ids, ids]
    return conn.execute(
        "SELECT id, day, source, kind, record_id, uid, ma_ho_so FROM onestop.reconciliation_mismatch"
        f" WHERE {' AND '.join(where)} ORDER BY source, day, id",
        params,
    ).fetchall()


def requeue_delivery(conn: psycopg.Connection, uids: list[str]) -> int:
    """The current version of each dossier goes to the portal again (a new outbox row, or its row reopened)."""
    if not uids:
        return 0
    return conn.execute(
        "INSERT INTO onestop.outbox (uid, version) SELECT uid, version FROM onestop.dossier"
        " WHERE uid = ANY(%s) AND NOT deleted AND conflict_with IS NULL"
        " ON CONFLICT (uid, version) DO UPDATE SET state = 'pending', next_try_at = now(), attempts = 0"
        " WHERE onestop.outbox.state IN ('failed', 'dead', 'superseded', 'delivered')",
        (uids,),
    ).rowcount
