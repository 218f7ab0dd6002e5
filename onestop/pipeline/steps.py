"""The sync's steps as plain functions: plan → extract → load (and acknowledge) for a source.

Airflow's DAG files, the CLI, the tests and the benchmarks all call these; none of them needs a scheduler.
Batches never leave the database: steps hand each other a run id and return counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psycopg

from connectors.base import JSON, RawRecord, read_ahead
from connectors.errors import RefusedAnswer
from connectors.factory import open_source
from connectors.spec.source import SourceConfig
from connectors.store import refusals, runs, staging
from connectors.store.attempts import AttemptRecorder
from connectors.store.merge import Loader, close_detail_failures, stored_update_times
from connectors.store.runs import RunCounts, RunPlan
from mappings import get_mapping
from onestop import privacy, progress, registry
from onestop.db import connect
from onestop.embedded_db import database_url
from onestop.pipeline import failpoints
from onestop.pipeline.normalize import (
    UNREAD,
    defects_json,
    few_collections,
    normalize_processes,
    normalized,
    staging_id,
)
from onestop.pipeline.safeguards import breaker_for, log_page, open_message_log
from schemas.dossier import dossier_uid
from schemas.personal_data import MESSAGE_CAP, quote_answer

log = logging.getLogger(__name__)


def plan(
    source_name: str,
    *,
    airflow_run_id: str | None = None,
    interval: tuple[datetime, datetime] | None = None,
    now: datetime | None = None,
) -> RunPlan:
    """Open a sync run and fix the window it reads (Contracts: Window and watermark)."""
    source = registry.load().source(source_name)
    with connect() as conn:
        window = runs.plan_window(
            runs.watermark(conn, source.name),
            lookback=source.lookback,
            start=source.start,
            now=now or datetime.now(UTC),
            interval=interval,
        )
        backfill = (airflow_run_id or "").startswith("backfill")
        # a source that keeps the reader's place starts there; a backfill reads its interval, the place untouched
        resumes = source.resumes and not backfill and not (interval is not None and interval[0] < interval[1])
        run_id = runs.create_run(
            conn,
            source.name,
            window,
            airflow_run_id,
            resumes=resumes,
            resume_from=runs.kept_place(conn, source.name) if resumes else None,
        )
        for gone in [] if backfill else runs.fail_interrupted(conn, source.name, run_id):
            log.warning(
                "%s: run %s never finished (its process was killed): marked failed", source.name, gone
            )
    log.info("%s: run %s reads %s .. %s", source.name, run_id, window[0], window[1])
    return RunPlan(run_id, source.name, window[0], window[1])


def failed(run_id: int, exc: BaseException) -> None:
    """A step of the run failed: the run ends `failed` with the error (masked, capped), a refused page is kept
    for the console, and a skip request the run had taken is marked failed. Never raises: the error that
    brought us here is the one to report."""
    try:
        with connect(autocommit=True) as conn:
            message = f"{type(exc).__name__}: {exc}"  # the class says what kind of failure, the text the rest
            conn.execute(
                "UPDATE onestop.sync_run SET state = 'failed', error = %s, finished_at = clock_timestamp()"
                " WHERE run_id = %s AND state <> 'loaded'",
                (quote_answer(message, MESSAGE_CAP), run_id),
            )
            source = runs.get_plan(conn, run_id).source
            if isinstance(exc, RefusedAnswer):
                refusals.record(conn, run_id, exc)
            refusals.after_run(conn, source, run_id, loaded=False)
    except Exception:  # the database itself is gone: Airflow's own records still say the task failed
        log.exception("run %s: could not record its failure", run_id)


def extract(run_id: int) -> int:
    """Fetch the run's window page by page, normalize each page as it arrives and COPY its rows into the run's
    staging (connectors.store.staging). Returns records staged.

    One transaction: a retry after a failure starts the run's staging afresh, nothing half-staged remains.
    A failure ends the run `failed` with its error (a refused page kept for the console), then propagates.
    """
    try:
        return _extract(run_id)
    except BaseException as exc:
        failed(run_id, exc)
        raise


def _skipping(url: str, reader: object, source: str, run_id: int) -> None:
    """When an administrator asked to skip refused pages, the reader reads past them, each recorded and listed
    in the request's result (paged systems: a change feed's items come again until acknowledged)."""
    if not hasattr(reader, "on_refused"):
        return
    with connect(url, autocommit=True) as conn:
        taken = refusals.take_skip(conn, source, run_id)
    if taken is None:
        return
    action_id, actor = taken
    skipped: list[dict] = []

    def on_refused(exc: RefusedAnswer, where: dict) -> None:
        with connect(url, autocommit=True) as conn:
            attempt = refusals.record(conn, run_id, exc, state="skipped", actor=actor)
            skipped.append({"attempt": attempt, "error": quote_answer(str(exc), 1024), **where})
            refusals.note_skipped(conn, action_id, skipped)
        log.warning("%s: run %s skipped a refused page (asked by %s): %s", source, run_id, actor, exc)

    reader.on_refused = on_refused  # type: ignore[attr-defined]


def _extract(run_id: int) -> int:
    url = database_url()
    with few_collections(), connect(url) as conn:
        run = runs.get_plan(conn, run_id, lock=True)
        source = registry.load().source(run.source)
        mapping = get_mapping(source.dialect, source.timezone)
        id_of = mapping.record_id
        privacy.citizen_id_key()  # read once, before any normalizing worker forks (they may not reach Airflow)
        recorder = AttemptRecorder(url, run_id)
        breaker = breaker_for(url, source.name)
        message_log = open_message_log(url)
        details = None
        try:
            reader = open_source(source, recorder, breaker=breaker)
            resumes, resume_from = runs.resume_of(conn, run_id)
            if resumes:
                reader.resume_from = resume_from  # type: ignore[attr-defined]
            _skipping(url, reader, source.name, run_id)
            client = getattr(
                reader, "client", None
            )  # the read's HTTP client: cancelled when the read stops early
            details = getattr(reader, "details", None)
            if details is not None:
                details.unchanged = _unchanged(url, source.name, mapping)
            runs.set_state(conn, run_id, "extracting")
            pages = 0
            acks: list[str] = []
            details_read: set[str] = set()  # names of records whose detail this run read (DetailUnread rows)

            def pages_of_rows() -> Iterator[list[tuple]]:
                nonlocal pages
                bar, seq = progress.task(f"{source.name}: fetch + normalize"), 0
                cancel = client.cancel if client is not None else None
                for page in read_ahead(reader.pages(run.window_start, run.window_end), cancel=cancel):
                    if not getattr(page, "continues", False):  # a big page's further chunks: the same page
                        pages += 1
                        if pages == 2:
                            failpoints.reached("mid_copy")  # the first page is already in the COPY stream
                    bar.advance(len(page))
                    rows = []
                    for raw in page:
                        if raw.ack_id is not None:
                            acks.append(raw.ack_id)
                        if not raw.parsed:  # read where it is normalized (normalize.read_rows)
                            rows.append((seq, None, raw.content_type, raw.payload, UNREAD))
                        else:  # a JSON record is read once, by its page's reader; an XML one again from its text
                            parsed = raw.record if raw.content_type == JSON else None
                            record_id = staging_id(id_of, raw)
                            rows.append(
                                (seq, record_id, raw.content_type, raw.payload, defects_json(raw), parsed)
                            )
                            if raw.detail_of is not None:
                                details_read.update(n for n in (raw.detail_of, record_id) if n is not None)
                        seq += 1
                    yield rows
                bar.done()

            def logged(rows: list[tuple]) -> None:  # a page as received, its ids once read
                log_page(message_log, source.name, "page", [row[3] for row in rows], [row[1] for row in rows])

            if hasattr(reader, "leave_records_unparsed"):
                reader.leave_records_unparsed()  # the normalizing workers parse them
            staged = stage(conn, run_id, source, pages_of_rows(), on_read=logged)
            close_detail_failures(conn, source.name, details_read)
            message_log.flush()  # every staged page logged before the staging commits
            runs.set_extracted(
                conn,
                run_id,
                pages=pages,
                ack_ids=acks,
                source_clock=getattr(client, "clock", None),
                resume_next=getattr(reader, "resume_next", None) if resumes else None,
            )
            failpoints.reached("after_fetch")  # all fetched and staged, nothing committed
        finally:
            recorder.close()
            breaker.close()
            message_log.close()
    skipped = getattr(details, "unchanged_skipped", 0)
    log.info(
        "%s: run %s staged %s records from %s pages%s", source.name, run_id, staged, pages,
        f"; {skipped} listed as loaded, their detail not asked again" if skipped else "",
    )  # fmt: skip
    return staged


def _unchanged(url: str, source: str, mapping: Any) -> Callable[[list[RawRecord]], set[int]]:
    """connectors.detail.DetailReader.unchanged: the listed records whose dossier is held with the update time
    they are listed with (their id and time read by the mapping from the summary; one that gives neither is
    always asked for). Called from the reading thread: its own connection, the extract's holds the COPY."""

    def unchanged(listed: list[RawRecord]) -> set[int]:
        at: dict[str, list[tuple[int, datetime]]] = {}
        for i, raw in enumerate(listed):
            record_id, updated = mapping.identity(raw.record)
            if record_id and isinstance(updated, datetime):
                at.setdefault(dossier_uid(source, record_id), []).append((i, updated))
        if not at:
            return set()
        with psycopg.connect(url, autocommit=True) as conn:
            stored = stored_update_times(conn, list(at))
        return {i for uid, held in stored.items() for i, listed_at in at[uid] if listed_at == held}

    return unchanged


