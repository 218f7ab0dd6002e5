"""Fetched records → the merge's rows: each record through its dialect's compiled mapping in one pass (the
canonical record, its JSON and hash), the bad ones with every failing field, announced deletions apart;
past PARALLEL_FROM records, in worker processes.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import json
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict
from itertools import chain
from typing import Any

from connectors.base import DETAIL_FIELD, JSON, Defect, RawRecord, capped
from connectors.store.staging import BadRow, CopyRows, DeletedRow, GoodRow, copy_rows
from mappings import get_mapping
from mappings.compiler import Canonical, Outcome
from mappings.errors import FieldError
from onestop import privacy
from schemas import jsontext
from schemas.dossier import content_hash, dossier_uid
from schemas.personal_data import mask_data, mask_text

log = logging.getLogger(__name__)


def _error_class(errors: list[Any]) -> str:
    """The class a quarantined record is filed under (the console's filter, `onestop redrive --error-class`), by its
    first error."""
    if errors and errors[0].field == DETAIL_FIELD:
        return "DetailUnread"  # its detail call failed: a re-drive calls it again
    first = errors[0].reason.lower() if errors else ""
    if "missing" in first or "required" in first:
        return "MissingField"
    if "date" in first or "time" in first:
        return "InvalidDate"
    if "code" in first or "unknown" in first:
        return "UnknownCode"
    return "InvalidValue"


def payload_digest(payload: str) -> str:
    """A stored payload's SHA-256, as its quarantine row keys it (lone surrogates included)."""
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def staging_id(id_of: Callable[[Any], Any], raw: RawRecord) -> str | None:
    """A record's id as staging keeps it: text PostgreSQL can hold, whatever the source put in it."""
    found = id_of(raw.record)
    if found is None:
        found = raw.record_id
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


# In a fetched row's defects place: its page's reader left the record unparsed (connectors.jsonpage's
# PageReader.unparsed, which did so only for a page without a run of 19 digits); read_rows reads it, and only
# then are its id and defects known.
UNREAD = "(unread)"


def read_rows(mapping, rows: list[tuple]) -> list[tuple]:
    """Fetched rows with each unread record read as its page's reader would have read it
    (connectors.jsonpage.read_text): its id, its defects and the record as parsed in their places."""
    from connectors.jsonpage import read_text

    read = []
    for row in rows:
        if len(row) > 4 and row[4] == UNREAD:
            raw = read_text(row[3], digits_checked=True)
            row = (
                row[0],
                staging_id(mapping.record_id, raw),
                row[2],
                raw.payload,
                defects_json(raw),
                raw.record,
            )
        read.append(row)
    return read


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
    for row in rows:
        seq, staged_id, content_type, payload = row[0], row[1], row[2], row[3]
        defects, parsed = (row[4] if len(row) > 4 else None), (row[5] if len(row) > 5 else None)
        digest = None
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
            outcome = mapping.canonical(record, source, deletion_checked=True)
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
                    record=canonical.encode(),
                    flags=d.flags,
                )
            )
        else:
            payload_hash = digest or payload_digest(payload)
            record_id = jsontext.visible(outcome.record_id or staged_id or f"?{payload_hash[:16]}")
            # a record with 10,000 failing history events: 50 listed, the rest counted
            failing = capped(outcome.errors, lambda n: FieldError("(record)", None, n))
            errors = [asdict(e) for e in failing]
            for e in failing:
                log.info("quarantined: %s", e.describe(source, record_id))
            bad.append(
                BadRow(
                    seq=seq,
                    record_id=record_id,
                    # Reasons quote the raw values: personal data in them is masked like any log line.
                    errors=json.dumps(jsontext.storable(mask_data(errors)), ensure_ascii=False, default=str),
                    error_class=_error_class(outcome.errors),
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
    return GoodRow(  # positional: the columns' order (staging.GoodRow)
        seq,
        dossier_uid(source, record_id),
        record_id,
        v["ma_ho_so"],
        c.content_hash,
        int(v["status"]),
        v["received_at"],
        v["due_at"],
        v["finished_at"] or v["returned_at"],
        v["procedure_code"],
        v["agency_code"],
        v["district_code"],
        v["commune_code"],
        _id_hash(id_hmac, id_number) if id_number else None,
        v["source_updated_at"],
        c.data,
        v["flags"],
    )


@contextmanager
def few_collections() -> Iterator[None]:
    """The collector while many records are normalized (an extract; the bench's normalize stage). Millions of
    parsed records are made and dropped, none in a reference cycle (reference counting frees them); at the default
    threshold (700 allocations) the collector ran every few records and walked what the process holds: ~60 µs a
    record, a third of the reading process's time (200,000 records on 2 cores: 67 → 58 s). Meanwhile objects
    alive at the start are frozen (never walked again; a forked worker shares their pages too) and the youngest
    generation is collected every 50,000 allocations."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def normalize_processes() -> int:
    """Processes that read and normalize a run's records: ONESTOP_NORMALIZE_PROCESSES (0: this process itself),
    else one per core, up to 4 (a worker host runs several syncs at once); none on one core.

    This process only splits the pages into their records' texts (a JSON page: jsonpage.PageReader.unparsed)
    and feeds the COPY meanwhile. On two cores, 200,000 records: two workers 27-29 s, one 35-37 s (when this
    process still parsed every record, two were no faster than one: it was the bottleneck); each worker holds
    another 75-130 MB (the pages of a forked Python process are copied as soon as it touches them)."""
    cores = os.cpu_count() or 1
    return int(os.environ.get("ONESTOP_NORMALIZE_PROCESSES", min(cores, 4) if cores > 1 else 0))


def _normalize_in_worker(
    dialect: str, timezone: str | None, source: str, rows: list
) -> tuple[list[tuple[str | None, str | None]], tuple[CopyRows, list, list]]:
    """Each row's (record id, defects) once read (read_rows), and normalize_chunk's result with the good rows
    already in COPY's format: bytes cross back, not objects."""
    mapping = get_mapping(dialect, timezone)
    rows = read_rows(mapping, rows)
    good, bad, deleted = normalize_chunk(mapping, source, rows)
    return [(row[1], row[4]) for row in rows], (copy_rows("good", good), bad, deleted)


def _with_read(rows: list[tuple], read: list[tuple[str | None, str | None]]) -> list[tuple]:
    """Fetched rows with the ids and defects a worker read (_normalize_in_worker)."""
    return [(row[0], i, row[2], row[3], d) for row, (i, d) in zip(rows, read, strict=True)]


# A run's first this many records are normalized by this process: a small run never starts a worker (a fork of
# this process costs more than it saves), a large one starts them once it has seen that many.
PARALLEL_FROM = 10_000


def normalized(
    dialect: str, source: str, chunks: Iterator[list], processes: int, timezone: str | None = None
) -> Iterator[tuple[list, tuple]]:
    """(fetched rows, each unread record read (read_rows); normalize_chunk's result) in order; with `processes`,
    past PARALLEL_FROM records the chunks are read and normalized by worker processes, a few chunks ahead, so
    that one slow chunk idles no other (their good rows come back formatted for the COPY: staging.CopyRows)."""
    mapping, chunks, seen = get_mapping(dialect, timezone), iter(chunks), 0
    for rows in chunks:
        rows = read_rows(mapping, rows)
        yield rows, normalize_chunk(mapping, source, rows)
        seen += len(rows)
        if processes >= 1 and seen >= PARALLEL_FROM:
            break
    else:
        return
    rest = next(chunks, None)
    if rest is None:  # the run ended right there: no worker for nothing
        return
    # fork: the workers start at once with this process's compiled mappings and imports (no re-import).
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
        pending: deque[tuple[list, Future]] = deque()
        for rows in chain([rest], chunks):
            # A worker parses the payload (again, when this process did): cheaper than pickling a parsed record.
            sent = [row[:5] for row in rows]
            pending.append((rows, pool.submit(_normalize_in_worker, dialect, timezone, source, sent)))
            if len(pending) > processes:
                rows, done = pending.popleft()
                read, result = done.result()
                yield _with_read(rows, read), result
        while pending:
            rows, done = pending.popleft()
            read, result = done.result()
            yield _with_read(rows, read), result
