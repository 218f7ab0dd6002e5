"""The administrators' trace (Tra cứu hồ sơ): where one dossier went, from its source to the portal.

`find(conn, query)` takes a MaHoSo, a source record id or a citizen ID (9 or 12 digits: matched through
`dossier.applicant_id_hash`, an HMAC keyed outside the database: `onestop.privacy`; never stored or shown in clear) and returns one `DossierTrace` per dossier found —
several sources may carry one MaHoSo — and one per record that never loaded (still in quarantine). Each trace
is a timeline of `TraceEvent`s, built from the rows found here by `onestop.operations.trace_timeline`. The CLI
(`onestop trace`) and the administrators' web page both call it.

Cost: a fixed number of queries whatever the number of versions, runs or dossiers found (no N+1). Staged raw
records are looked for in the runs that loaded or quarantined the record and in each source's
`RECENT_RUNS` latest runs (which shows the fetches that changed nothing); staging has no index on the record
id, so older unchanged fetches are not searched for. Staged records are purged after their retention: a run
that loaded a version then still shows when it fetched (its start) and staged (its `extracted_at`).
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row

from connectors.store.dossiers import uids_by_ma_ho_so
from onestop import privacy
from onestop.operations.trace_timeline import DossierTrace, RecordRows, Run, dossier_trace, quarantine_trace
from schemas.dossier import mask
from schemas.text_safety import ascii_digits

RECENT_RUNS = 20  # per source: the latest runs whose staged records are searched (unchanged fetches)
MAX_TRACES = 50  # dossiers per query (a citizen may have many)
MAX_QUERY = 200
_CITIZEN_ID = re.compile(r"\d{9}|\d{12}")


def citizen_id(query: str) -> str | None:
    """The citizen ID a query is (9 or 12 digits of any script, spaces, dots and dashes between groups allowed),
    else None."""
    if not re.fullmatch(r"[\d .\-]+", query):
        return None
    digits = ascii_digits(re.sub(r"\D", "", query))  # as ingest stores and hashes it (full-width digits too)
    return digits if _CITIZEN_ID.fullmatch(digits) else None


def _like_value(value: str) -> tuple[str, str]:
    """LIKE patterns for `value` as a whole JSON (or XML attribute) string, and as a whole XML text node."""
    v = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f'%"{v}"%', f"%>{v}<%"


# --- the queries (each one for every trace at once) -------------------------------------------------------

_DOSSIERS = """
WITH RECURSIVE sources(source) AS (  -- the sources that ever ran: a loose scan of sync_run_source
    (SELECT source FROM onestop.sync_run ORDER BY source LIMIT 1)
    UNION ALL
    SELECT (SELECT r.source FROM onestop.sync_run r WHERE r.source > s.source ORDER BY r.source LIMIT 1)
      FROM sources s WHERE s.source IS NOT NULL
), hits(uid) AS (
    {BY_MA_HO_SO}
    UNION SELECT uid FROM onestop.dossier WHERE applicant_id_hash = %(hash)s
    -- one look into (source, source_record_id) per source (OFFSET 0: kept a lookup, never a scan)
    UNION SELECT x.uid FROM sources s CROSS JOIN LATERAL (
        SELECT uid FROM onestop.dossier d WHERE d.source = s.source AND d.source_record_id = %(q)s OFFSET 0) x
)
SELECT d.uid, d.source, d.source_record_id, d.ma_ho_so, d.version, d.deleted, d.deleted_at, d.conflict_with,
       d.deleted_run_id, d.record #>> '{applicant,id_number}' AS id_number,
       d.record #>> '{applicant,name}' AS applicant_name
  FROM hits JOIN onestop.dossier d USING (uid)
 ORDER BY d.first_loaded_at, d.uid
 LIMIT %(limit)s
""".replace("{BY_MA_HO_SO}", uids_by_ma_ho_so("= %(q)s"))

_QUARANTINE = """
SELECT id, source, record_id, run_id, errors, error_class, first_seen_at, last_seen_at, seen, state,
       resolved_at, resolved_by, comment
  FROM onestop.quarantine
 WHERE record_id = %(q)s
    OR payload LIKE %(as_string)s ESCAPE '\\' OR payload LIKE %(as_text)s ESCAPE '\\'
    OR (source, record_id) IN (SELECT * FROM unnest(%(sources)s::text[], %(records)s::text[]))
 ORDER BY first_seen_at, id
 LIMIT %(limit)s
"""

_VERSIONS = """
SELECT uid, version, status, source_updated_at, run_id, loaded_at
  FROM onestop.dossier_version WHERE uid = ANY(%s) ORDER BY uid, version
"""

_OUTBOX = """
SELECT uid, version, state, attempts, resends, error_code, error, created_at, sent_at, delivered_at, failed_at,
       resolved_at, resolved_by, comment
  FROM onestop.outbox WHERE uid = ANY(%s) ORDER BY uid, version
