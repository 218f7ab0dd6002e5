"""Sync runs, the window each one reads, and watermarks (Contracts: Window and watermark)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta

import psycopg

COUNTERS = ("fetched", "loaded", "unchanged", "stale", "quarantined", "duplicates", "deleted")


@dataclass
class RunCounts:
    fetched: int = 0
    loaded: int = 0
    unchanged: int = 0
    stale: int = 0
    quarantined: int = 0
    duplicates: int = 0
    deleted: int = 0
    conflicts: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def balanced(self) -> bool:
        """fetched = loaded + unchanged + stale + quarantined + duplicates + deleted (Contracts: Counters)."""
        return self.fetched == sum(getattr(self, c) for c in COUNTERS[1:])

    def __add__(self, other: RunCounts) -> RunCounts:
        return RunCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


@dataclass(frozen=True)
class RunPlan:
    run_id: int
    source: str
    window_start: datetime | None
    window_end: datetime


def watermark(conn: psycopg.Connection, source: str) -> datetime | None:
    row = conn.execute("SELECT value FROM onestop.watermark WHERE source = %s", (source,)).fetchone()
    return row[0] if row else None


def plan_window(
    mark: datetime | None,
    *,
    lookback: timedelta,
    start: datetime,
    now: datetime,
    interval: tuple[datetime, datetime] | None = None,
) -> tuple[datetime, datetime]:
    """[watermark − lookback, now]; a run's data interval (a backfill) reads exactly that interval instead.

    Airflow 3 cron and manual runs have no interval of their own (start == end): they take the watermark's.
    """
    if interval is not None and interval[0] < interval[1]:
        return interval[0], min(interval[1], now)
    return (mark - lookback if mark is not None else start), now


def kept_place(conn: psycopg.Connection, source: str) -> str | None:
    """The link or cursor the source's last loaded run ended at (`rest.resume`), where its next run starts."""
    row = conn.execute("SELECT cursor FROM onestop.watermark WHERE source = %s", (source,)).fetchone()
    return row[0] if row else None


def create_run(
    conn: psycopg.Connection,
    source: str,
    window: tuple[datetime, datetime],
    airflow_run_id: str | None,
    *,
    resumes: bool = False,
    resume_from: str | None = None,
) -> int:
    """`resumes`: the run reads from the place kept (`resume_from`, None: its window afresh) and its load keeps
    the place its last page gave."""
    row = conn.execute(
        "INSERT INTO onestop.sync_run (source, airflow_run_id, window_start, window_end, resumes, resume_from) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING run_id",
        (source, airflow_run_id, window[0], window[1], resumes, resume_from if resumes else None),
    ).fetchone()
    assert row is not None
    return row[0]


def fail_interrupted(conn: psycopg.Connection, source: str, run_id: int) -> list[int]:
    """Earlier runs of `source` that never ended (their process was killed mid-way): marked failed, so that no
    run stays `planned` or `extracting` for ever. An extract or a load at work holds its run's row locked
    (SKIP LOCKED passes it by); a source's sync runs never overlap (max_active_runs=1). Backfill runs (the
    archive DAG, two at a time) are left alone: theirs may overlap by design."""
    rows = conn.execute(
        "UPDATE onestop.sync_run SET state = 'failed', finished_at = clock_timestamp(),"
        " error = 'interrupted: the run never finished (its process ended mid-way); run ' || %s || ' took over'"
        " WHERE run_id IN (SELECT run_id FROM onestop.sync_run WHERE source = %s AND run_id < %s"
        "                  AND state IN ('planned', 'extracting', 'extracted')"
        "                  AND COALESCE(airflow_run_id, '') NOT LIKE 'backfill%%' FOR UPDATE SKIP LOCKED)"
        " RETURNING run_id",
        (run_id, source, run_id),
    ).fetchall()
    return [r[0] for r in rows]


def get_plan(conn: psycopg.Connection, run_id: int, *, lock: bool = False) -> RunPlan:
    """The run's source and window; `lock`: held until the caller's transaction ends (a step at work)."""
    row = conn.execute(
        "SELECT source, window_start, window_end FROM onestop.sync_run WHERE run_id = %s"
        + (" FOR UPDATE" if lock else ""),
        (run_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no sync run {run_id}")
    return RunPlan(run_id, row[0], row[1], row[2])


def resume_of(conn: psycopg.Connection, run_id: int) -> tuple[bool, str | None]:
    """Whether the run takes part in keeping the reader's place, and the place it starts from."""
    row = conn.execute(
        "SELECT resumes, resume_from FROM onestop.sync_run WHERE run_id = %s", (run_id,)
    ).fetchone()
    return (bool(row[0]), row[1]) if row else (False, None)


def keep_place(conn: psycopg.Connection, source: str, run_id: int) -> None:
    """In the load's transaction: the place the run's last page gave becomes the source's (None: none, the next
    run reads its window afresh). A run that does not resume (a backfill) leaves it as it is."""
    conn.execute(
        "INSERT INTO onestop.watermark (source, cursor, run_id)"
        " SELECT source, resume_next, run_id FROM onestop.sync_run WHERE run_id = %s AND source = %s AND resumes"
        " ON CONFLICT (source) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()",
        (run_id, source),
    )


def set_state(conn: psycopg.Connection, run_id: int, state: str, *, error: str | None = None) -> None:
    conn.execute(
        "UPDATE onestop.sync_run SET state = %s, error = %s,"
        " finished_at = CASE WHEN %s IN ('loaded', 'failed') THEN now() END WHERE run_id = %s",
        (state, error, state, run_id),
    )


def set_extracted(
    conn: psycopg.Connection,
    run_id: int,
    *,
    pages: int,
    ack_ids: list[str],
    source_clock: tuple[datetime, datetime] | None = None,
    resume_next: str | None = None,
) -> None:
    """Extraction done; a change feed's ack ids wait here until the load has committed. `source_clock`: the
    HTTP `Date` of the source's last successful answer and our clock when it came (HttpClient.clock)."""
    said, read_at = source_clock or (None, None)
    conn.execute(
        "UPDATE onestop.sync_run SET state = 'extracted', extracted_at = clock_timestamp(), pages = %s, ack_ids = %s,"
        " source_clock = %s, source_clock_read_at = %s, resume_next = %s WHERE run_id = %s",
        (pages, ack_ids or None, said, read_at, resume_next, run_id),
    )


def record_counts(conn: psycopg.Connection, run_id: int, counts: RunCounts) -> None:
    conn.execute(
        "UPDATE onestop.sync_run SET fetched = %(fetched)s, loaded = %(loaded)s, unchanged = %(unchanged)s,"
        " stale = %(stale)s, quarantined = %(quarantined)s, duplicates = %(duplicates)s, deleted = %(deleted)s,"
        " conflicts = %(conflicts)s, state = 'loaded', finished_at = clock_timestamp(), error = NULL"
        " WHERE run_id = %(run_id)s",
        {**counts.as_dict(), "run_id": run_id},
    )


def advance_watermark(conn: psycopg.Connection, source: str, value: datetime | None, run_id: int) -> None:
    """Never backwards: a backfill of old days leaves the watermark where it was."""
    if value is None:
        return
    conn.execute(
        "INSERT INTO onestop.watermark (source, value, run_id) VALUES (%s, %s, %s)"
        " ON CONFLICT (source) DO UPDATE SET value = GREATEST(onestop.watermark.value, EXCLUDED.value),"
        " run_id = EXCLUDED.run_id, updated_at = now()",
        (source, value, run_id),
    )
