"""Change feeds, declared in the registry (connectors.spec.feed): leased batches that come again unless
acknowledged, deletions included.

A feed keeps its own cursor (what is not yet acknowledged), so the run's window is ignored. Each item is staged
as served but for its ack id, which travels beside it (with its batch's id, as JSON text: the id keeps its type,
a number stays a number); the pipeline acknowledges them only after the load has committed, so a crash in between means the
items come again (at-least-once; the merge makes it exactly-once).

Leases run out: a run stops reading once half of its first lease has gone (READ_SHARE), leaving the rest for
the load and the acknowledgement. Reading on would make the feed hand this run its own expired items again, and
every acknowledgement for them would be refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from connectors.auth import Authenticator
from connectors.base import JSON, RawRecord
from connectors.connection import Connection
from connectors.detail import DetailReader, rest_fetch
from connectors.errors import ProtocolError
from connectors.http import Answer, HttpClient
from connectors.jsonpage import PageReader
from connectors.paging import check_errors
from connectors.spec.common import get_path
from connectors.spec.feed import FeedSpec
from connectors.spec.request import RequestSpec
from schemas import jsontext
from schemas.personal_data import quote_answer

ACK_CHUNK = 1000  # ack ids per call (ack_per: chunk): bounded request bodies, whatever the run's size
READ_SHARE = 0.5  # of the lease a run may spend reading
CONFLICT = (
    409  # an ack refused because the lease ended or it was acknowledged already: those items come again
)

log = logging.getLogger(__name__)


def ack_token(batch_id: Any, ack_id: Any) -> str:
    """What the pipeline keeps until the load commits (sync_run.ack_ids, text)."""
    return json.dumps([batch_id, ack_id], ensure_ascii=False)


def _untoken(text: str) -> tuple[Any, Any]:
    try:
        batch_id, ack_id = json.loads(text)
    except (ValueError, TypeError):  # an id kept before ack tokens existed: the id alone
        return None, text
    return batch_id, ack_id


class FeedNotPeekable(ProtocolError):
    """The feed declares no peek: looking would take a lease and delay the real sync."""


class FeedSource:
    """Reads a change feed batch by batch; acknowledges what the pipeline has committed."""

    def __init__(self, name: str, spec: FeedSpec, conn: Connection, client: HttpClient) -> None:
        self.name, self.spec, self.client = name, spec, client
        self.authenticator = Authenticator(spec.auth, conn, client, check=self.check)
        # Each item's detail call (`detail`): the dossier a change event names.
        self.details = (
            DetailReader(name, spec.detail, rest_fetch(name, spec.detail, client, self.authenticator, None))
            if spec.detail is not None
            else None
        )
        self.acked = 0  # acknowledgements the feed accepted, since this object was made
        self.ack_ignored = 0  # ... and refused (an expired lease: those items come again)

    def check(self, operation: str, document: Any) -> None:
        check_errors(self.name, self.spec.errors, operation, document)

    def _call(self, request: RequestSpec, values: dict[str, Any], operation: str) -> Any:
        method, path, kwargs = request.rendered(values)
        answer = self.authenticator.request_json(method, path or request.path, operation=operation, **kwargs)
        self.check(operation, answer)
        return answer

    def _call_items(
        self, request: RequestSpec, values: dict[str, Any], operation: str, path: str
    ) -> tuple[Any, list[RawRecord]]:
        """A call whose answer holds items: the answer, and its items read one by one as sent
        (connectors.jsonpage: what one item carries costs that item only)."""
        method, path_, kwargs = request.rendered(values)
        reader = PageReader(self.name, path)

        def read(answer: Answer) -> tuple[Any, list[RawRecord] | None]:
            answer = self.authenticator.vet(operation, answer)  # the login form instead: the session ended
            return reader.read(answer.body, operation, answer.other_charset)

        document, items = self.authenticator.renewing(
            lambda: self.client.call(
                method,
                path_ or request.path,
                operation=operation,
                read=read,
                **self.authenticator.apply(dict(kwargs)),
            )
        )
        self.check(operation, document)
        if items is None:
            raise ProtocolError(
                self.name,
                f"{operation}: no list of items at {path!r}: {quote_answer(jsontext.dumps(document), 512)}",
            )
        return document, items

    def _position(self) -> Any:
        """Where the feed says this consumer stands (`position`: {after} of the first fetch), else None."""
        if self.spec.position is None:
            return None
        return get_path(self._call(self.spec.position.request, {}, "position"), self.spec.position.path)

    def _fetch(self, size: int, after: Any = None) -> tuple[list[Any], Any, float | None]:
        """(items, the batch's id, the lease in seconds when known)."""
        spec = self.spec
        lease_asked = spec.lease.total_seconds() if spec.lease else None
        values = {"batch_size": size, "lease": int(lease_asked) if lease_asked else None, "after": after}
        answer, items = self._call_items(spec.fetch, values, "fetch", spec.items)
        batch_id = get_path(answer, spec.batch_id) if spec.batch_id else None
        lease = get_path(answer, spec.lease_path) if spec.lease_path else lease_asked
        ok = isinstance(lease, int | float) and not isinstance(lease, bool) and lease > 0
        return items, batch_id, float(lease) if ok else None

    def _raw(self, item: RawRecord, batch_id: Any) -> RawRecord:
        record = (
            item.record
        )  # an item that is not an object is quarantined (its defect says so), never dropped
        ack_id = get_path(record, self.spec.ack_id)
        if self.spec.ack_id not in record:
            return replace(item, ack_id=ack_token(batch_id, ack_id) if ack_id is not None else None)
        # Delivery metadata (many feeds hand out a new ack id with each lease): kept beside the record, not in it,
        # so that an item delivered again is the same record (the same staged text, quarantine row, hash). An
        # item with defects keeps its text as sent (what is wrong stays visible), hashed without its ack id.
        record = {k: v for k, v in record.items() if k != self.spec.ack_id}
        text = jsontext.dumps(record)
        token = ack_token(batch_id, ack_id) if ack_id is not None else None
        if not item.defects:
            return RawRecord(record, text, JSON, ack_id=token)
        digest = item.sha256 or hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return replace(item, record=record, ack_id=token, sha256=digest)

    def _detailed(self, items: list[RawRecord]) -> list[RawRecord]:
        return self.details.read(items) if self.details is not None else items

    # --- the Source protocol ----------------------------------------------------------------------------------

    def peek(self, size: int | None = None) -> Iterator[list[RawRecord]]:
        """The next items without leasing them (preview), or FeedNotPeekable."""
        if self.spec.peek is None:
            raise FeedNotPeekable(
                self.name,
                "this feed declares no `peek` call: a preview would lease a batch and delay the real sync, "
                "so none is taken",
            )
        values = {"batch_size": size or self.spec.batch_size}
        _, items = self._call_items(self.spec.peek.request, values, "peek", self.spec.peek.items)
        yield self._detailed([self._raw(item, None) for item in items])

    def probe(self) -> str:
        """A peek where the feed offers one, else a fetch of zero items: proves the URL and the credentials, and
        leases nothing."""
        if self.spec.peek is not None:
            items = next(self.peek(1))
            return f"{self.name}: authenticated, the change feed answers ({len(items)} item(s) waiting)"
        self._fetch(0, self._position())
        return f"{self.name}: authenticated, the change feed answers"

    def pages(self, window_start: datetime | None, window_end: datetime | None) -> Iterator[list[RawRecord]]:
        """Batches until the feed has nothing unleased left, max_batches, or READ_SHARE of the first lease
        has gone (the rest waits for the next run)."""
        started, deadline = time.monotonic(), None
        after = self._position()  # {after}: a feed without leases is read on from the last item fetched
        for batch in range(self.spec.max_batches):
            if deadline is not None and time.monotonic() >= deadline:
                log.info(
                    "%s: stopped reading after %d batches: the first lease is half over", self.name, batch
                )
                return
            items, batch_id, lease = self._fetch(self.spec.batch_size, after)
            if not items:
                return
            if deadline is None and lease is not None:
                deadline = started + lease * READ_SHARE
            raws = [self._raw(item, batch_id) for item in items]
            if self.spec.position is not None:
                ids = [_untoken(raw.ack_id)[1] for raw in raws if raw.ack_id is not None]
                if not ids or ids[-1] == after:
                    raise ProtocolError(
                        self.name,
                        f"fetch: the feed answered after {after!r} with no item past it (no ack id at "
                        f"{self.spec.ack_id!r}?): reading on would fetch the same items again",
                    )
                after = ids[-1]
            yield self._detailed(raws)

    def acknowledge(self, ack_ids: list[str]) -> None:
        """Acknowledge committed items: one call per batch (ack_per: batch) or per ACK_CHUNK ids. Acking twice is
        harmless, so calls are retried."""
        groups: dict[Any, list[Any]] = {}
        for token in ack_ids:
            batch_id, ack_id = _untoken(token)
            groups.setdefault(batch_id if self.spec.ack_per == "batch" else None, []).append(ack_id)
        calls = [
            (batch_id, ids[start : start + ACK_CHUNK] if self.spec.ack_per == "chunk" else ids)
            for batch_id, ids in groups.items()
            for start in (range(0, len(ids), ACK_CHUNK) if self.spec.ack_per == "chunk" else (0,))
        ]
        ignored = 0
        for batch_id, ids in calls:
            accepted = self._ack(batch_id, ids)
            self.acked += accepted
            ignored += len(ids) - accepted
        self.ack_ignored += ignored
        if ignored:
            log.warning(
                "%s: the feed refused %d of %d acknowledgements (leases expired?): those items will come again",
                self.name,
                ignored,
                len(ack_ids),
            )

    def _ack(self, batch_id: Any, ids: list[Any]) -> int:
        try:
            values = {"ack_ids": ids, "batch_id": batch_id, "last_ack_id": ids[-1] if ids else None}
            answer = self._call(self.spec.ack, values, "ack")
        except ProtocolError as exc:
            if exc.http_status == CONFLICT:
                log.warning("%s: %s", self.name, exc)
                return 0
            raise
        if self.spec.acked_path is None:
            return len(ids)
        accepted = get_path(answer, self.spec.acked_path)
        if not isinstance(accepted, int) or isinstance(accepted, bool):
            raise ProtocolError(
                self.name,
                f"ack: no count at {self.spec.acked_path!r}: {quote_answer(jsontext.dumps(answer), 512)}",
            )
        return accepted
