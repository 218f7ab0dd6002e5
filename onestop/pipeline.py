"""The pipeline steps as plain functions: plan → extract → load for a source, and deliver for the portal.

Airflow's DAG files, the CLI, the tests and the benchmarks all call these; none of them needs a scheduler.
Batches never leave the database: steps hand each other a run id and return counts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from connectors.base import JSON, Defect, RawRecord, read_ahead
from connectors.connection import get_connection
from connectors.errors import ConfigError, ConnectorError, RefusedAnswer
from connectors.factory import open_source
from connectors.http import HttpClient, HttpSettings
from connectors.portal import PortalClient, to_portal, to_progress
from connectors.spec.source import SourceConfig
from connectors.store import outbox, refusals, runs, staging, status
from connectors.store.attempts import AttemptRecorder
from connectors.store.breaker import BreakerSettings, DatabaseBreaker
from connectors.store.merge import Loader
from connectors.store.message_log import MessageLog, export_anchors
from connectors.store.runs import RunCounts, RunPlan
from connectors.store.staging import BadRow, DeletedRow, GoodRow
from mappings import get_mapping
from mappings.compiler import Canonical, Outcome
from mappings.errors import FieldError
from onestop import privacy, progress, registry, settings
from onestop.chaos import failpoints
from onestop.db import connect
from onestop.embedded_db import database_url
from schemas import jsontext
from schemas.dossier import content_hash, dossier_uid
from schemas.personal_data import MESSAGE_CAP, mask_data, mask_text, quote_answer

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
        run_id = runs.create_run(conn, source.name, window, airflow_run_id)
        backfill = (airflow_run_id or "").startswith("backfill")
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
    with connect(url) as conn:
        run = runs.get_plan(conn, run_id, lock=True)
        source = registry.load().source(run.source)
        id_of = get_mapping(source.dialect, source.timezone).record_id
        privacy.citizen_id_key()  # read once, before any normalizing worker forks (they may not reach Airflow)
        recorder = AttemptRecorder(url, run_id)
        breaker = breaker_for(url, source.name)
        message_log = open_message_log(url)
        try:
            reader = open_source(source, recorder, breaker=breaker)
            _skipping(url, reader, source.name, run_id)
            runs.set_state(conn, run_id, "extracting")
            pages = 0
            acks: list[str] = []

            def pages_of_rows() -> Iterator[list[tuple]]:
                nonlocal pages
                bar, seq = progress.task(f"{source.name}: fetch + normalize"), 0
                for page in read_ahead(reader.pages(run.window_start, run.window_end)):
                    if not getattr(page, "continues", False):  # a big page's further chunks: the same page
                        pages += 1
                        if pages == 2:
                            failpoints.reached("mid_copy")  # the first page is already in the COPY stream
                    bar.advance(len(page))
                    ids = [staging_id(id_of, raw) for raw in page]
                    message_log.append(
                        source.name,
                        "in",
                        "page",
                        "\n".join(r.payload for r in page).encode(),
                        [i or "?" for i in ids],
                    )
                    rows = []
                    for raw, record_id in zip(page, ids, strict=True):
                        if raw.ack_id is not None:
                            acks.append(raw.ack_id)
                        # A JSON record is read once, by its page's reader; an XML one again from its text.
                        parsed = raw.record if raw.content_type == JSON else None
                        rows.append(
                            (seq, record_id, raw.content_type, raw.payload, defects_json(raw), parsed)
                        )
                        seq += 1
                    yield rows
                bar.done()

            staged = stage(conn, run_id, source, pages_of_rows())
            message_log.flush()  # every staged page logged before the staging commits
            client = getattr(reader, "client", None)
            runs.set_extracted(
                conn, run_id, pages=pages, ack_ids=acks, source_clock=getattr(client, "clock", None)
            )
            failpoints.reached("after_fetch")  # all fetched and staged, nothing committed
        finally:
            recorder.close()
            breaker.close()
            message_log.close()
    log.info("%s: run %s staged %s records from %s pages", source.name, run_id, staged, pages)
    return staged


def _error_class(reasons: list[str]) -> str:
    first = reasons[0].lower() if reasons else ""
    if "missing" in first or "required" in first:
        return "MissingField"
    if "date" in first or "time" in first:
        return "InvalidDate"
    if "code" in first or "unknown" in first:
        return "UnknownCode"
    return "InvalidValue"


def staging_id(id_of: Callable[[Any], Any], raw: RawRecord) -> str | None:
    """A record's id as staging keeps it: text PostgreSQL can hold, whatever the source put in it."""
    found = id_of(raw.record)
    return jsontext.visible(str(found)) if found is not None else None


