"""Re-drive: send quarantined records, failed deliveries and reconciliation mismatches through the pipeline
again, after a mapping fix, an outage or a loss found by reconciliation. Idempotent: a second re-drive finds
nothing left to do (records that now pass are marked redriven, deliveries that went out are delivered,
mismatches a new reconciliation no longer finds are repaired)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from connectors.base import DETAIL_FIELD, Defect
from connectors.store import failures, runs
from connectors.store import reconcile as reconcile_store
from connectors.store.dossiers import uids_by_ma_ho_so
from mappings import get_mapping
from onestop import pipeline, registry
from onestop.db import connect
from onestop.operations import reconcile
from schemas import jsontext
from schemas.personal_data import quote_answer

log = logging.getLogger(__name__)
OUTCOME_LIMIT = (
    1000  # keys whose outcome an action's result lists (a whole-class re-drive may take many more)
)


@dataclass
class RedriveCounts:
    tried: int = 0  # open quarantined records selected
    redriven: int = 0  # of those, the ones the current mapping accepts (loaded again)
    still_failing: int = 0
    deliveries: int = 0  # failed or dead outbox rows queued again
    task_sources: int = 0  # sources synced again for open task failures (and those failures closed)
    resynced_days: int = 0  # (source, day) windows read again for reconciliation mismatches
    mismatches_repaired: int = 0  # mismatches a reconciliation after the repair no longer finds
    # What became of each failure key: {"q12": {"state": "loaded"}, "q13": {"state": "quarantined",
    # "error_class": …, "at": …}, "d…@2": {"state": "queued"}} (the console's action result; not a count).
    outcome: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "outcome"}

    def result(self, limit: int = OUTCOME_LIMIT) -> dict[str, Any]:
        """The console's record of a re-drive: per key what happened (the first `limit` keys), and the counts."""
        shown = dict(list(self.outcome.items())[:limit])
        out: dict[str, Any] = {"outcome": shown, "counts": self.as_dict()}
        if len(self.outcome) > limit:
            out["outcome_truncated"] = len(self.outcome) - limit
        return out


def _filters(
    source: str | None, error_class: str | None, ids: list[str] | None, id_column: str
) -> tuple[str, list]:
    where, params = [], []
    if source:
        where.append("source = %s")
        params.append(source)
    if error_class:
        where.append("error_class = %s" if id_column == "record_id" else "error_code = %s")
        params.append(error_class)
    if ids:
        where.append(f"{id_column} = ANY(%s)")
        params.append(ids)
    return (" AND " + " AND ".join(where)) if where else "", params


def redrive(
    source: str | None = None,
    error_class: str | None = None,
    ids: list[str] | None = None,
    keys: list[str] | None = None,
    action_id: int | None = None,
) -> RedriveCounts:
    """Quarantined records (filtered by source, error class, record ids) and failed deliveries (by source,
    portal error code, dossier uid or MaHoSo) go through the pipeline again; so do the sources of open task
    failures. `keys` (the console's failure keys, connectors.store.failures) name rows exactly instead;
    `action_id` is the console's record of the request, completed with the counts."""
    try:
        counts = _redrive(source, error_class, ids, failures.KeySet.parse(keys) if keys else None)
    except Exception as exc:
        if action_id is not None:
            with connect() as conn:
                failures.update_action(
                    conn, action_id, state="failed", result={"error": quote_answer(str(exc), 500)}
                )
        raise
    if action_id is not None:
        with connect() as conn:
            failures.update_action(conn, action_id, state="done", result=counts.result())
            conn.execute("UPDATE onestop.admin_action SET finished_at = now() WHERE id = %s", (action_id,))
    log.info("redrive: %s", counts.as_dict())
    return counts


