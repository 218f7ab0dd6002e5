"""One failure of the administrators' list as its detail page shows it: per kind, read from its own table and the
ones around it, the failing fields, the raw payload, a history (event name and Vietnamese detail, whose shapes
onestop/console/words.py translates) and the kind's facts. connectors.store.failures.detail is the way in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from connectors.store.failures import Failure, KeySet


@dataclass
class Detail:
    failure: Failure
    errors: list[dict[str, Any]]  # each failing field: field, source_path, reason, value (masked when stored)
    payload: str | None  # the raw record (or, for a delivery, the canonical dossier sent), unmasked
    content_type: str
    history: list[tuple[datetime, str, str]]  # (when, what, detail), oldest first
    facts: dict[str, Any]  # kind-specific: run, attempts, holder, dag/run/task ids…
    # A quarantined record's other versions (key, last seen, error class, state), newest first.
    versions: list[tuple[str, datetime, str, str]] = field(default_factory=list)


def load(conn: psycopg.Connection, failure: Failure, ks: KeySet) -> Detail:
    """`failure`'s detail; `ks` is its key, parsed."""
    if ks.quarantine:
        return _quarantine_detail(conn, failure, ks.quarantine[0])
    if ks.delivery:
        return _delivery_detail(conn, failure, *ks.delivery[0])
    if ks.conflict:
        return _conflict_detail(conn, failure, ks.conflict[0])
    if ks.refused:
        return _refused_detail(conn, failure, ks.refused[0])
    return _task_detail(conn, failure, ks.task[0])


def _resolution(failure: Failure) -> list[tuple[datetime, str, str]]:
    """Who closed it, when, and why, as a history line (none while it is open)."""
    if not failure.resolved_at:
        return []
    return [(failure.resolved_at, failure.state, f"{failure.resolved_by}: {failure.comment or ''}")]


def _quarantine_detail(conn: psycopg.Connection, failure: Failure, qid: int) -> Detail:
    row = conn.execute(
        "SELECT q.errors, q.payload, q.content_type, q.first_seen_at, q.last_seen_at, q.seen, q.run_id,"
        " r.airflow_run_id, q.payload_purged_at FROM onestop.quarantine q"
        " LEFT JOIN onestop.sync_run r ON r.run_id = q.run_id WHERE q.id = %s",
        (qid,),
    ).fetchone()
    assert row is not None
    errors, payload, ctype, first, last, seen, run_id, airflow_run, purged = row
    history = [(first, "first_seen", f"lần đầu (lần chạy {run_id})" if seen == 1 else "lần đầu")]
    others = conn.execute(
        "SELECT first_seen_at, last_seen_at, seen, state FROM onestop.quarantine"
        " WHERE source = %s AND record_id = %s AND id <> %s ORDER BY first_seen_at",
        (failure.source, failure.ref, qid),
    ).fetchall()
    history += [(o[0], "other_version", f"phiên bản khác của bản ghi: {o[2]} lần, {o[3]}") for o in others]
    if seen > 1:
        history.append((last, "seen_again", f"gặp lại {seen} lần, lần cuối ở lần chạy {run_id}"))
    history += _resolution(failure)
    facts = {"run_id": run_id, "airflow_run_id": airflow_run, "seen": seen, "payload_purged_at": purged}
    versions = [
        tuple(v)
        for v in conn.execute(
            "SELECT 'q' || id, last_seen_at, error_class, state FROM onestop.quarantine"
            " WHERE source = %s AND record_id = %s AND id <> %s AND state <> 'superseded'"
            " ORDER BY last_seen_at DESC, id DESC",
            (failure.source, failure.ref, qid),
        ).fetchall()
    ]
    return Detail(
        failure, list(errors), payload if purged is None else None, ctype, sorted(history), facts, versions
    )


def _delivery_detail(conn: psycopg.Connection, failure: Failure, uid: str, version: int) -> Detail:
    rows = conn.execute(
        "SELECT version, state, attempts, resends, error_code, error, created_at, sent_at, failed_at, delivered_at"
        " FROM onestop.outbox WHERE uid = %s ORDER BY version",
        (uid,),
    ).fetchall()
    history: list[tuple[datetime, str, str]] = []
    for v, _state, attempts, resends, code, error, created, sent, failed, delivered in rows:
        history.append((created, "queued", f"phiên bản {v} chờ gửi"))
        if failed:
            history.append(
                (failed, "failed", f"phiên bản {v}: {code or ''} {error or ''} (lần thử {attempts})")
            )
        if sent and (not failed or sent > failed):
            history.append((sent, "sent", f"phiên bản {v} đã gửi (lần thử {attempts}, gửi lại {resends})"))
        if delivered:
            history.append((delivered, "delivered", f"phiên bản {v} Cổng DVC đã nhận"))
    history += _resolution(failure)
    record = conn.execute(
        "SELECT record::text, source_record_id FROM onestop.dossier WHERE uid = %s", (uid,)
    ).fetchone()
    mine = next(r for r in rows if r[0] == version)
    errors = portal_errors(mine[4], mine[5])
    facts = {
        "uid": uid,
        "version": version,
        "attempts": mine[2],
        "source_record_id": record[1] if record else None,
    }
    return Detail(failure, errors, record[0] if record else None, "application/json", sorted(history), facts)