def defects_json(raw: RawRecord) -> str | None:
    """What staging keeps of a record's defects: [{field, reason}], the whole record's SHA-256 when cut."""
    if not raw.defects:
        return None
    found: list[dict[str, str]] = [
        {"field": jsontext.visible(mask_text(d.field)), "reason": jsontext.visible(mask_text(d.reason))}
        for d in raw.defects
    ]
    if raw.sha256:
        found.append({"field": "(record)", "reason": "", "sha256": raw.sha256})
    return jsontext.dumps(found)


def _defect_outcome(mapping, record_id: str | None, defects: list[dict]) -> tuple[object, str | None]:
    """A record with defects: quarantined naming each field, before any mapping reads it."""
    errors = [FieldError(d["field"], d["field"], d["reason"]) for d in defects if d.get("reason")]
    digest = next((d["sha256"] for d in defects if d.get("sha256")), None)
    return Outcome(record_id, None, None, errors), digest


def payload_defects(payload: str, content_type: str) -> list[Defect]:
    """What a stored payload carries that quarantines it whatever its mapping says (a re-drive checks it again:
    a duplicate key or NaN does not go away by itself)."""
    if content_type != JSON:
        return []
    from connectors.jsonpage import read_record

    return read_record(payload)[1]


def parse_payload(payload: str, content_type: str) -> dict:
    """A staged record's text back into the dict its dialect's mapping reads."""
    if content_type == JSON:
        record = jsontext.loads(payload)
        if not isinstance(record, dict):
            raise ValueError("a record must be a JSON object")
        return record
    from connectors.safexml import parse_record
    from mappings import element_to_dict

    try:
        return element_to_dict(parse_record(payload))
    except Exception as exc:  # lxml's syntax errors, a refused DTD
        raise ValueError(str(exc)) from exc


def normalize_chunk(
    mapping, source: str, rows: list[tuple[int, str | None, str, str]]
) -> tuple[list[GoodRow], list[BadRow], list[DeletedRow]]:
    """Fetched rows (seq, record id, content type, payload[, defects JSON[, the record as parsed]]) → rows for
    the merge, the bad ones with every failing field, and announced deletions."""
    good, bad, deleted = [], [], []
    id_key = privacy.citizen_id_key()  # once per chunk, not per record
    id_hmac = hmac.new(id_key, b"cccd:", hashlib.sha256)  # privacy.citizen_id_hash's, keyed once
    for seq, staged_id, content_type, payload, *rest in rows:
        digest = None
        defects, parsed = [*rest, None, None][:2]
        if defects:  # defects found while reading the page: the mapping never sees this record
            record = None
            outcome, digest = _defect_outcome(mapping, staged_id, jsontext.loads(defects))
        elif parsed is not None:  # as its page's reader parsed it (the extract): not parsed twice
            record = parsed
        else:
            try:
                record = parse_payload(payload, content_type)
            except ValueError as exc:  # not JSON / not XML: quarantined like any bad record, never a crash
                record = None
                outcome = mapping.unreadable(f"payload is not {content_type}: {exc}")
        if record is not None and mapping.is_deleted(record):
            record_id = jsontext.visible(mapping.record_id(record) or staged_id or "")
            if record_id:
                deleted.append(DeletedRow(seq, dossier_uid(source, record_id), record_id))
                continue
            outcome = mapping.unreadable("a deletion without a record id")
        elif record is not None:
            outcome = mapping.canonical(record, source)
            if outcome.__class__ is Canonical:  # the one-pass path: no model object, JSON and hash made once
                good.append(_good_row(seq, source, outcome, id_hmac))
                continue
        d = outcome.dossier
        if d is not None:
            canonical = d.canonical_json()
            good.append(
                GoodRow(
                    seq=seq,
                    uid=dossier_uid(source, d.source_record_id),
                    source_record_id=d.source_record_id,
                    ma_ho_so=d.ma_ho_so,
                    content_hash=content_hash(canonical),
                    status=int(d.status),
                    received_at=d.received_at,
                    due_at=d.due_at,
                    finished_at=d.finished_at or d.returned_at,
                    procedure_code=d.procedure_code,
                    agency_code=d.agency_code,
                    district_code=d.district_code,
                    commune_code=d.commune_code,
                    applicant_id_hash=privacy.citizen_id_hash(d.applicant.id_number, id_key)
                    if d.applicant.id_number
                    else None,
                    source_updated_at=d.source_updated_at,
                    record=canonical,
                    flags=d.flags,
                )
            )
        else:
            payload_hash = digest or hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()
            record_id = jsontext.visible(outcome.record_id or staged_id or f"?{payload_hash[:16]}")
            errors = [asdict(e) for e in outcome.errors]
            for e in outcome.errors:
                log.info("quarantined: %s", e.describe(source, record_id))
            bad.append(
                BadRow(
                    seq=seq,
                    record_id=record_id,
                    # Reasons quote the raw values: personal data in them is masked like any log line.
                    errors=json.dumps(jsontext.storable(mask_data(errors)), ensure_ascii=False, default=str),
                    error_class=_error_class([e.reason for e in outcome.errors]),
                    payload=payload,
                    content_type=content_type,
                    payload_hash=payload_hash,
                    source_updated_at=outcome.source_updated_at,
                )
            )
    return good, bad, deleted


