"""The load, in SQL alone, from the rows a run's extract normalized and staged: reduce in-batch duplicates, skip
stale and unchanged records, record MaHoSo conflicts, keep the status events a source dropped, merge with
INSERT … ON CONFLICT, bump versions (the replaced one kept), queue one delivery per new version, quarantine the
bad, and move the watermark — all in the caller's one transaction."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from connectors.store import staging
from connectors.store.runs import RunCounts, advance_watermark

# Merges of different sources are serialized (the COPY and normalization before them are not): a MaHoSo
# conflict between two sources loading at once must be seen and recorded, not fail on the unique index.
MERGE_LOCK = 0x0E5B_0002
# A load whose new quarantine rows × classified rows reach this refreshes the quarantine's statistics (finish()):
# ~0.15 µs a pair in the nested loop they prevent, a few ms to tens of ms for an ANALYZE (it samples).
ANALYZE_QUARANTINE_FROM = 1_000_000


class Loader:
    """One run's merge, from the rows its extract staged (connectors.store.staging); finish() merges them and
    returns the run's counts. The staged tables are read through temporary views named as the statements say
    (`incoming`, `incoming_bad`, `incoming_deleted`)."""

    def __init__(
        self,
        conn: psycopg.Connection,
        source: str,
        run_id: int,
        watermark_on: str = "updated",
        pages_by_position: bool = False,
        window_end: datetime | None = None,
    ) -> None:
        self.conn, self.source, self.run_id = conn, source, run_id
        # The watermark says "read up to here": never past the window asked for. A record dated ahead of it (a
        # clock set wrong, a typo, a system that ignores the window's end) would carry it past records not yet
        # written, and every later window would start after them.
        self.window_end = window_end
        self.pages_by_position = pages_by_position
        # A system queryable by receipt date only keeps its watermark on receipt times.
        self.watermark_column = "received_at" if watermark_on == "received" else "source_updated_at"
        for view, kind in (("incoming", "good"), ("incoming_bad", "bad"), ("incoming_deleted", "deleted")):
            conn.execute(
                sql.SQL("CREATE OR REPLACE TEMP VIEW {} AS SELECT * FROM {}").format(
                    sql.Identifier(view), staging.table(run_id, kind)
                )
            )

    def _moved_from(self) -> datetime | None:
        """A dossier that came twice in one read of a list paged by position, as two versions, was edited while
        the list was read: it moved to the list's end, and the records after its old place moved up, one of them
        past a page already read and never served. The watermark stops at its first version's time (the next
        run reads again from there; a record served twice unchanged moved nothing)."""
        row = self.conn.execute(
            f"SELECT min({self.watermark_column}) FROM incoming WHERE uid IN (SELECT uid FROM incoming"
            " GROUP BY uid HAVING count(DISTINCT source_updated_at) > 1)"
        ).fetchone()
        return row[0] if row else None

    def finish(self) -> RunCounts:
        x, params = self.conn.execute, {"source": self.source, "run": self.run_id}
        x("SELECT pg_advisory_xact_lock(%s)", (MERGE_LOCK,))
        # Duplicates of one key inside the batch: the newest wins (ON CONFLICT cannot touch a row twice).
        # `classified` holds keys only; the wide columns (the record) stay in `incoming`, joined back by seq.
        classified = x(
            "CREATE TEMP TABLE classified ON COMMIT DROP AS SELECT DISTINCT ON (l.uid) l.seq, l.uid,"
            " l.source_record_id, l.ma_ho_so, CASE"
            "  WHEN d.uid IS NULL THEN 'new'"
            "  WHEN d.source_updated_at > l.source_updated_at THEN 'stale'"
            "  WHEN d.content_hash = l.content_hash THEN 'unchanged'"
            "  ELSE 'changed' END AS class, NULL::text AS holder"
            " FROM incoming l LEFT JOIN onestop.dossier d ON d.uid = l.uid"
            " ORDER BY l.uid, l.source_updated_at DESC, l.seq DESC"
        ).rowcount
        x("ANALYZE classified")  # temp tables have no statistics: without them the joins below plan badly
        # A MaHoSo already held by another live dossier, here or earlier in this batch, is a conflict.
        x(
            "UPDATE classified c SET holder = h.uid FROM onestop.dossier h"
            " WHERE c.class IN ('new', 'changed') AND h.ma_ho_so = c.ma_ho_so AND h.uid <> c.uid"
            " AND h.conflict_with IS NULL AND NOT h.deleted"
        )
        x(
            # One pass with a window (a join on MaHoSo over an unanalyzed temp table planned as a nested loop).
            "UPDATE classified c SET holder = f.first_uid FROM ("
            "  SELECT uid, min(uid) OVER (PARTITION BY ma_ho_so) AS first_uid FROM classified"
            "  WHERE class IN ('new', 'changed') AND holder IS NULL) f"
            " WHERE c.uid = f.uid AND f.uid <> f.first_uid"
        )
        # Status history is append-only: the record holds the events its source tells today; an event the new
        # record no longer holds (the source rewrote the dossier's history) is kept in status_history, as the old
        # record had it, before the merge replaces that record. Each event is stored once (0015_dropped_history).
        x(
            "INSERT INTO onestop.status_history (at, run_id, status, unusual, uid, event)"
            " SELECT at, %(run)s, status, COALESCE(('status_move:' || prev || '->' || status) = ANY(flags), false),"
            "  uid, e FROM ("
            "  SELECT d.uid, d.flags, e, (e->>'at')::timestamptz AS at, (e->>'status')::smallint AS status,"
            "   lag(e->>'status') OVER (PARTITION BY d.uid ORDER BY n) AS prev, i.record -> 'history' AS now"
            "  FROM classified c JOIN incoming i ON i.seq = c.seq JOIN onestop.dossier d ON d.uid = c.uid"
            "  CROSS JOIN LATERAL jsonb_array_elements(d.record -> 'history') WITH ORDINALITY AS h(e, n)"
            "  WHERE c.class = 'changed') old"
            " WHERE NOT EXISTS (SELECT FROM jsonb_array_elements(old.now) n"
            "  WHERE (n->>'at')::timestamptz = old.at AND (n->>'status')::smallint = old.status)"
            " ON CONFLICT DO NOTHING",
            params,
        )
        # The version a change replaces moves to the past versions (the current one lives in its row only).
        x(
            "INSERT INTO onestop.dossier_version_past (uid, version, content_hash, status, source_updated_at,"
            " run_id, loaded_at) SELECT d.uid, d.version, d.content_hash, d.status, d.source_updated_at,"
            " d.last_run_id, d.loaded_at FROM classified c JOIN onestop.dossier d ON d.uid = c.uid"
            " WHERE c.class = 'changed' ON CONFLICT DO NOTHING"
        )
        x(
            "WITH merged AS ("
            " INSERT INTO onestop.dossier AS d (uid, source, source_record_id, ma_ho_so, version, content_hash,"
            "  status, received_at, due_at, finished_at, procedure_code, agency_code, district_code, commune_code,"
            "  applicant_id_hash, source_updated_at, record, flags, conflict_with, last_run_id)"
            # A dossier deleted behind the pipeline's back comes back after its last version (its deletion kept it
            # among the past ones: 0018's trigger).
            " SELECT i.uid, %(source)s, i.source_record_id, i.ma_ho_so,"
            "  COALESCE((SELECT max(v.version) FROM onestop.dossier_version_past v WHERE v.uid = i.uid), 0) + 1,"
            "  i.content_hash, i.status, i.received_at, i.due_at,"
            "  i.finished_at, i.procedure_code, i.agency_code, i.district_code, i.commune_code,"
            "  i.applicant_id_hash, i.source_updated_at, i.record, i.flags, c.holder, %(run)s"
            " FROM classified c JOIN incoming i ON i.seq = c.seq WHERE c.class IN ('new', 'changed')"
            # In the primary key's order: each leaf of its B-tree is written once, in turn, not at random
            # (1,000,000 records: the load 50-64 → 46-54 s, four runs a side alternating; the sort itself ~2 s).
            " ORDER BY i.uid"
            " ON CONFLICT (uid) DO UPDATE SET version = d.version + 1, ma_ho_so = EXCLUDED.ma_ho_so,"
            "  content_hash = EXCLUDED.content_hash, status = EXCLUDED.status, received_at = EXCLUDED.received_at,"
            "  due_at = EXCLUDED.due_at, finished_at = EXCLUDED.finished_at,"
            "  procedure_code = EXCLUDED.procedure_code, agency_code = EXCLUDED.agency_code,"
            "  district_code = EXCLUDED.district_code, commune_code = EXCLUDED.commune_code,"
            "  applicant_id_hash = EXCLUDED.applicant_id_hash, source_updated_at = EXCLUDED.source_updated_at,"
            "  record = EXCLUDED.record, flags = EXCLUDED.flags, conflict_with = EXCLUDED.conflict_with,"
            "  loaded_at = now(), last_run_id = EXCLUDED.last_run_id"
            " RETURNING d.uid, d.version, d.conflict_with"
            "), superseded AS ("
            # A newer version replaces an older one that has not reached the portal yet.
            " UPDATE onestop.outbox o SET state = 'superseded' FROM merged m"
            " WHERE o.uid = m.uid AND o.state IN ('pending', 'failed')"
            ")"
            " INSERT INTO onestop.outbox (uid, version) SELECT uid, version FROM merged WHERE conflict_with IS NULL",
            params,
        )
        x(
            "INSERT INTO onestop.conflict (uid, ma_ho_so, holder_uid, source)"
            " SELECT uid, ma_ho_so, holder, %(source)s FROM classified WHERE holder IS NOT NULL"
            " ON CONFLICT (uid) DO UPDATE SET ma_ho_so = EXCLUDED.ma_ho_so, holder_uid = EXCLUDED.holder_uid,"
            "  state = 'open', detected_at = now()",
            params,
        )
        quarantined = x(
            "INSERT INTO onestop.quarantine (source, record_id, run_id, errors, error_class, payload,"
            " content_type, payload_hash)"
            " SELECT DISTINCT ON (record_id, payload_hash) %(source)s, record_id, %(run)s, errors::jsonb,"
            "  error_class, payload, content_type, payload_hash"
            " FROM incoming_bad ORDER BY record_id, payload_hash, seq DESC"
            " ON CONFLICT (source, record_id, payload_hash) DO UPDATE SET last_seen_at = now(),"
            "  seen = onestop.quarantine.seen + 1, run_id = EXCLUDED.run_id, errors = EXCLUDED.errors,"
            "  payload = EXCLUDED.payload, payload_purged_at = NULL",
            params,
        )
        # The statement below joins the quarantine to `classified`. Planned on statistics that do not know the rows
        # this transaction just added, PostgreSQL 15 scanned all of `classified` once per open quarantine row
        # (1,943 × 192,446 rows: 55 s of a 61 s load on Debian's PostgreSQL 15); with them, one hash join.
        if quarantined.rowcount * classified >= ANALYZE_QUARANTINE_FROM:
            x("ANALYZE onestop.quarantine")
        # A record that now loads fine leaves the administrators' list of open failures.
        x(
            "UPDATE onestop.quarantine q SET state = 'superseded', resolved_at = now(), resolved_by = 'pipeline'"
            " WHERE q.source = %(source)s AND q.state = 'open' AND EXISTS (SELECT FROM classified c"
            "  WHERE c.source_record_id = q.record_id AND c.class IN ('new', 'changed'))",
            params,
        )
        # A deletion the source announced: the dossier is marked deleted (never removed) and leaves the portal queue.
        x(
            "WITH gone AS (UPDATE onestop.dossier d SET deleted = true, deleted_at = now(), deleted_run_id = %(run)s"
            " FROM incoming_deleted i WHERE d.uid = i.uid AND NOT d.deleted RETURNING d.uid)"
            " UPDATE onestop.outbox o SET state = 'superseded' FROM gone"
            " WHERE o.uid = gone.uid AND o.state IN ('pending', 'failed')",
            params,
        )
        column = self.watermark_column
        # Quarantined records count toward an update-time watermark (they are committed, with their reason).
        bad_high = (
            "(SELECT max(source_updated_at) FROM incoming_bad)" if column == "source_updated_at" else "NULL"
        )
        row = x(
            "SELECT (SELECT count(*) FROM incoming), (SELECT count(*) FROM classified),"
            " (SELECT count(*) FROM classified WHERE class IN ('new', 'changed')),"
            " (SELECT count(*) FROM classified WHERE class = 'unchanged'),"
            " (SELECT count(*) FROM classified WHERE class = 'stale'),"
            " (SELECT count(*) FROM incoming_bad),"
            " (SELECT count(DISTINCT (record_id, payload_hash)) FROM incoming_bad),"
            " (SELECT count(*) FROM classified WHERE holder IS NOT NULL),"
            f" GREATEST((SELECT max({column}) FROM incoming), {bad_high}),"
            " (SELECT count(*) FROM incoming_deleted)"
        ).fetchone()
        assert row is not None
        good, distinct, loaded, unchanged, stale, bad, distinct_bad, conflicts, high, deleted = row
        if self.pages_by_position and good > distinct:
            high = min(filter(None, (high, self._moved_from())), default=None)
        if high is not None and self.window_end is not None:
            high = min(high, self.window_end)
        advance_watermark(self.conn, self.source, high, self.run_id)
        x("DROP VIEW incoming, incoming_bad, incoming_deleted")
        return RunCounts(
            fetched=good + bad + deleted,
            loaded=loaded,
            unchanged=unchanged,
            stale=stale,
            quarantined=distinct_bad,  # a bad record served twice is quarantined once, the other a duplicate
            duplicates=(good - distinct) + (bad - distinct_bad),
            deleted=deleted,
            conflicts=conflicts,
        )


def stored_update_times(conn: psycopg.Connection, uids: list[str]) -> dict[str, datetime]:
    """The update time each of these dossiers was loaded with (uid → source_updated_at), for those held."""
    rows = conn.execute("SELECT uid, source_updated_at FROM onestop.dossier WHERE uid = ANY(%s)", (uids,))
    return dict(rows.fetchall())


def close_detail_failures(conn: psycopg.Connection, source: str, names: set[str]) -> int:
    """Open quarantine rows of records whose detail could not be read (DetailUnread), named by any of `names`,
    are over once a run reads those details: superseded by the pipeline, in the extract's transaction (an extract
    that fails leaves them open). What the record read now is, the load decides as for any record."""
    if not names:
        return 0
    return conn.execute(
        "UPDATE onestop.quarantine SET state = 'superseded', resolved_at = now(), resolved_by = 'pipeline'"
        " WHERE source = %s AND state = 'open' AND error_class = 'DetailUnread' AND record_id = ANY(%s)",
        (source, sorted(names)),
    ).rowcount