def _redrive(
    source: str | None, error_class: str | None, ids: list[str] | None, keys: failures.KeySet | None
) -> RedriveCounts:
    counts = RedriveCounts()
    where, params = _filters(source, error_class, ids, "record_id")
    if keys is not None:
        where, params = " AND id = ANY(%s)", [keys.quarantine]
    with connect() as conn:
        rows = conn.execute(
            "SELECT id, source, record_id, content_type, payload, errors FROM onestop.quarantine"
            # A payload purged after its retention cannot be re-driven: the source must send the record again.
            f" WHERE state = 'open' AND payload_purged_at IS NULL{where} ORDER BY source, id",
            params,
        ).fetchall()
    by_source: dict[str, list] = {}
    for row in rows:
        by_source.setdefault(row[1], []).append(row)
    for name, items in by_source.items():
        counts.tried += len(items)
        config = registry.load().source(name)
        mapping = get_mapping(config.dialect, config.timezone)
        details = _details_read_again(config, items)
        passing, failing = [], []
        for qid, _source, record_id, content_type, payload, _errors in items:
            payload, content_type, defects = details.get(qid, (payload, content_type, []))
            bad = _normalized_again(mapping, name, qid, record_id, content_type, payload, defects)
            if bad is None:
                passing.append((qid, record_id, content_type, payload))
            else:
                failing.append((qid, *bad, (payload, content_type) if qid in details else None))
        if failing:  # still failing: the row says why now (the mapping may have changed), and when
            with connect() as conn:
                for qid, errors, now_class, read_again in failing:
                    at = conn.execute(
                        "UPDATE onestop.quarantine SET errors = %s::jsonb, error_class = %s, last_seen_at = now()"
                        " WHERE id = %s RETURNING last_seen_at",
                        (errors, now_class, qid),
                    ).fetchone()[0]
                    if read_again is not None:
                        _keep_payload(conn, qid, *read_again)
                    counts.outcome[f"q{qid}"] = {
                        "state": "quarantined",
                        "error_class": now_class,
                        "at": at.isoformat(),
                    }
        counts.redriven += len(passing)
        counts.still_failing += len(items) - len(passing)
        if not passing:
            continue
        now = datetime.now(UTC)
        with connect() as conn:
            run_id = runs.create_run(conn, name, (now, now), "redrive")
            rows = [(seq, rid, ctype, payload) for seq, (_, rid, ctype, payload) in enumerate(passing)]
            pipeline.stage(conn, run_id, config, iter([rows]))
            runs.set_extracted(conn, run_id, pages=0, ack_ids=[])
        pipeline.load(run_id)
        with connect() as conn:
            conn.execute(
                "UPDATE onestop.quarantine SET state = 'redriven', resolved_at = now(), resolved_by = 'redrive'"
                " WHERE id = ANY(%s) AND state IN ('open', 'superseded')",
                ([p[0] for p in passing],),
            )
        for p in passing:
            counts.outcome[f"q{p[0]}"] = {"state": "loaded"}
    where, params = _filters(None, error_class, ids, "uid")
    if ids:  # a dossier may be named by its uid or by its MaHoSo (the live ones', then the others' index)
        where = where.replace("uid = ANY(%s)", f"(uid = ANY(%s) OR uid IN ({uids_by_ma_ho_so('= ANY(%s)')}))")
        params += [ids, ids]
    if source:  # an outbox row names its dossier, the dossier its source
        where += " AND uid IN (SELECT uid FROM onestop.dossier WHERE source = %s)"
        params.append(source)
    if keys is not None:
        where = " AND (uid, version) IN (SELECT * FROM unnest(%s::text[], %s::int[]))"
        params = [[u for u, _ in keys.delivery], [v for _, v in keys.delivery]]
    with connect() as conn:
        queued = conn.execute(
            "UPDATE onestop.outbox SET state = 'pending', next_try_at = now(), attempts = 0"
            # A delivery an administrator marked resolved stays as it is: resolving means "do not send".
            f" WHERE state IN ('failed', 'dead') AND resolved_at IS NULL{where} RETURNING uid, version",
            params,
        ).fetchall()
    counts.deliveries = len(queued)
    for uid, version in queued:
        counts.outcome[f"d{uid}@{version}"] = {"state": "queued"}
    _redrive_task_failures(source, error_class, keys, counts)
    if keys is None:
        _repair_mismatches(source, error_class, ids, counts)
    else:  # a key named but not taken: already closed, or its payload purged
        for key in keys.names():
            counts.outcome.setdefault(key, {"state": "skipped"})
    return counts


def _details_read_again(config: Any, items: list[tuple]) -> dict[int, tuple[str, str, list[Defect]]]:
    """Records quarantined because their detail could not be read (`detail`: HTTP 404 while the dossier was being
    edited, a locked dossier) hold only their summary: a re-drive calls the system for the detail again. Per
    quarantine id, the payload to normalize (the summary with its detail, or the summary), its content type and
    the detail's defect when it still cannot be read. Refused credentials or an outage fail the re-drive, as
    they fail a sync."""
    wanted = [i for i in items if any(e.get("field") == DETAIL_FIELD for e in i[5] or [])]
    spec = config.rest or config.xml or config.soap or config.feed
    if not wanted or spec is None or spec.detail is None:
        return {}
    from connectors.base import RawRecord
    from connectors.factory import open_source

    source: Any = open_source(config)
    out: dict[int, tuple[str, str, list[Defect]]] = {}
    try:
        for qid, _source, _record_id, content_type, payload, _errors in wanted:
            summary = pipeline.parse_payload(payload, content_type)
            (read,) = source.details.read([RawRecord(summary, payload, content_type)])
            failed = [d for d in read.defects if d.field == DETAIL_FIELD]
            out[qid] = (payload, content_type, failed) if failed else (read.payload, read.content_type, [])
    finally:
        source.client.close()
    return out