def _id_hash(id_hmac: Any, id_number: str) -> str:
    """privacy.citizen_id_hash(id_number, key), from an HMAC already keyed and fed the prefix (copied per record:
    the key is not prepared again each time)."""
    h = id_hmac.copy()
    h.update(id_number.encode())
    return h.hexdigest()


def _good_row(seq: int, source: str, c: Canonical, id_hmac: Any) -> GoodRow:
    """The merge's row of a record normalized in one pass: the same fields as from a Dossier (normalize_chunk)."""
    v = c.values
    record_id, id_number = v["source_record_id"], v["applicant"]["id_number"]
    return GoodRow(
        seq=seq,
        uid=dossier_uid(source, record_id),
        source_record_id=record_id,
        ma_ho_so=v["ma_ho_so"],
        content_hash=c.content_hash,
        status=int(v["status"]),
        received_at=v["received_at"],
        due_at=v["due_at"],
        finished_at=v["finished_at"] or v["returned_at"],
        procedure_code=v["procedure_code"],
        agency_code=v["agency_code"],
        district_code=v["district_code"],
        commune_code=v["commune_code"],
        applicant_id_hash=_id_hash(id_hmac, id_number) if id_number else None,
        source_updated_at=v["source_updated_at"],
        record=c.json,
        flags=v["flags"],
    )


def normalize_processes() -> int:
    """Processes that normalize a run's pages: ONESTOP_NORMALIZE_PROCESSES (0: this process itself), else one
    per core but one, up to 4 (a worker host runs several syncs at once).

    This process reads the pages and feeds the COPY meanwhile. On two cores, 97,194 records: one worker 37 s,
    none 44 s, two 39 s (they and the database share the cores); each worker holds another 75-130 MB (the pages
    of a forked Python process are copied as soon as it touches them)."""
    return int(os.environ.get("ONESTOP_NORMALIZE_PROCESSES", min((os.cpu_count() or 1) - 1, 4)))


def stage(conn: psycopg.Connection, run_id: int, source: SourceConfig, chunks: Iterator[list[tuple]]) -> int:
    """Normalize chunks of fetched rows (normalize_chunk's) and stage them for the run's load, in `conn`'s
    transaction (the extract's, a re-drive's). Returns records staged."""
    stager = staging.Stager(conn, run_id)

    def write(rows: list[tuple], chunk: tuple) -> None:
        stager.fetched((row[0], row[1], row[2], row[4] if len(row) > 4 else None) for row in rows)
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


def _normalize_in_worker(
    dialect: str, timezone: str | None, source: str, rows: list
) -> tuple[list, list, list]:
    return normalize_chunk(get_mapping(dialect, timezone), source, rows)


# A run's first this many records are normalized by this process: a small run never starts a worker (a fork of
# this process costs more than it saves), a large one starts them once it has seen that many.
PARALLEL_FROM = 10_000