def stage(
    conn: psycopg.Connection,
    run_id: int,
    source: SourceConfig,
    chunks: Iterator[list[tuple]],
    on_read: Callable[[list[tuple]], None] | None = None,
) -> int:
    """Normalize chunks of fetched rows (normalize_chunk's) and stage them for the run's load, in `conn`'s
    transaction (the extract's, a re-drive's). `on_read` gets each chunk's rows, their records read (ids
    known), before they are staged. Returns records staged."""
    stager = staging.Stager(conn, run_id)

    def write(rows: list[tuple], chunk: tuple) -> None:
        if on_read is not None:
            on_read(rows)
        stager.fetched((row[0], row[1], row[4] if len(row) > 4 else None) for row in rows)
        stager.add(*chunk)

    # A writer thread feeds the COPY (the server parses chunk n) while this one normalizes chunk n + 1.
    with ThreadPoolExecutor(1, thread_name_prefix="stage-copy") as writer:
        copying: Future[None] | None = None
        for rows, chunk in normalized(
            source.dialect, source.name, chunks, normalize_processes(), source.timezone
        ):
            if copying is not None:
                copying.result()
            copying = writer.submit(write, rows, chunk)
        if copying is not None:
            copying.result()
    return stager.finish()


def load(run_id: int) -> RunCounts:
    """Merge the run's staged rows; the watermark moves in the same transaction, and the staged rows go with it.
    A failure ends the run `failed` with its error, then propagates (its staging stays for a retry)."""
    try:
        counts = _load(run_id)
    except BaseException as exc:
        failed(run_id, exc)
        raise
    acknowledge(run_id)
    return counts


