"""Retention of personal data: raw payloads past their retention period are purged, their hashes stay.

Raw records carry citizens' personal data (ID numbers, phones, addresses), so they are kept only as long as the
pipeline and the administrators need them (`retention:` in config/sources.yaml, onestop.registry.RetentionConfig):

- `onestop.staging`: what sync runs started before `raw_payloads` ago staged is purged: which record ids each
  fetched and when (the trace's fetches), and the normalized rows of a run that never loaded (a loaded run's
  staged tables went with its load's commit: connectors.store.staging), kept until then to be investigated. A
  run still unfinished at that age was abandoned: it is marked failed and its change-feed ack
  ids are dropped (the feed delivers those records again), so that nothing could acknowledge records it never
  loaded. The run row (window, counts) stays and records `staging_purged_at`.
- `onestop.quarantine`: a record keeps its row (errors, payload hash, ids, state) but loses its payload
  (payload '' and `payload_purged_at`) once it was last seen `quarantine` ago, or, once closed (redriven,
  resolved, superseded: the payload is needed no more), `raw_payloads` after it was closed.
- `onestop.attempt`, `onestop.task_failure`: rows older than `incidents` are deleted (their messages are masked
  when written, but may quote a district's answer: names and addresses escape any mask).

- `onestop.message_log` (hashes, sizes, ids: no payloads): entries older than `message_log` move to gzipped
  JSON-lines files (pipeline.archive_dir()) and leave the table; a checkpoint keeps the last one, so `verify`
  holds over what remains. A chain's newest entry always stays.

Never touched: the unified dossier (`dossier`, `dossier_version`, `status_history`: the province's system of
record, growing with the dossiers' real changes, not with the number of syncs), the outbox (one row per
version), the portal calls (counts) and the MaHoSo conflicts (ids only).

Everything is set-based: each statement purges up to `batch_size` rows in its own short transaction.
`purge()` is a plain function: the CLI (`onestop purge`) and a daily Airflow task call it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from connectors.store import message_log, staging
from onestop import registry
from onestop.db import connect

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
UNFINISHED = ("planned", "extracting", "extracted")
ABANDONED = "abandoned: not loaded within the raw-payload retention (its staged records were purged)"

# A run's staged records go once it started before the raw-payload cutoff.
_STAGED_RUN = "r.staging_purged_at IS NULL AND r.started_at < %(raw)s"
_RUN_KIND = "CASE WHEN r.state = 'loaded' THEN 'loaded runs' ELSE 'failed runs' END"
# A quarantined payload goes when last seen before the quarantine cutoff, or closed before the raw cutoff.
_QUARANTINE_DUE = (
    "(last_seen_at < %(quarantine)s OR (state <> 'open' AND COALESCE(resolved_at, last_seen_at) < %(raw)s))"
)
_INCIDENT_TABLES = {"attempt": ("failed calls", "message"), "task_failure": ("task failures", "message")}


@dataclass
class PurgeLine:
    table: str
    kind: str
    action: str
    rows: int = 0
    bytes: int = 0  # payload (or message) bytes: freed on disk once autovacuum has passed


@dataclass
class PurgeReport:
    dry_run: bool
    now: datetime
    cutoffs: dict[str, datetime]  # retention key -> what is older than this goes
    lines: list[PurgeLine] = field(default_factory=list)
    oldest_kept: dict[str, datetime | None] = field(
        default_factory=dict
    )  # table -> oldest payload still held
    seconds: float = 0.0

    def line(self, table: str, kind: str) -> PurgeLine:
        for line in self.lines:
            if (line.table, line.kind) == (table, kind):
                return line
        raise KeyError((table, kind))

    def rows(self, table: str, kind: str | None = None) -> int:
        return sum(x.rows for x in self.lines if x.table == table and kind in (None, x.kind))

    @property
    def total_rows(self) -> int:
        return sum(x.rows for x in self.lines)

    @property
    def bytes_freed(self) -> int:
        return sum(x.bytes for x in self.lines)

    def as_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "dry_run": self.dry_run,
            "now": iso(self.now),
            "cutoffs": {k: iso(v) for k, v in self.cutoffs.items()},
            "lines": [asdict(x) for x in self.lines],
            "rows": self.total_rows,
            "bytes": self.bytes_freed,
            "oldest_kept": {k: iso(v) for k, v in self.oldest_kept.items()},
            "seconds": round(self.seconds, 3),
        }

    def table(self):  # -> rich.table.Table (rich is imported only by who prints)
        from rich.table import Table

        verb = "would go" if self.dry_run else "went"
        title = (
            f"onestop purge{' --dry-run' if self.dry_run else ''}: what {verb} (retention of personal data)"
        )
        table = Table(
            title=title, caption="message_log: old entries move to archive files, `verify` still holds"
        )
        for col, justify in (("table", "left"), ("kind", "left"), ("action", "left"), ("rows", "right"),
                             ("bytes", "right"), ("older than", "left"), ("oldest kept", "left")):  # fmt: skip
            table.add_column(col, justify=justify)  # type: ignore[arg-type]
        shown: set[str] = set()
        for x in self.lines:
            first = x.table not in shown
            shown.add(x.table)
            cutoff = self.cutoffs[
                _CUTOFF_OF.get((x.table, x.kind), _CUTOFF_OF.get((x.table, None), "raw_payloads"))
            ]
            kept = self.oldest_kept.get(x.table) if first else None
            table.add_row(
                x.table if first else "",
                x.kind,
                _DRY_ACTION[x.action] if self.dry_run else x.action,
                f"{x.rows:,}",
                _size(x.bytes) if x.bytes else "—",
                _when(cutoff),
                (_when(kept) if kept else "—") if first and x.table in self.oldest_kept else "",
            )
        table.add_row("total", "", "", f"{self.total_rows:,}", _size(self.bytes_freed), "", "", style="bold")
        return table


_CUTOFF_OF = {
    ("staging", None): "raw_payloads",
    ("sync_run", None): "raw_payloads",
    ("quarantine", "open"): "quarantine",
    ("quarantine", None): "raw_payloads",
    ("attempt", None): "incidents",
    ("task_failure", None): "incidents",
    ("message_log", None): "message_log",
}


_DRY_ACTION = {
    "deleted": "would delete",
    "payload cleared": "would clear payload",
    "marked failed": "would mark failed",
    "archived": "would archive",
}


def _when(t: datetime) -> str:
    return t.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m-%d %H:%M +07")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _empty_lines() -> list[PurgeLine]:
    return [
        PurgeLine("staging", "loaded runs", "deleted"),
        PurgeLine("staging", "failed runs", "deleted"),
        PurgeLine("sync_run", "abandoned runs", "marked failed"),
        *(PurgeLine("quarantine", state, "payload cleared") for state in ("open", "redriven", "resolved", "superseded")),
        *(PurgeLine(t, kind, "deleted") for t, (kind, _) in _INCIDENT_TABLES.items()),
        PurgeLine("message_log", "old entries", "archived"),
    ]  # fmt: skip


def purge(
    now: datetime | None = None,
    dry_run: bool = False,
    *,
    config: registry.RetentionConfig | None = None,
    batch_size: int = BATCH_SIZE,
    url: str | None = None,
) -> PurgeReport:
    """Purge what is past its retention (or, with dry_run, count it and change nothing)."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    config = config or registry.load().retention
    cutoffs = {
        "raw_payloads": now - config.raw_payloads,
        "quarantine": now - config.quarantine,
        "incidents": now - config.incidents,
        "message_log": now - config.message_log,
    }
    params = {
        "raw": cutoffs["raw_payloads"],
        "quarantine": cutoffs["quarantine"],
        "incidents": cutoffs["incidents"],
        "message_log": cutoffs["message_log"],
    }
    report = PurgeReport(dry_run=dry_run, now=now, cutoffs=cutoffs, lines=_empty_lines())
    with connect(url, autocommit=True) as conn:
        if dry_run:
            with conn.transaction():  # one snapshot; nothing is written
                _count(conn, report, params)
                _oldest_kept(conn, report, params)
        else:
            _purge(conn, report, params, batch_size)
            _oldest_kept(conn, report, params)
    report.seconds = time.monotonic() - started
    log.info(
        "purge%s: %s rows, %s bytes (%s)",
        " (dry run)" if dry_run else "",
        report.total_rows,
        report.bytes_freed,
        ", ".join(f"{x.table}/{x.kind}: {x.rows}" for x in report.lines if x.rows),
    )
    return report