def _keep_payload(conn: Any, qid: int, payload: str, content_type: str) -> None:
    """The record as read again (the summary with its detail) replaces the summary in its quarantine row, so that
    the console shows it and the next re-drive reads it; unless the same record is quarantined already."""
    digest = pipeline.payload_digest(payload)
    conn.execute(
        "UPDATE onestop.quarantine q SET payload = %s, content_type = %s, payload_hash = %s WHERE id = %s"
        " AND NOT EXISTS"
        " (SELECT 1 FROM onestop.quarantine o WHERE o.source = q.source AND o.record_id = q.record_id"
        " AND o.payload_hash = %s)",
        (payload, content_type, digest, qid, digest),
    )


def _normalized_again(
    mapping,
    source: str,
    qid: int,
    record_id: str,
    content_type: str,
    payload: str,
    found: list[Defect] | None = None,
) -> tuple[str, str] | None:
    """None when the current mapping accepts the stored payload, else (errors as JSON, error class) the way the
    load would quarantine it (the same masking, the same classes). `found`: defects found reading it again."""
    try:
        defects = [*(found or []), *pipeline.payload_defects(payload, content_type)]
    except ValueError:  # not readable at all: normalize_chunk quarantines it as unreadable
        defects = list(found or [])
    staged_defects = (
        jsontext.dumps([{"field": d.field, "reason": d.reason} for d in defects]) if defects else None
    )
    _good, bad, _deleted = pipeline.normalize_chunk(
        mapping, source, [(qid, record_id, content_type, payload, staged_defects)]
    )
    return (bad[0].errors, bad[0].error_class) if bad else None


def _redrive_task_failures(
    source: str | None, error_class: str | None, keys: failures.KeySet | None, counts: RedriveCounts
) -> None:
    """A failed sync task is re-driven by syncing its source again: the window since the watermark holds
    whatever the failed run did not load. The failures close once that sync succeeds."""
    if keys is not None and keys.refused:  # a refused page: its source is read again (fixed at the source?)
        with connect() as conn:
            names = conn.execute(
                "SELECT DISTINCT endpoint FROM onestop.attempt WHERE id = ANY(%s) AND state = 'open'",
                (keys.refused,),
            ).fetchall()
        for (name,) in names:
            pipeline.sync(name)  # once it loads, its source's open refusals are cleared
            counts.task_sources += 1
        with connect() as conn:
            for aid, state in conn.execute(
                "SELECT id, state FROM onestop.attempt WHERE id = ANY(%s)", (keys.refused,)
            ).fetchall():
                counts.outcome[f"r{aid}"] = {"state": state}
    if keys is not None:
        where, params = "id = ANY(%s)", [keys.task]
    else:
        where, params = "true", []
        if source:
            where += " AND source = %s"
            params.append(source)
        if error_class:
            where += " AND error_class = %s"
            params.append(error_class)
    with connect() as conn:
        rows = conn.execute(
            f"SELECT id, source FROM onestop.task_failure WHERE state = 'open' AND source IS NOT NULL AND {where}",
            params,
        ).fetchall()
    known = {s.name for s in registry.load().sources}
    by_source: dict[str, list[int]] = {}
    for fid, name in rows:
        if name in known:
            by_source.setdefault(name, []).append(fid)
    for name, fids in sorted(by_source.items()):
        pipeline.sync(name)
        with connect() as conn:
            conn.execute(
                "UPDATE onestop.task_failure SET state = 'redriven', resolved_at = now(),"
                " resolved_by = 'redrive' WHERE id = ANY(%s) AND state = 'open'",
                (fids,),
            )
        counts.task_sources += 1
        for fid in fids:
            counts.outcome[f"t{fid}"] = {"state": "redriven", "source": name}


_RESYNC = ("missing_in_db", "differs_in_db", "extra_in_db")


def _repair_mismatches(
    source: str | None, kind: str | None, ids: list[str] | None, counts: RedriveCounts
) -> None:
    """Open reconciliation mismatches: the database's side is read again from the source for that day, the
    portal's side is queued again; reconciling the day once more closes what is now repaired."""
    with connect() as conn:
        rows = reconcile_store.open_mismatches(conn, source, kind, ids)
    if not rows:
        return
    days = sorted({(r[2], r[1]) for r in rows if r[3] in _RESYNC})
    for name, day in days:
        pipeline.sync(name, interval=reconcile.day_bounds(day))
    counts.resynced_days = len(days)
    with connect() as conn:
        counts.deliveries += reconcile_store.requeue_delivery(
            conn, [r[5] for r in rows if r[3] not in _RESYNC]
        )
    config = registry.load()
    for name, day in sorted({(r[2], r[1]) for r in rows}):
        reconcile.reconcile_source_day(config.source(name), day)
    with connect() as conn:
        counts.mismatches_repaired = conn.execute(
            "SELECT count(*) FROM onestop.reconciliation_mismatch WHERE id = ANY(%s) AND state = 'repaired'",
            ([r[0] for r in rows],),
        ).fetchone()[0]
