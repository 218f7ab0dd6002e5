"""The province's search cluster (Elasticsearch 7/8) read with the scroll API: one search opens a scroll context,
each next batch is asked of `/_search/scroll` with its id, and the context is cleared when the read is done.

Contract (Elasticsearch's scroll API, as its reference documents it):
  POST /ho-so/_search?scroll=1m   Authorization: Basic (a read-only user)   Content-Type: application/json
       {"size": ≤ 100, "query": {"bool": {"filter": [{"range": {"ngay_cap_nhat": {"gte": "<local time>",
        "lt": "<local time>", "format": "yyyy-MM-dd HH:mm:ss", "time_zone": "+07:00"}}}]}}, "sort": ["_doc"]}
    -> {"_scroll_id": "<id>", "took": n, "timed_out": false, "_shards": {...},
        "hits": {"total": {"value": n, "relation": "eq"}, "max_score": null,
                 "hits": [{"_index": "ho-so-2025", "_id": "<id>", "_score": null, "_source": {dossier}, "sort": [n]}]}}
  POST /_search/scroll   {"scroll": "1m", "scroll_id": "<id>"}
    -> the next batch, the same shape; the scroll id may stay the same (it does here, as it mostly does since 7.x);
       after the last hit, an empty `hits.hits`.
  DELETE /_search/scroll   {"scroll_id": "<id>" | ["<id>", …]}
    -> {"succeeded": true, "num_freed": n}; an id it does not hold: 404 with num_freed 0.
  An id that expired (no call within its keep-alive) or that it never gave: 404
    {"error": {"root_cause": [{"type": "search_context_missing_exception", "reason": "No search context found for
    id [n]"}], "type": "search_phase_execution_exception", "reason": "all shards failed", …}, "status": 404}.
  The documents are the same as the search_after index's (dialect es_vn_snake). Wrong password: 401
  security_exception. --scroll-id-bytes N gives ids of N bytes (a cluster of many shards, or a hostile one);
  --expire-after N lets each context serve N scroll calls, then answers search_context_missing_exception.
"""

from __future__ import annotations

import argparse
import base64
import threading
from datetime import datetime
from typing import Any

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, serve, updated
from tests.vendors.search_after.server import es_error, source_of

VENDOR = "elastic_scroll"
USER, PASSWORD = "esb_scroll", "Cu0n-Tr@ng-2025"
REFUSAL = "unable to authenticate user [esb_scroll] for REST request [/ho-so/_search?scroll=1m]"
DATE = "%Y-%m-%d %H:%M:%S"
MAX_SIZE = 100
KEYS = {"size", "query", "sort", "_source", "track_total_hits"}

_lock = threading.Lock()
_contexts: dict[str, dict[str, Any]] = {}  # scroll id -> {"hits": [...], "at": n, "calls": n}
_opened = [0]
_numbers: dict[str, int] = {}  # scroll id -> its context's number, what the 404 names


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scroll-id-bytes", type=int, default=0, help="scroll ids of this many bytes")
    parser.add_argument("--expire-after", type=int, default=0, help="a context serves this many scroll calls")


