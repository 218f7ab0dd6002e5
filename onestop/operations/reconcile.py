"""Reconciliation: for one source and one Asia/Ho_Chi_Minh day, the source's records, the unified database's
and the portal's acknowledged versions, compared by count and content checksum; each difference becomes an
actionable mismatch row (`onestop redrive` repairs what a re-sync or a resend can repair).

The source is read again for that day through its own connector (pages, never the whole day at once in a page),
normalized with its mapping, and hashed exactly as the pipeline hashes what it loads. A change feed cannot be
re-read by day: for feeds only the database and the portal are compared.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from connectors.factory import open_source
from connectors.spec.source import SourceConfig
from connectors.store import reconcile as store
from connectors.store.attempts import AttemptRecorder
from connectors.store.reconcile import Held, Mismatch, checksum
from mappings import get_mapping
from onestop import pipeline, registry
from onestop.db import connect
from onestop.embedded_db import database_url
from schemas.dossier import HCM

log = logging.getLogger(__name__)
_CHUNK = 500


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[00:00, next 00:00) of an Asia/Ho_Chi_Minh day, in UTC."""
    start = datetime.combine(day, time(), HCM)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def yesterday(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(HCM).date() - timedelta(days=1)


@dataclass
class SourceDay:
    """What one source holds for the day: content hash per dossier, and how many records its mapping refuses."""

    hashes: dict[str, tuple[str, str]] = field(default_factory=dict)  # uid -> (record id, content hash)
    bad: int = 0


@dataclass
class Report:
    day: date
    source: str
    source_count: int | None
    source_bad: int | None
    source_checksum: str | None
    db_count: int
    db_checksum: str
    portal_count: int
    portal_checksum: str
    mismatches: list[Mismatch]
    note: str | None = None

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def figures(self) -> dict:
        d = asdict(self)
        d.pop("mismatches"), d.pop("day"), d.pop("source"), d.pop("note")
        return d

    def as_dict(self) -> dict:
        return {**asdict(self), "day": self.day.isoformat(), "ok": self.ok}


def read_source_day(source: SourceConfig, start: datetime, end: datetime) -> SourceDay:
    """The source's records for [start, end), normalized and hashed as a load would."""
    url = database_url()
    mapping = get_mapping(source.dialect, source.timezone)
    by_received = source.watermark_field == "received"
    found = SourceDay()
    recorder, breaker = AttemptRecorder(url), pipeline.breaker_for(url, source.name)
    message_log = pipeline.open_message_log(url)
    try:
        reader = open_source(source, recorder, breaker=breaker)
        for page in reader.pages(start, end):
            ids = [mapping.record_id(raw.record) for raw in page]
            pipeline.log_page(message_log, source.name, "reconcile", [r.payload for r in page], ids)
            rows = [
                (n, i, raw.content_type, raw.payload)
                for n, (i, raw) in enumerate(zip(ids, page, strict=True))
            ]
            good, bad, _deleted = pipeline.normalize_chunk(mapping, source.name, rows)
            found.bad += len(bad)
            for g in good:
                at = g.received_at if by_received else g.source_updated_at
                if at is not None and start <= at < end:  # a window's ends may be inclusive at the source
                    found.hashes[g.uid] = (g.source_record_id, g.content_hash)
    finally:
        recorder.close()
        breaker.close()
        message_log.close()
    return found


def _portal_mismatches(held: dict[str, Held]) -> list[Mismatch]:
    out = []
    for h in held.values():
        if not h.live or h.delivered_hash == h.content_hash:
            continue
        kind = "not_at_portal" if h.delivered_hash is None else "behind_at_portal"
        detail = (
            f"version {h.version} not acknowledged by the portal (outbox: {h.outbox_state or 'no row'})"
            if kind == "not_at_portal"
            else f"the portal acknowledged an older content; version {h.version} is {h.outbox_state or 'not queued'}"
        )
        out.append(Mismatch(kind, h.record_id, h.uid, h.ma_ho_so, detail))
    return out


def compare(at_source: SourceDay | None, held: dict[str, Held], elsewhere: dict[str, Held]) -> list[Mismatch]:
    """Mismatches of one source-day. `elsewhere`: dossiers the source lists on this day that the database files
    under another day (an older version) or not at all."""
    out: list[Mismatch] = []
    if at_source is not None:
        for uid, (record_id, content_hash) in at_source.hashes.items():
            h = held.get(uid) or elsewhere.get(uid)
            if h is None:
                out.append(
                    Mismatch("missing_in_db", record_id, uid, None, "at the source, not in the database")
                )
            elif h.content_hash != content_hash:
                out.append(
                    Mismatch(
                        "differs_in_db",
                        record_id,
                        uid,
                        h.ma_ho_so,
                        f"database holds version {h.version} with other content",
                    )
                )
        for uid, h in held.items():
            if uid not in at_source.hashes:
                out.append(
                    Mismatch(
                        "extra_in_db",
                        h.record_id,
                        uid,
                        h.ma_ho_so,
                        "in the database for this day, not listed by the source (changed since, or removed there)",
                    )
                )
    return out + _portal_mismatches(held)


def reconcile_source_day(source: SourceConfig, day: date) -> Report:
    start, end = day_bounds(day)
    at_source = None if source.kind == "feed" else read_source_day(source, start, end)
    with connect() as conn:
        held = store.held_on_day(conn, source.name, source.watermark_field, start, end)
        missing = [uid for uid in (at_source.hashes if at_source else {}) if uid not in held]
        elsewhere = store.held_by_uid(conn, missing)
        mismatches = compare(at_source, held, elsewhere)
        db_count, db_sum = checksum((u, h.content_hash) for u, h in held.items())
        portal_count, portal_sum = checksum(
            (u, h.delivered_hash) for u, h in held.items() if h.live and h.delivered_hash
        )
        src_count, src_sum = (
            checksum((u, v[1]) for u, v in at_source.hashes.items()) if at_source else (None, None)
        )
        report = Report(
            day=day,
            source=source.name,
            source_count=src_count,
            source_bad=at_source.bad if at_source else None,
            source_checksum=src_sum,
            db_count=db_count,
            db_checksum=db_sum,
            portal_count=portal_count,
            portal_checksum=portal_sum,
            mismatches=mismatches,
            note="a change feed cannot be re-read by day: database and portal only"
            if at_source is None
            else None,
        )
        store.store(
            conn,
            day=day,
            source=source.name,
            figures=report.figures(),
            mismatches=mismatches,
            note=report.note,
        )
    log.info(
        "reconcile %s %s: source %s, database %s, portal %s, %s mismatches",
        source.name, day, src_count, db_count, portal_count, len(mismatches),
    )  # fmt: skip
    return report


def reconcile(day: date | None = None, sources: list[str] | None = None) -> list[Report]:
    """Every registered source (or the named ones) for one day (default: yesterday, Asia/Ho_Chi_Minh)."""
    day = day or yesterday()
    config = registry.load()
    names = sources or [s.name for s in config.sources]
    return [reconcile_source_day(config.source(name), day) for name in names]
