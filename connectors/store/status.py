"""What `onestop status` and `onestop checksum` read: cumulative counters per source, the database, the portal."""

from __future__ import annotations

from typing import Any

import psycopg

from connectors.store.runs import COUNTERS


def source_counters(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        "SELECT r.source, " + ", ".join(f"COALESCE(sum(r.{c}), 0)::bigint" for c in COUNTERS) + ","
        " (SELECT count(*) FROM onestop.outbox o JOIN onestop.dossier d ON d.uid = o.uid"
        "  WHERE d.source = r.source AND o.state = 'delivered'),"
        " (SELECT value FROM onestop.watermark w WHERE w.source = r.source),"
        " max(r.finished_at) FILTER (WHERE r.state = 'loaded')"
        " FROM onestop.sync_run r WHERE r.state = 'loaded' GROUP BY r.source"
    ).fetchall()
    out = {}
    for row in rows:
        values = dict(zip(COUNTERS, row[1 : 1 + len(COUNTERS)], strict=True))
        values["delivered"], values["watermark"], values["last_sync"] = row[1 + len(COUNTERS) :]
        out[row[0]] = values
    return out


def database_counts(conn: psycopg.Connection) -> dict[str, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM onestop.dossier WHERE NOT deleted AND conflict_with IS NULL),"
        " (SELECT count(*) FROM onestop.quarantine WHERE state = 'open'),"
        " (SELECT count(*) FROM onestop.dossier WHERE deleted),"
        " (SELECT count(*) FROM onestop.conflict WHERE state = 'open')"
    ).fetchone()
    assert row is not None
    return {"dossiers": row[0], "quarantined": row[1], "deleted": row[2], "conflicts": row[3]}


def portal_counts(conn: psycopg.Connection) -> dict[str, int]:
    """accepted: distinct dossiers the portal holds from us; received: records in every DongBoHoSoMC it answered."""
    row = conn.execute(
        "SELECT (SELECT count(DISTINCT uid) FROM onestop.outbox WHERE state = 'delivered'),"
        " (SELECT COALESCE(sum(records), 0) FROM onestop.portal_call WHERE service = 'DongBoHoSoMC')"
    ).fetchone()
    assert row is not None
    return {"accepted": row[0], "received": row[1]}


def record_portal_call(
    conn: psycopg.Connection, service: str, updating: bool | None, records: int, accepted: int
) -> None:
    conn.execute(
        "INSERT INTO onestop.portal_call (service, updating, records, accepted, rejected) VALUES (%s, %s, %s, %s, %s)",
        (service, updating, records, accepted, records - accepted),
    )


def checksum(conn: psycopg.Connection) -> str:
    """A digest of the canonical rows, volatile columns (times, versions, run ids) excluded."""
    row = conn.execute(
        "SELECT md5(COALESCE(string_agg(concat_ws('|', uid, source, source_record_id, ma_ho_so, content_hash,"
        " deleted, conflict_with), ',' ORDER BY uid), '')), count(*) FROM onestop.dossier"
    ).fetchone()
    assert row is not None
    return f"{row[0]} {row[1]}"