"""

_CONFLICTS = """
SELECT c.uid, c.ma_ho_so, c.holder_uid, h.source AS holder_source, h.source_record_id AS holder_record,
       c.detected_at, c.state, c.resolved_at, c.resolved_by, c.comment
  FROM onestop.conflict c LEFT JOIN onestop.dossier h ON h.uid = c.holder_uid
 WHERE c.uid = ANY(%s)
"""

# The staged copies of the records: in the runs known to have handled them, and in their sources' latest runs.
_STAGING = """
WITH wanted(source, record_id) AS (SELECT * FROM unnest(%(sources)s::text[], %(records)s::text[])),
runs(run_id) AS (
    SELECT unnest(%(known)s::bigint[])
    UNION
    SELECT r.run_id FROM (SELECT DISTINCT source FROM wanted) w
      CROSS JOIN LATERAL (SELECT run_id FROM onestop.sync_run x WHERE x.source = w.source
                          ORDER BY x.run_id DESC LIMIT %(recent)s) r
)
SELECT r.source, s.record_id, r.run_id, min(r.started_at) AS fetched_at
  FROM runs JOIN onestop.sync_run r USING (run_id)
 CROSS JOIN LATERAL (  -- one run's staged rows at a time, through the primary key (OFFSET 0: not flattened)
    SELECT st.record_id FROM onestop.staging st
     WHERE st.run_id = r.run_id AND st.record_id IN (SELECT w.record_id FROM wanted w WHERE w.source = r.source)
    OFFSET 0) s
 GROUP BY 1, 2, 3
"""

_RUNS = """
SELECT run_id, source, airflow_run_id, state, started_at, extracted_at, finished_at, staging_purged_at
  FROM onestop.sync_run WHERE run_id = ANY(%s)
"""


def _rows(conn: psycopg.Connection, sql: str, params: Any) -> list[Any]:
    with conn.cursor(row_factory=namedtuple_row) as cur:
        return cur.execute(sql, params).fetchall()


def find(conn: psycopg.Connection, query: str, *, limit: int = MAX_TRACES) -> list[DossierTrace]:
    """Every dossier (and never-loaded record) a MaHoSo, source record id or citizen ID names, with its
    timeline: dossiers first (in the order they first loaded), then records only ever quarantined."""
    query = query.strip()
    if not query or len(query) > MAX_QUERY:
        return []
    cid = citizen_id(query)
    as_string, as_text = _like_value(cid or query)
    dossiers = _rows(
        conn, _DOSSIERS, {"q": query, "hash": privacy.citizen_id_hash(cid) if cid else None, "limit": limit}
    )
    uids = [d.uid for d in dossiers]
    quarantine = _rows(
        conn,
        _QUARANTINE,
        {
            "q": query,
            "as_string": as_string,
            "as_text": as_text,
            "sources": [d.source for d in dossiers],
            "records": [d.source_record_id for d in dossiers],
            "limit": limit * 20,
        },
    )
    versions = _rows(conn, _VERSIONS, (uids,)) if uids else []
    outbox = _rows(conn, _OUTBOX, (uids,)) if uids else []
    conflicts = _rows(conn, _CONFLICTS, (uids,)) if uids else []

    # Every (source, record id) traced: the dossiers, then the quarantined records that never loaded.
    records: dict[tuple[str, str], Any] = {(d.source, d.source_record_id): d for d in dossiers}
    for q in quarantine:
        if (q.source, q.record_id) not in records and len(records) < limit:
            records[(q.source, q.record_id)] = None
    known = {v.run_id for v in versions} | {q.run_id for q in quarantine}
    known |= {d.deleted_run_id for d in dossiers if d.deleted}
    known.discard(None)
    staged = (
        _rows(
            conn,
            _STAGING,
            {
                "sources": [k[0] for k in records],
                "records": [k[1] for k in records],
                "known": sorted(known),
                "recent": RECENT_RUNS,
            },
        )
        if records
        else []
    )
    run_ids = sorted(known | {s.run_id for s in staged})
    runs = {r.run_id: Run(*r) for r in _rows(conn, _RUNS, (run_ids,))} if run_ids else {}

    of_uid: dict[str, RecordRows] = {u: RecordRows() for u in uids}
    for v in versions:
        of_uid[v.uid].versions.append(v)
    for o in outbox:
        of_uid[o.uid].outbox.append(o)
    for c in conflicts:
        of_uid[c.uid].conflicts.append(c)
    of_key: dict[tuple[str, str], RecordRows] = {
        k: of_uid[d.uid] if d else RecordRows() for k, d in records.items()
    }
    for q in quarantine:
        if (q.source, q.record_id) in of_key:
            of_key[(q.source, q.record_id)].quarantine.append(q)
    for s in staged:
        of_key[(s.source, s.record_id)].staged.append(s)

    traces = []
    for key, d in records.items():
        if d is not None:
            trace = dossier_trace(d, of_key[key], runs)
        else:
            trace = quarantine_trace(key, query, cid, of_key[key], runs)
            if cid and key[1] != cid:
                trace.applicant_id_masked = mask(cid)  # found by the ID in its payload
        traces.append(trace)
    return traces