class Handler(VendorHandler):
    def fail(self, status: int, kind: str, reason: str, top: dict[str, Any] | None = None) -> None:
        body = es_error(status, kind, reason)
        if top:
            body["error"].update(top)
        data = __import__("json").dumps(body).encode()
        headers = {"WWW-Authenticate": 'Basic realm="security" charset="UTF-8"'} if status == 401 else None
        self.refuse(
            status, kind, lambda: self.send_body(status, data, "application/json; charset=UTF-8", headers)
        )

    def vendor_control(self, method: str) -> bool:
        if method == "GET" and self.route == "/_vendor/contexts":  # what the cluster still holds open
            with _lock:
                self.send_json({"open": len(_contexts), "opened": _opened[0]})
            return True
        return False

    def vendor(self, method: str) -> None:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.fail(401, "security_exception", f"unable to authenticate user [{USER}] for REST request [{self.path}]"
                      if self.headers.get("Authorization") else "missing authentication credentials")  # fmt: skip
            return
        try:
            body = self.json_body()
        except ValueError as exc:
            self.fail(400, "x_content_parse_exception", f"[1:1] {exc}")
            return
        if self.route == "/ho-so/_search" and method == "POST":
            self.open(body)
        elif self.route == "/_search/scroll" and method == "POST":
            self.scroll(body)
        elif self.route == "/_search/scroll" and method == "DELETE":
            self.clear(body)
        else:
            self.fail(
                405,
                "illegal_argument_exception",
                f"no handler found for uri [{self.route}] and method [{method}]",
            )

    def open(self, body: Any) -> None:
        if self.param("scroll") != "1m":
            self.fail(400, "illegal_argument_exception", "this reader must ask for a scroll (scroll=1m)")
            return
        try:
            if not isinstance(body, dict) or set(body) - KEYS:
                raise ValueError("unknown key")
            size = body.get("size", 10)
            if type(size) is not int or not 0 < size <= MAX_SIZE or body.get("sort") != ["_doc"]:
                raise ValueError(f"[size] 1..{MAX_SIZE} and sort [_doc]")
            window = body["query"]["bool"]["filter"][0]["range"]["ngay_cap_nhat"]
            if window.get("format") != "yyyy-MM-dd HH:mm:ss" or window.get("time_zone") != "+07:00":
                raise ValueError("failed to parse date field")
            start = datetime.strptime(window["gte"], DATE).replace(tzinfo=HCM)
            end = datetime.strptime(window["lt"], DATE).replace(tzinfo=HCM)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            self.fail(400, "x_content_parse_exception", f"[1:2] {exc}")
            return
        hits = [i for i in self.truth if start <= updated(i) < end]  # _doc order: the index's own
        with _lock:
            _opened[0] += 1
            n = _opened[0]
            sid = base64.b64encode(
                f"FGluY2x1ZGVfY29udGV4dF91dWlkDXF1ZXJ5QW5kRmV0Y2gBFk{n:08d}".encode()
            ).decode()
            if self.options.scroll_id_bytes:
                sid = (sid * (self.options.scroll_id_bytes // len(sid) + 1))[: self.options.scroll_id_bytes]
                sid = f"{n:08d}{sid[8:]}"
            _numbers[sid] = n
            _contexts[sid] = {"hits": hits, "at": 0, "size": size, "calls": 0, "n": n}
        self.batch(sid, len(hits))

    def batch(self, sid: str, total: int) -> None:
        with _lock:
            context = _contexts[sid]
            page = context["hits"][context["at"] : context["at"] + context["size"]]
            context["at"] += len(page)
        hits = [{"_index": "ho-so-2025", "_id": i["source_record_id"], "_score": None, "_source": source_of(i),
                 "sort": [context["at"] - len(page) + k]} for k, i in enumerate(page)]  # fmt: skip
        self.send_json({"_scroll_id": sid, "took": 1, "timed_out": False,
                        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                        "hits": {"total": {"value": total, "relation": "eq"}, "max_score": None, "hits": hits}},
                       headers={"X-elastic-product": "Elasticsearch"})  # fmt: skip

    def missing(self, sid: str) -> None:
        with _lock:
            number = _numbers.get(sid, 0)  # Elasticsearch names the context's number, not the whole id
        self.fail(404, "search_context_missing_exception", f"No search context found for id [{number}]",
                  {"type": "search_phase_execution_exception", "reason": "all shards failed", "phase": "query",
                   "grouped": True})  # fmt: skip

    def scroll(self, body: Any) -> None:
        if not isinstance(body, dict) or set(body) != {"scroll", "scroll_id"} or body["scroll"] != "1m":
            self.fail(400, "illegal_argument_exception", "the scroll call takes {scroll, scroll_id}")
            return
        sid = body["scroll_id"]
        with _lock:
            context = _contexts.get(sid) if isinstance(sid, str) else None
            if context is not None:
                context["calls"] += 1
                if self.options.expire_after and context["calls"] > self.options.expire_after:
                    del _contexts[sid]  # its keep-alive ran out
                    context = None
        if context is None:
            self.missing(sid if isinstance(sid, str) else "")
            return
        self.batch(sid, len(context["hits"]))

    def clear(self, body: Any) -> None:
        ids = body.get("scroll_id") if isinstance(body, dict) else None
        ids = [ids] if isinstance(ids, str) else ids
        if not isinstance(ids, list) or not ids:
            self.fail(
                400, "action_request_validation_exception", "Validation Failed: 1: no scroll ids specified;"
            )
            return
        with _lock:
            freed = sum(1 for sid in ids if _contexts.pop(sid, None) is not None)
        self.send_json({"succeeded": True, "num_freed": freed}, 200 if freed else 404)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], options))