# "Dữ liệu không hợp lệ: MaTTHC (bắt buộc); TrangThaiHoSo (phải trong khoảng 1-10)": the portal's fields, named.
_PORTAL_FIELD = re.compile(r"^([A-Z][A-Za-z0-9]*(?:/[A-Z][A-Za-z0-9]*)*) \((.+)\)$")


def portal_errors(code: str | None, message: str | None) -> list[dict[str, Any]]:
    """A refused delivery as error rows: one per portal field its message names (field, and that field's
    reason), else one row with no field and the whole message as the reason; the portal's code in `code`. The
    portal reads our canonical dossier, not the source's record: `source_path` is empty."""
    if not message and not code:
        return []  # delivered since: nothing is failing, no empty row
    message = message or ""
    _, _, listed = message.partition(": ")
    parts = [p.strip() for p in listed.split(";")] if listed else []
    named = [_PORTAL_FIELD.match(p) for p in parts]
    if parts and all(named):
        return [
            {"field": m[1], "source_path": "", "reason": m[2], "value": None, "code": code or ""}
            for m in named
            if m
        ]
    return [{"field": "", "source_path": "", "reason": message, "value": None, "code": code or ""}]


def _conflict_detail(conn: psycopg.Connection, failure: Failure, uid: str) -> Detail:
    row = conn.execute(
        "SELECT c.holder_uid, h.source, h.source_record_id, d.record::text, d.source_record_id"
        " FROM onestop.conflict c LEFT JOIN onestop.dossier h ON h.uid = c.holder_uid"
        " LEFT JOIN onestop.dossier d ON d.uid = c.uid WHERE c.uid = %s",
        (uid,),
    ).fetchone()
    assert row is not None
    holder, holder_source, holder_record, record, record_id = row
    errors = [
        {
            "field": "ma_ho_so",
            "source_path": "",
            "reason": f"đã thuộc hồ sơ {holder_record} của nguồn {holder_source}",
            "value": failure.ref,
        }
    ]
    history = [(failure.at, "conflict", f"phát hiện trùng với {holder}")]
    history += _resolution(failure)
    facts = {"uid": uid, "holder_uid": holder, "source_record_id": record_id}
    return Detail(failure, errors, record, "application/json", history, facts)


def _task_detail(conn: psycopg.Connection, failure: Failure, fid: int) -> Detail:
    row = conn.execute(
        "SELECT dag_id, run_id, task_id, message FROM onestop.task_failure WHERE id = %s", (fid,)
    ).fetchone()
    assert row is not None
    dag_id, run_id, task_id, message = row
    # The failed run's own attempts: those of the sync runs its Airflow run made (of its source, when it has one).
    attempts = (
        conn.execute(
            "SELECT a.at, a.endpoint, a.operation, a.error_class, a.message FROM onestop.sync_run r"
            " JOIN onestop.attempt a ON a.run_id = r.run_id"
            " WHERE r.airflow_run_id = %s AND (%s::text IS NULL OR r.source = %s)"
            " ORDER BY a.at DESC, a.id DESC LIMIT 20",
            (run_id, failure.source, failure.source),
        ).fetchall()
        if run_id
        else []
    )
    history = [(a[0], "attempt", f"{a[2]} {a[1]}: {a[3]} {a[4]}") for a in reversed(attempts)]
    history.append((failure.at, "task_failed", f"{dag_id}.{task_id}"))
    history += _resolution(failure)
    errors = [{"field": task_id, "source_path": "", "reason": message, "value": None}]
    facts = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id}
    return Detail(failure, errors, None, "text/plain", history, facts)


def _refused_detail(conn: psycopg.Connection, failure: Failure, attempt_id: int) -> Detail:
    row = conn.execute(
        "SELECT a.run_id, a.page, a.byte_offset, a.http_status, a.excerpt, r.window_start, r.window_end,"
        " r.airflow_run_id FROM onestop.attempt a LEFT JOIN onestop.sync_run r ON r.run_id = a.run_id"
        " WHERE a.id = %s",
        (attempt_id,),
    ).fetchone()
    assert row is not None
    run_id, page_no, offset, http_status, excerpt, start, end, airflow_run = row
    errors = [{"field": f"trang {page_no}", "source_path": "", "reason": failure.message, "value": None}]
    history = [(failure.at, "refused", f"lần chạy {run_id} dừng ở trang {page_no}")]
    history += _resolution(failure)
    facts = {
        "run_id": run_id,
        "airflow_run_id": airflow_run,
        "page": page_no,
        "byte_offset": offset,
        "http_status": http_status,
        "window": f"{start} .. {end}" if end else None,
    }
    return Detail(failure, errors, excerpt, "text/plain", history, facts)
