"""Change feeds (sector systems through the provincial integration platform, LGSP): leased batches that come
again unless acknowledged, deletions included.

A feed keeps its own cursor (what is not yet acknowledged), so the run's window is ignored. Each fetched
event becomes a RawRecord carrying its ack id; the pipeline acknowledges them only after the load has
committed, so a crash in between means the events come again (at-least-once; the merge makes it exactly-once).

Leases run out: a run stops reading once half of its first lease has gone (READ_SHARE), leaving the rest
for the load and the acknowledgement. Reading on would make the feed hand this run its own expired events
again, and every acknowledgement for them would be refused.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from connectors.auth import Authenticator
from connectors.base import JSON, RawRecord
from connectors.connection import Connection
from connectors.errors import ProtocolError
from connectors.http import HttpClient
from connectors.spec.legacy import FeedSpec

ACK_CHUNK = 1000  # ack ids per call: bounded request bodies, whatever the run's size
READ_SHARE = 0.5  # of the lease a run may spend reading
UPSERT, DELETE = "upsert", "delete"

log = logging.getLogger(__name__)


def to_record(event: dict[str, Any]) -> dict[str, Any]:
    """The record a mapping reads: an upsert's record plus `_op`; a deletion as {Id, _op, _occurredAt}.

    An event of another shape is kept whole (under `_event`) so that it is quarantined with its payload,
    visible to administrators, instead of vanishing.
    """
    op, record = event.get("op"), event.get("record")
    if op == UPSERT and isinstance(record, dict):
        return {**record, "_op": UPSERT}
    if op == DELETE and event.get("id") is not None:
        return {"Id": event["id"], "_op": DELETE, "_occurredAt": event.get("occurredAt")}
    return {"_op": str(op), "_event": event}


class FeedSource:
    """Reads a change feed batch by batch; acknowledges what the pipeline has committed."""

    def __init__(self, name: str, spec: FeedSpec, conn: Connection, client: HttpClient) -> None:
        self.name, self.spec, self.client = name, spec, client
        self.authenticator = Authenticator(spec.auth, conn, client)
        self.acked = 0  # acknowledgements the feed accepted, since this object was made
        self.ack_ignored = 0  # ... and refused (an expired lease: those events come again)

    def _post(self, path: str, operation: str, **kwargs: Any) -> Any:
        return self.authenticator.request_json("POST", path, operation=operation, **kwargs)

    def _fetch(self, limit: int) -> tuple[list[Any], float | None]:
        """(events, lease seconds when the feed says)."""
        answer = self._post(self.spec.fetch, "fetch", params={"max": limit})
        events = answer.get("events") if isinstance(answer, dict) else None
        if not isinstance(events, list):
            raise ProtocolError(self.name, f"fetch: the answer has no list of events: {str(answer)[:200]}")
        lease = answer.get("lease_seconds")
        ok = isinstance(lease, int | float) and not isinstance(lease, bool) and lease > 0
        return events, float(lease) if ok else None

    def probe(self) -> str:
        """An authenticated fetch of zero events: proves URL and key, and leases nothing."""
        self._fetch(0)
        return f"{self.name}: authenticated, the change feed answers"

    def pages(self, window_start: datetime | None, window_end: datetime | None) -> Iterator[list[RawRecord]]:
        """Batches until the feed has nothing unleased left, max_batches, or READ_SHARE of the first lease
        has gone (the rest waits for the next run)."""
        started, deadline = time.monotonic(), None
        for batch in range(self.spec.max_batches):
            if deadline is not None and time.monotonic() >= deadline:
                log.info(
                    "%s: stopped reading after %d batches: the first lease is half over", self.name, batch
                )
                return
            events, lease = self._fetch(self.spec.batch_size)
            if not events:
                return
            if deadline is None and lease is not None:
                deadline = started + lease * READ_SHARE
            page = []
            for event in events:
                if not isinstance(event, dict):
                    raise ProtocolError(self.name, f"fetch: an event is not an object: {str(event)[:200]}")
                record = to_record(event)
                ack_id = event.get("ack_id")
                page.append(
                    RawRecord(
                        record,
                        json.dumps(record, ensure_ascii=False),
                        JSON,
                        ack_id=str(ack_id) if ack_id is not None else None,
                    )
                )
            yield page

    def acknowledge(self, ack_ids: list[str]) -> None:
        """Acknowledge committed events, ACK_CHUNK ids per call. Acking twice is harmless, so calls are retried."""
        ignored = 0
        for start in range(0, len(ack_ids), ACK_CHUNK):
            chunk = ack_ids[start : start + ACK_CHUNK]
            answer = self._post(self.spec.ack, "ack", json={"ack_ids": chunk})
            acked = answer.get("acked") if isinstance(answer, dict) else None
            if not isinstance(acked, int):
                raise ProtocolError(self.name, f"ack: the answer has no count `acked`: {str(answer)[:200]}")
            self.acked += acked
            ignored += len(chunk) - acked
        self.ack_ignored += ignored
        if ignored:
            log.warning(
                "%s: the feed refused %d of %d acknowledgements (leases expired?): those events will come again",
                self.name,
                ignored,
                len(ack_ids),
            )