def normalized(
    dialect: str, source: str, chunks: Iterator[list], processes: int, timezone: str | None = None
) -> Iterator[tuple[list, tuple]]:
    """(fetched rows, normalize_chunk's result) in order; with `processes`, past PARALLEL_FROM records the
    chunks are normalized by worker processes, a few chunks ahead, so that one slow chunk idles no other."""
    mapping, chunks, seen = get_mapping(dialect, timezone), iter(chunks), 0
    for rows in chunks:
        yield rows, normalize_chunk(mapping, source, rows)
        seen += len(rows)
        if processes >= 1 and seen >= PARALLEL_FROM:
            break
    else:
        return
    # fork: the workers start at once with this process's compiled mappings and imports (no re-import).
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
        pending: deque[tuple[list, Future]] = deque()
        for rows in chunks:
            # A worker parses the payload again (orjson): cheaper than pickling the parsed record to it.
            sent = [row[:5] for row in rows]
            pending.append((rows, pool.submit(_normalize_in_worker, dialect, timezone, source, sent)))
            if len(pending) > processes:
                rows, done = pending.popleft()
                yield rows, done.result()
        while pending:
            rows, done = pending.popleft()
            yield rows, done.result()


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
        if staging.staged_count(conn, run_id) is None:
            raise StagingLost(
                f"{source.name}: run {run_id} has no staged records (loaded already, purged, or its extract did"
                " not finish): its window is fetched again by the next run"
            )
        loader = Loader(conn, source.name, run_id, watermark_on=source.watermark_field)
        failpoints.reached("mid_load")
        counts = loader.finish()
        if counts.fetched != fetched:
            raise StagingLost(
                f"{source.name}: run {run_id} fetched {fetched} records but {counts.fetched} are staged (a database"
                " restart empties staging): nothing merged; its window is fetched again by the next run"
            )
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


@dataclass
class DeliveryCounts:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    resends: int = 0
    busy: bool = False  # another drainer holds the lock

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


def _portal(
    recorder: AttemptRecorder, db: psycopg.Connection, breaker: DatabaseBreaker
) -> tuple[PortalClient, registry.PortalConfig]:
    config = registry.load().portal
    conn = get_connection(config.conn_id)
    settings = HttpSettings(read_timeout=config.timeout_s)
    client = HttpClient("portal", conn.base_url, settings, on_failure=recorder, breaker=breaker)

    def on_answer(service: str, updating: bool | None, records: int, accepted: int) -> None:
        status.record_portal_call(db, service, updating, records, accepted)

    return PortalClient(conn, client, on_answer=on_answer), config


def _send(
    portal: PortalClient,
    batch: list[outbox.Delivery],
    message_log: MessageLog,
    resent: list[tuple[str, int]],
) -> tuple[list, list]:
    """Dossier records first, then their progress. Returns (delivered keys, (uid, version, code, msg) rejects);
    `resent` gets a key each time its record was posted again after a lost answer (even if the batch fails)."""
    accepted: list[outbox.Delivery] = []
    rejected: list[tuple[str, int, str, str]] = []
    todo = {False: [d for d in batch if not d.updating], True: [d for d in batch if d.updating]}
    for _round in range(2):  # "already exists" → send as an update; "not found" on update → create
        again: dict[bool, list[outbox.Delivery]] = {False: [], True: []}
        for updating, items in todo.items():
            if not items:
                continue
            records = [to_portal(d.record) for d in items]
            message_log.append(
                "portal",
                "out",
                "DongBoHoSoMC",
                jsontext.canonical(records).encode(),
                [d.ma_ho_so for d in items],
            )
            before = portal.resends
            try:
                results = portal.sync_dossiers(records, updating=updating)
            finally:
                resent += [(d.uid, d.version) for d in items] * (portal.resends - before)
            for item, result in zip(items, results, strict=True):
                if result.ok:
                    accepted.append(item)
                elif result.code in ("3", "-3") and not updating:
                    again[True].append(item)
                elif result.code == "-4" and updating:
                    again[False].append(item)
                else:
                    rejected.append((item.uid, item.version, result.code, result.message))
        todo = again
    for updating, items in todo.items():
        rejected += [
            (d.uid, d.version, "3" if updating else "-4", "portal kept refusing create/update") for d in items
        ]
    progress_rows = [row for d in accepted for row in to_progress(d.record)]
    refused_progress: dict[str, tuple[str, str]] = {}
    try:
        for start in range(0, len(progress_rows), 500):
            chunk = progress_rows[start : start + 500]
            message_log.append(
                "portal",
                "out",
                "CapNhatTienDoHoSoMC",
                jsontext.canonical(chunk).encode(),
                sorted({r["MaHoSo"] for r in chunk}),
            )
            for row, result in zip(chunk, portal.update_progress(chunk), strict=True):
                if not result.ok:
                    refused_progress.setdefault(row["MaHoSo"], (result.code, f"progress: {result.message}"))
    except ConnectorError:  # the portal holds these records already: sending them again is a resend
        resent += [(d.uid, d.version) for d in accepted]
        raise
    delivered = []
    for d in accepted:
        if d.ma_ho_so in refused_progress:
            code, message = refused_progress[d.ma_ho_so]
            rejected.append((d.uid, d.version, code, message))
        else:
            delivered.append((d.uid, d.version))
    return delivered, rejected