def _add(report: PurgeReport, table: str, rows: list[tuple[str, int, int]]) -> int:
    total = 0
    for kind, n, nbytes in rows:
        line = report.line(table, kind)
        line.rows += n
        line.bytes += nbytes
        total += n
    return total


def _count(conn: psycopg.Connection, report: PurgeReport, params: dict) -> None:
    """What a purge would do, by the same predicates."""
    x = conn.execute
    row = x("SELECT count(*) FROM onestop.sync_run WHERE state = ANY(%(unfinished)s) AND started_at < %(raw)s",
            {**params, "unfinished": list(UNFINISHED)}).fetchone()  # fmt: skip
    report.line("sync_run", "abandoned runs").rows = row[0] if row else 0
    due = x(f"SELECT {_RUN_KIND}, r.run_id, (SELECT count(*) FROM onestop.staging s WHERE s.run_id = r.run_id)"
            f" FROM onestop.sync_run r WHERE {_STAGED_RUN}", params).fetchall()  # fmt: skip
    tables = set(staging.staged_runs(conn))
    for kind in dict.fromkeys(k for k, _run, _n in due):
        runs = [(run, n) for k, run, n in due if k == kind]
        _add(report, "staging", [(kind, sum(n for _, n in runs),
                                  sum(staging.size(conn, run) for run, _ in runs if run in tables))])  # fmt: skip
    _add(report, "quarantine", x(
        "SELECT state, count(*), COALESCE(sum(octet_length(payload)), 0) FROM onestop.quarantine"
        f" WHERE payload_purged_at IS NULL AND {_QUARANTINE_DUE} GROUP BY state",
        params,
    ).fetchall())  # fmt: skip
    for table, (kind, column) in _INCIDENT_TABLES.items():
        _add(report, table, x(
            f"SELECT %(kind)s, count(*), COALESCE(sum(octet_length({column})), 0) FROM onestop.{table}"
            " WHERE at < %(incidents)s",
            {**params, "kind": kind},
        ).fetchall())  # fmt: skip
    report.line("message_log", "old entries").rows = message_log.due_for_archive(conn, params["message_log"])