class StagingLost(RuntimeError):
    """A run's staged rows are not all there (a database crash empties UNLOGGED tables): nothing is merged."""


def _load(run_id: int) -> RunCounts:
    with connect() as conn:
        run = runs.get_plan(conn, run_id, lock=True)
        source = registry.load().source(run.source)
        fetched = staging.count(conn, run_id)
        if not staging.exists(conn, run_id):
            raise StagingLost(
                f"{source.name}: run {run_id} has no staged records (loaded already, purged, or its extract did"
                " not finish): its window is fetched again by the next run"
            )
        loader = Loader(
            conn,
            source.name,
            run_id,
            watermark_on=source.watermark_field,
            pages_by_position=source.pages_by_position,
            window_end=run.window_end,
        )
        failpoints.reached("mid_load")
        counts = loader.finish()
        if counts.fetched != fetched:
            raise StagingLost(
                f"{source.name}: run {run_id} fetched {fetched} records but {counts.fetched} are staged (a database"
                " restart empties staging): nothing merged; its window is fetched again by the next run"
            )
        runs.keep_place(conn, source.name, run_id)  # the next run starts where this one ended (rest.resume)
        staging.drop(conn, run_id)  # merged now: the staged rows go with this commit
        runs.record_counts(conn, run_id, counts)
        refusals.after_run(conn, source.name, run_id, loaded=True)
    log.info("%s: run %s %s", run.source, run_id, counts.as_dict())
    failpoints.reached("after_commit")  # data and watermark committed; no feed ack, no delivery yet
    return counts


def acknowledge(run_id: int) -> int:
    """A change feed's batch is acknowledged only once its load has committed: were we to die before, the
    feed delivers it again and the load finds it unchanged. Returns how many ids were acknowledged."""
    url = database_url()
    with connect(url) as conn:
        row = conn.execute(
            "SELECT source, ack_ids FROM onestop.sync_run WHERE run_id = %s AND state = 'loaded' AND acked_at IS NULL",
            (run_id,),
        ).fetchone()
        if row is None or not row[1]:
            return 0
        source = registry.load().source(row[0])
        recorder = AttemptRecorder(url, run_id)
        try:
            reader = open_source(source, recorder)
            reader.acknowledge(row[1])  # type: ignore[attr-defined]
        finally:
            recorder.close()
        conn.execute("UPDATE onestop.sync_run SET acked_at = now() WHERE run_id = %s", (run_id,))
    return len(row[1])


def sync(source_name: str, **plan_kwargs) -> RunCounts:
    """plan + extract + load, for the CLI and tests (Airflow runs them as separate tasks)."""
    run = plan(source_name, **plan_kwargs)
    extract(run.run_id)
    return load(run.run_id)