def breaker_for(url: str, endpoint: str) -> DatabaseBreaker:
    b = registry.load().breakers
    return DatabaseBreaker(url, endpoint, BreakerSettings(b.threshold, b.cooldown, b.max_cooldown))


def log_key() -> bytes | None:
    """The message log's HMAC key: the password of Airflow connection `onestop_message_log`, when defined."""
    try:
        secret = get_connection("onestop_message_log").password
    except ConfigError:
        return None
    return secret.encode() if secret else None


def anchor_file() -> Path:
    return Path(os.environ.get("ONESTOP_LOG_ANCHORS", settings.var_dir() / "message_log" / "anchors.jsonl"))


def archive_dir() -> Path:
    """Where `onestop purge` moves message-log entries past their retention (gzipped JSON lines)."""
    return Path(os.environ.get("ONESTOP_LOG_ARCHIVE", anchor_file().parent / "archive"))


def open_message_log(url: str) -> MessageLog:
    return MessageLog(url, log_key())


def deliver(limit: int | None = None) -> DeliveryCounts:
    """Drain the outbox to the portal in batches; every answer is committed as it comes."""
    url = database_url()
    counts = DeliveryCounts()
    recorder = AttemptRecorder(url)
    breaker = breaker_for(url, "portal")
    message_log = open_message_log(url)
    with connect(url, autocommit=True) as conn:
        if not outbox.try_lock(conn):
            counts.busy = True
            return counts
        try:
            portal, config = _portal(recorder, conn, breaker)
            counts.resends = outbox.recover_lost_answers(conn)
            bar = progress.task("portal: deliver")
            while limit is None or counts.sent < limit:
                breaker.before()  # the portal's breaker is open: fail fast, claim nothing
                with conn.transaction():
                    batch = outbox.claim(conn, config.batch_size)
                if not batch:
                    break
                counts.sent += len(batch)
                resent: list[tuple[str, int]] = []
                try:
                    delivered, rejected = _send(portal, batch, message_log, resent)
                except ConnectorError as exc:
                    with conn.transaction():
                        outbox.count_resends(conn, resent)
                        outbox.mark_failed(
                            conn,
                            [(d.uid, d.version, exc.error_class, str(exc)) for d in batch],
                            max_attempts=config.max_attempts,
                            retry=True,
                            backoff=config.retry_backoff,
                        )
                    counts.failed += len(batch)
                    counts.resends += len(resent)
                    log.error("portal: delivery stopped: %s", exc)
                    raise
                failpoints.reached("after_post")  # answers in hand, not yet committed
                message_log.flush()  # what was sent is logged before its answers commit
                with conn.transaction():
                    outbox.mark_delivered(conn, delivered)
                    outbox.mark_failed(conn, rejected, max_attempts=config.max_attempts, retry=False)
                    outbox.count_resends(conn, resent)
                counts.resends += len(resent)
                counts.delivered += len(delivered)
                counts.failed += len(rejected)
                bar.advance(len(batch))
            bar.done()
            message_log.flush()
            export_anchors(conn, anchor_file())  # the chains' heads, outside the database
        finally:
            outbox.unlock(conn)
            recorder.close()
            breaker.close()
            message_log.close()
    log.info("portal: %s", counts.as_dict())
    return counts
