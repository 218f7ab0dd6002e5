"""One traced record's timeline, built from the rows `onestop.operations.trace.find` queried for it, and the traces it
returns (`DossierTrace`, `TraceEvent`).

The events: fetched and staged in a sync run, quarantined, loaded (each version) or unchanged, in conflict,
queued, sent and delivered to the portal (or failed), deleted at the source, resolved or re-driven by an
administrator. Kept apart from the queries: this half never touches the database, it only reads rows.

Personal data: every detail text goes through `privacy.mask_text`; the applicant's ID is shown masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.codes import DossierStatus
from schemas.dossier import HCM, mask
from schemas.personal_data import mask_text

STEP_LABELS: dict[str, str] = {
    "fetched": "Đã lấy từ nguồn",
    "staged": "Đã lưu tạm",
    "quarantined": "Bị cách ly (lỗi dữ liệu)",
    "redriven": "Đã chạy lại",
    "loaded": "Đã nạp vào CSDL",
    "unchanged": "Không thay đổi",
    "conflict": "Trùng mã hồ sơ",
    "queued": "Chờ gửi Cổng DVC",
    "sent": "Đã gửi",
    "delivery_failed": "Gửi lỗi",
    "delivered": "Cổng DVC đã nhận",
    "resolved": "Đã xử lý",
    "deleted": "Đã xoá tại nguồn",
}
# Events at the same instant (one transaction's now()) keep the order of the flow.
_RANK = {step: n for n, step in enumerate(STEP_LABELS)}

_REDRIVE_RUN = "redrive"  # sync_run.airflow_run_id of the runs onestop.operations.redrive creates

_OUTBOX_STATE = {
    "pending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "failed": "delivery_failed",
    "dead": "delivery_failed",
    "superseded": "loaded",
}


@dataclass
class TraceEvent:
    at: datetime
    step: str  # a key of STEP_LABELS
    detail: str  # masked
    run_id: int | None = None
    airflow_run_id: str | None = None
    version: int | None = None

    @property
    def label(self) -> str:
        return STEP_LABELS.get(self.step, self.step)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "step": self.step,
            "label": self.label,
            "detail": self.detail,
            "run_id": self.run_id,
            "airflow_run_id": self.airflow_run_id,
            "version": self.version,
        }


@dataclass
class DossierTrace:
    source: str
    source_record_id: str
    ma_ho_so: str | None
    uid: str | None  # None: the record never loaded
    # delivered, sent, queued, delivery_failed, resolved, loaded, conflict, deleted, quarantined, redriven
    state: str
    applicant_id_masked: str | None
    events: list[TraceEvent] = field(default_factory=list)  # sorted by time
    applicant_name: str | None = None  # as the source wrote it: shown as text, never as markup

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "source_record_id": self.source_record_id,
            "ma_ho_so": self.ma_ho_so,
            "uid": self.uid,
            "state": self.state,
            "applicant_id_masked": self.applicant_id_masked,
            "applicant_name": self.applicant_name,
            "events": [e.as_dict() for e in self.events],
        }


def local_time(at: datetime) -> str:
    """dd/MM/yyyy HH:mm in Asia/Ho_Chi_Minh, as the administrators read times."""
    return at.astimezone(HCM).strftime("%d/%m/%Y %H:%M")


@dataclass
class Run:
    """A sync run (onestop.sync_run), as the timeline places events in it."""

    run_id: int
    source: str
    airflow_run_id: str | None
    state: str
    started_at: datetime
    extracted_at: datetime | None
    finished_at: datetime | None
    staging_purged_at: datetime | None

    def holds(self, at: datetime) -> bool:
        """`at` falls in this run's load (extraction end .. the load's commit)."""
        return (
            self.extracted_at is not None
            and self.finished_at is not None
            and self.extracted_at <= at <= self.finished_at
        )


# --- one timeline ---------------------------------------------------------------------------------------


@dataclass
class RecordRows:
    """The rows of one traced record."""

    versions: list = field(default_factory=list)
    outbox: list = field(default_factory=list)
    conflicts: list = field(default_factory=list)
    quarantine: list = field(default_factory=list)
    staged: list = field(default_factory=list)


class _Timeline:
    def __init__(self, runs: dict[int, Run]) -> None:
        self.runs = runs
        self.events: list[TraceEvent] = []

    def add(self, at: datetime | None, step: str, detail: str, run_id: int | None = None,
            version: int | None = None) -> None:  # fmt: skip
        if at is None:
            return
        run = self.runs.get(run_id) if run_id is not None else None
        self.events.append(
            TraceEvent(at, step, mask_text(detail), run_id, run.airflow_run_id if run else None, version)
        )

    def in_order(self) -> list[TraceEvent]:
        """The events by time; those at the same instant (one transaction's now()) in the order of the flow."""
        return sorted(self.events, key=lambda e: (e.at, _RANK.get(e.step, 99), e.version or 0))


def _runs_of_record(
    parts: RecordRows, known: set[int], runs: dict[int, Run]
) -> list[tuple[Run, datetime | None]]:
    """The runs that staged the record, each with when it was fetched (None: its staged copy is gone)."""
    fetched = {s.run_id: s.fetched_at for s in parts.staged}
    ids = (set(fetched) | known) & set(runs)
    return [(runs[r], fetched.get(r)) for r in sorted(ids)]


def _fetches(t: _Timeline, record_runs: list[tuple[Run, datetime | None]], source: str) -> None:
    for run, fetched_at in record_runs:
        if run.airflow_run_id == _REDRIVE_RUN:
            continue  # taken from quarantine, not fetched: the 'redriven' event tells it
        purged = " (its staged copy was purged)" if fetched_at is None and run.staging_purged_at else ""
        t.add(fetched_at or run.started_at, "fetched", f"read from {source}", run.run_id)
        # A loaded run's payloads went with its load's commit (the dossier or the quarantine holds the record).
        kept = "staged until its run loaded" if run.state == "loaded" else "raw record kept in staging"
        t.add(run.extracted_at, "staged", f"{kept}{purged}", run.run_id)


def _errors(q: Any) -> str:
    parts = [
        f"{e.get('field') or '?'}: {e.get('reason') or ''}" for e in q.errors or [] if isinstance(e, dict)
    ]
    return f"{q.error_class}: " + "; ".join(parts)


def _quarantine_events(
    t: _Timeline, rows: list, record_runs: list[tuple[Run, datetime | None]], loaded_by: set[int]
) -> set[int]:
    """A 'quarantined' event per load that refused the record (runs that loaded a version of it excepted),
    and what became of it (re-driven, resolved). Returns the runs accounted for."""
    accounted: set[int] = set()
    for q in rows:
        first, last = q.first_seen_at, q.last_seen_at
        sightings = [
            run
            for run, _ in record_runs
            if run.airflow_run_id != _REDRIVE_RUN
            and run.run_id not in loaded_by
            and run.extracted_at is not None
            and run.finished_at is not None
            and run.finished_at >= first
            and run.extracted_at <= last
        ]
        first_run = next((r for r in sightings if r.holds(first)), None)
        if first_run is None and q.seen == 1 and q.run_id in t.runs:
            first_run = t.runs[q.run_id]
        more = f" (seen {q.seen} times, last {local_time(last)})" if q.seen > 1 else ""
        t.add(first, "quarantined", _errors(q) + more, first_run.run_id if first_run else None)
        for run in sightings:
            accounted.add(run.run_id)
            if run is not first_run:
                at = min(max(first, run.extracted_at), run.finished_at)  # type: ignore[type-var]
                t.add(at, "quarantined", "still failing", run.run_id)
        if first_run is not None:
            accounted.add(first_run.run_id)
        if q.state == "redriven":
            redrives = [
                r
                for r, _ in record_runs
                if r.airflow_run_id == _REDRIVE_RUN and r.started_at <= q.resolved_at
            ]
            run = max(redrives, key=lambda r: r.started_at, default=None)
            t.add(run.started_at if run else q.resolved_at, "redriven", "sent through the pipeline again",
                  run.run_id if run else None)  # fmt: skip
        elif q.state == "resolved":
            t.add(
                q.resolved_at,
                "resolved",
                f"by {q.resolved_by or '?'}" + (f": {q.comment}" if q.comment else ""),
            )
    return accounted


def _unchanged(t: _Timeline, record_runs: list[tuple[Run, datetime | None]], accounted: set[int]) -> None:
    for run, _ in record_runs:
        if run.run_id not in accounted and run.state == "loaded" and run.airflow_run_id != _REDRIVE_RUN:
            t.add(run.finished_at, "unchanged", "same content as stored (or an older copy): not loaded again",
                  run.run_id)  # fmt: skip


def _status_text(status: int) -> str:
    try:
        return f"{status} {DossierStatus(status).label}"
    except ValueError:
        return str(status)


def dossier_trace(d: Any, parts: RecordRows, runs: dict[int, Run]) -> DossierTrace:
    t = _Timeline(runs)
    loaded_by = {v.run_id for v in parts.versions if v.run_id is not None}
    known = loaded_by | {q.run_id for q in parts.quarantine if q.run_id is not None}
    if d.deleted and d.deleted_run_id is not None:
        known.add(d.deleted_run_id)
    record_runs = _runs_of_record(parts, known, runs)
    _fetches(t, record_runs, d.source)
    accounted = _quarantine_events(t, parts.quarantine, record_runs, loaded_by) | loaded_by
    _unchanged(t, record_runs, accounted)

    version_at: dict[datetime, Any] = {}
    for v in parts.versions:
        version_at[v.loaded_at] = v  # one load transaction: the same now() as its conflict and outbox rows
        what = "new dossier" if v.version == 1 else "new version"
        t.add(v.loaded_at, "loaded", f"{what}; status {_status_text(v.status)};"
              f" updated at the source {local_time(v.source_updated_at)}", v.run_id, v.version)  # fmt: skip

    for c in parts.conflicts:
        v = version_at.get(c.detected_at)
        held_by = (
            f"{c.holder_source} record {c.holder_record}" if c.holder_source else f"dossier {c.holder_uid}"
        )
        t.add(c.detected_at, "conflict", f"MaHoSo {c.ma_ho_so} is already held by {held_by}: not sent to the portal",
              v.run_id if v else None, v.version if v else None)  # fmt: skip
        if c.state == "resolved":
            t.add(c.resolved_at, "resolved", f"conflict closed by {c.resolved_by or '?'}"
                  + (f": {c.comment}" if c.comment else ""))  # fmt: skip

    run_of_version = {v.version: v.run_id for v in parts.versions}
    current = None
    for o in parts.outbox:
        if o.version == d.version:
            current = o
        superseded = "; superseded by a newer version before it was sent" if o.state == "superseded" else ""
        t.add(o.created_at, "queued", f"delivery to the portal queued{superseded}", run_of_version.get(o.version),
              o.version)  # fmt: skip
        resent = f"; sent again {o.resends} times after a lost answer" if o.resends else ""
        t.add(o.sent_at, "sent", f"attempt {o.attempts}{resent}", version=o.version)
        if o.failed_at is not None:
            why = f"{o.error_code}: {o.error}" if o.error_code or o.error else "an earlier attempt failed"
            dead = "; no more retries" if o.state == "dead" else ""
            t.add(o.failed_at, "delivery_failed", why + dead, version=o.version)
        t.add(
            o.delivered_at, "delivered", "the portal accepted the dossier and its progress", version=o.version
        )
        if o.resolved_at is not None:
            t.add(o.resolved_at, "resolved", f"delivery closed by {o.resolved_by or '?'}"
                  + (f": {o.comment}" if o.comment else ""), version=o.version)  # fmt: skip
    if d.deleted:
        t.add(
            d.deleted_at,
            "deleted",
            "the source announced a deletion: kept here, no longer sent",
            d.deleted_run_id,
        )

    if d.deleted:
        state = "deleted"
    elif d.conflict_with:
        state = "conflict"
    elif current is None:
        state = "loaded"
    elif current.resolved_at is not None:
        state = "resolved"
    else:
        state = _OUTBOX_STATE.get(current.state, current.state)
    masked = mask(d.id_number) if d.id_number else None
    return DossierTrace(
        d.source, d.source_record_id, d.ma_ho_so, d.uid, state, masked, t.in_order(), d.applicant_name
    )


def quarantine_trace(
    key: tuple[str, str], query: str, cid: str | None, parts: RecordRows, runs: dict[int, Run]
) -> DossierTrace:
    source, record_id = key
    t = _Timeline(runs)
    record_runs = _runs_of_record(parts, {q.run_id for q in parts.quarantine if q.run_id is not None}, runs)
    _fetches(t, record_runs, source)
    _unchanged(t, record_runs, _quarantine_events(t, parts.quarantine, record_runs, set()))
    states = [q.state for q in parts.quarantine]
    state = "quarantined" if "open" in states or not states else states[-1]
    # Found by the MaHoSo in its payload, that is its MaHoSo; found by its record id, it is unknown (not normalized).
    ma_ho_so = query if cid is None and query != record_id else None
    return DossierTrace(source, record_id, ma_ho_so, None, state, None, t.in_order())
