"""Delivery to the National Public Service Portal: the outbox drained in batches, each answer committed as
it comes (records first, then their progress rows; refusals become failed deliveries with the portal's code).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import psycopg

from connectors.connection import get_connection, tls_context, transport_options
from connectors.errors import ConnectorError
from connectors.http import HttpClient, HttpSettings
from connectors.portal import PortalClient, to_portal, to_progress
from connectors.store import outbox, status
from connectors.store.attempts import AttemptRecorder
from connectors.store.breaker import DatabaseBreaker
from connectors.store.message_log import MessageLog, export_anchors
from onestop import progress, registry
from onestop.db import connect
from onestop.embedded_db import database_url
from onestop.pipeline import failpoints
from onestop.pipeline.safeguards import anchor_file, breaker_for, open_message_log
from schemas import jsontext

log = logging.getLogger(__name__)


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
    settings = HttpSettings(read_timeout=config.timeout_s, answer_timeout=config.answer_timeout_s)
    client = HttpClient(
        "portal",
        conn.base_url,
        settings,
        on_failure=recorder,
        breaker=breaker,
        transport=transport_options(conn),  # the province's proxy to the internet, its CA, mutual TLS
        ssl_context=tls_context(conn),
    )

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
