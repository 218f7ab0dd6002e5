"""Thành phố Chí Linh's one-stop system: its transactional outbox, read over REST (commit-offset style).

Contract ("API đọc bảng outbox", v1):
  Every call: header X-Api-Key. Wrong or missing: 401 {"error": "invalid_api_key", "message": REFUSAL}.
  GET /api/outbox/changes?after_seq=N&limit=M       N: integer >= 0 (required), M: 1..500 (required)
      -> {"changes": [{"seq": 1001, "op": "upsert", "aggregate_id": "5911153", "occurred_at": "...Z",
                       "payload": {...dossier...}}, ...], "last_seq": 1100 | null, "has_more": true}
         the first M events with seq > N, in seq order. The outbox keeps no leases: asking with the same N
         answers the same events again. A deletion: op "delete", no payload.
  GET /api/outbox/consumers/{consumer}/offset        -> {"consumer": "...", "committed_seq": N} (0 at first)
  PUT /api/outbox/consumers/{consumer}/offset  JSON {"committed_seq": N}
      -> {"consumer": "...", "committed_seq": N}. N must not go backwards (409 offset_regression) nor past
         the newest event (422 offset_ahead). Events up to N are then purged for that consumer's next reads
         only in the sense that a consumer restarts after its committed offset.
  Errors: {"error": "<slug>", "message": "..."}: 400 bad_parameter, 404 not_found, 405 method_not_allowed,
          415 unsupported_media_type.
"""

from __future__ import annotations

import argparse
import re
import threading
from typing import Any, ClassVar

from tests.vendors.common import VendorHandler, arguments, serve
from tests.vendors.feed_kafka_rest.server import Handler as HubHandler

VENDOR = "feed_outbox"
API_KEY = "cl-outbox-3f9a-77Qe-b21c"
REFUSAL = "Khóa API không hợp lệ hoặc đã bị thu hồi"
WRONG_CONNECTION = {"password": "sai-khoa-0000"}
FIRST_SEQ = 1001
MAX_LIMIT = 500
OFFSET = re.compile(r"^/api/outbox/consumers/(?P<consumer>[a-z0-9._-]{3,64})/offset$")

_committed: dict[str, int] = {}
_lock = threading.Lock()


class OutboxError(Exception):
    def __init__(self, status: int, slug: str, message: str) -> None:
        super().__init__(message)
        self.status, self.slug, self.message = status, slug, message


class Handler(VendorHandler):
    server_version = "chilinh-outbox/1.4"
    events: ClassVar[list[dict[str, Any]]] = []
    deleted: ClassVar[list[str]] = []

    @classmethod
    def load_truth(cls, vendor: str, options: argparse.Namespace) -> list[dict[str, Any]]:
        survivors = HubHandler.load_truth(vendor, options)  # the same history: versions and deletions
        cls.deleted = HubHandler.deleted
        cls.events = [
            {
                "seq": FIRST_SEQ + n,
                "op": "delete" if e["type"] == "TOMBSTONE" else "upsert",
                "aggregate_id": e["key"],
                "occurred_at": _iso(e["ts"]),
                **({"payload": e["payload"]} if "payload" in e else {}),
            }
            for n, e in enumerate(HubHandler.log)
        ]
        return survivors

    def vendor_control(self, method: str) -> bool:
        if method == "GET" and self.route == "/_vendor/deleted":
            self.send_json(self.deleted)
            return True
        if method == "GET" and self.route == "/_vendor/committed":
            self.send_json(dict(_committed))
            return True
        return False

    def vendor(self, method: str) -> None:
        try:
            if self.headers.get("X-Api-Key") != API_KEY:
                raise OutboxError(401, "invalid_api_key", REFUSAL)
            if self.route == "/api/outbox/changes":
                if method != "GET":
                    raise OutboxError(405, "method_not_allowed", f"{method} {self.route}")
                self.changes()
                return
            match = OFFSET.match(self.route)
            if match is None:
                raise OutboxError(404, "not_found", f"Không có tài nguyên {self.route}")
            consumer = match["consumer"]
            if method == "GET":
                with _lock:
                    self.send_json({"consumer": consumer, "committed_seq": _committed.get(consumer, 0)})
            elif method == "PUT":
                self.commit(consumer)
            else:
                raise OutboxError(405, "method_not_allowed", f"{method} {self.route}")
        except OutboxError as exc:
            body, status = {"error": exc.slug, "message": exc.message}, exc.status
            self.refuse(status, f"{exc.slug} {exc.message}", lambda: self.send_json(body, status))

    def _int(self, name: str, low: int, high: int) -> int:
        text = self.param(name)
        if text is None or not re.fullmatch(r"\d+", text) or not low <= int(text) <= high:
            raise OutboxError(400, "bad_parameter", f"{name} phải là số nguyên từ {low} đến {high}: {text!r}")
        return int(text)

    def changes(self) -> None:
        if set(self.query) - {"after_seq", "limit"}:
            raise OutboxError(400, "bad_parameter", f"tham số không hỗ trợ: {sorted(self.query)}")
        after = self._int("after_seq", 0, 10**12)
        limit = self._int("limit", 1, MAX_LIMIT)
        out = [e for e in self.events if e["seq"] > after][: limit + 1]
        page = out[:limit]
        self.send_json(
            {"changes": page, "last_seq": page[-1]["seq"] if page else None, "has_more": len(out) > limit}
        )

    def commit(self, consumer: str) -> None:
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            raise OutboxError(415, "unsupported_media_type", "Content-Type phải là application/json")
        try:
            body = self.json_body()
        except ValueError:
            raise OutboxError(400, "bad_parameter", "thân yêu cầu không phải JSON") from None
        seq = body.get("committed_seq") if isinstance(body, dict) and set(body) == {"committed_seq"} else None
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise OutboxError(400, "bad_parameter", f"cần {{'committed_seq': số nguyên}}: {body!r}")
        newest = self.events[-1]["seq"] if self.events else 0
        with _lock:
            current = _committed.get(consumer, 0)
            if seq < current:
                raise OutboxError(409, "offset_regression", f"committed_seq {seq} < {current}")
            if seq > newest:
                raise OutboxError(422, "offset_ahead", f"committed_seq {seq} > {newest}")
            _committed[consumer] = seq
        self.send_json({"consumer": consumer, "committed_seq": seq})


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__ or VENDOR))