def _batches(conn: psycopg.Connection, report: PurgeReport, table: str, sql: str, params: dict) -> None:
    """Run one batch statement (returning (kind, rows, bytes)) in short transactions until nothing is left."""
    while True:
        with conn.transaction():
            done = _add(report, table, conn.execute(sql, params).fetchall())
        if done < params["batch"]:
            return


def _purge(conn: psycopg.Connection, report: PurgeReport, params: dict, batch_size: int) -> None:
    params = {**params, "batch": batch_size, "unfinished": list(UNFINISHED), "abandoned": ABANDONED}
    with conn.transaction():
        # First, so that nothing can load (and acknowledge) a run whose staged records are going.
        report.line("sync_run", "abandoned runs").rows = conn.execute(
            "UPDATE onestop.sync_run SET state = 'failed', error = %(abandoned)s, ack_ids = NULL,"
            " finished_at = COALESCE(finished_at, now())"
            " WHERE state = ANY(%(unfinished)s) AND started_at < %(raw)s",
            params,
        ).rowcount
    # The runs first (few), then their staged records through the primary key, a batch at a time.
    for kind, run_ids in conn.execute(
        f"SELECT {_RUN_KIND}, array_agg(r.run_id) FROM onestop.sync_run r WHERE {_STAGED_RUN} GROUP BY 1",
        params,
    ).fetchall():
        tables = set(staging.staged_runs(conn))
        for run in (r for r in run_ids if r in tables):  # a run that never loaded: its normalized rows
            with conn.transaction():
                _add(report, "staging", [(kind, 0, staging.size(conn, run))])
                staging.drop(conn, run)
        _batches(conn, report, "staging", (
            "WITH gone AS (DELETE FROM onestop.staging WHERE (run_id, seq) IN ("
            "  SELECT run_id, seq FROM onestop.staging WHERE run_id = ANY(%(runs)s) LIMIT %(batch)s)"
            "  RETURNING run_id, seq)"
            " SELECT %(kind)s, count(*), 0 FROM gone HAVING count(*) > 0"
        ), {**params, "runs": run_ids, "kind": kind})  # fmt: skip
        with conn.transaction():
            conn.execute(
                "UPDATE onestop.sync_run r SET staging_purged_at = now() WHERE run_id = ANY(%(runs)s)"
                " AND NOT EXISTS (SELECT 1 FROM onestop.staging s WHERE s.run_id = r.run_id)",
                {"runs": run_ids},
            )
    _batches(conn, report, "quarantine", (
        "WITH doomed AS ("
        "  SELECT id, state, octet_length(payload) AS bytes FROM onestop.quarantine"
        f"  WHERE payload_purged_at IS NULL AND {_QUARANTINE_DUE} ORDER BY id LIMIT %(batch)s FOR UPDATE),"
        " cleared AS (UPDATE onestop.quarantine q SET payload = '', payload_purged_at = now()"
        "  FROM doomed d WHERE q.id = d.id RETURNING d.state, d.bytes)"
        " SELECT state, count(*), COALESCE(sum(bytes), 0) FROM cleared GROUP BY state"
    ), params)  # fmt: skip
    for table, (kind, column) in _INCIDENT_TABLES.items():
        _batches(conn, report, table, (
            f"WITH gone AS (DELETE FROM onestop.{table} WHERE id IN ("
            f"  SELECT id FROM onestop.{table} WHERE at < %(incidents)s ORDER BY id LIMIT %(batch)s)"
            f"  RETURNING octet_length({column}) AS bytes)"
            " SELECT %(kind)s, count(*), COALESCE(sum(bytes), 0) FROM gone HAVING count(*) > 0"
        ), {**params, "kind": kind})  # fmt: skip
    from onestop.pipeline import archive_dir  # the pipeline's heavier imports only when purging

    archived = message_log.archive(conn, params["message_log"], archive_dir())
    _add(report, "message_log", [("old entries", n, 0) for _, n, _ in archived])


def _oldest_kept(conn: psycopg.Connection, report: PurgeReport, params: dict) -> None:
    """Per table, the oldest payload a purge leaves (a run's start, a record's last sighting, an incident)."""
    row = conn.execute(
        "SELECT"
        " (SELECT min(r.started_at) FROM onestop.sync_run r WHERE r.staging_purged_at IS NULL"
        "   AND r.started_at >= %(raw)s AND EXISTS (SELECT 1 FROM onestop.staging s WHERE s.run_id = r.run_id)),"
        " (SELECT min(last_seen_at) FROM onestop.quarantine"
        f"   WHERE payload_purged_at IS NULL AND NOT {_QUARANTINE_DUE}),"
        " (SELECT min(at) FROM onestop.attempt WHERE at >= %(incidents)s),"
        " (SELECT min(at) FROM onestop.task_failure WHERE at >= %(incidents)s)",
        params,
    ).fetchone()
    assert row is not None
    report.oldest_kept = dict(zip(("staging", "quarantine", "attempt", "task_failure"), row, strict=True))
