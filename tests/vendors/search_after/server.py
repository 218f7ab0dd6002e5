"""An Elasticsearch index of dossiers behind the province's search cluster: `_search` with a range query, a sort
with a tie-breaker and `search_after` (the sort values of the last hit), as Elasticsearch 8 answers them.

Contract:
  POST /ho-so/_search   Authorization: Basic (a read-only user)   Content-Type: application/json
       {"size": ≤ 100, "query": {"bool": {"filter": [{"range": {"ngay_cap_nhat": {"gte": "<local time>",
        "lt": "<local time>", "format": "yyyy-MM-dd HH:mm:ss", "time_zone": "+07:00"}}}]}},
        "sort": [{"ngay_cap_nhat": "asc"}, {"id_ho_so": "asc"}], "search_after": [<millis>, "<id>"]}
    -> {"took": n, "timed_out": false, "_shards": {...}, "hits": {"total": {"value": n, "relation": "eq"},
        "max_score": null, "hits": [{"_index": "ho-so-2025", "_id": "<id>", "_score": null, "_source": {dossier},
        "sort": [<epoch millis, UTC>, "<id>"]}]}}
  The documents keep times as the index's date format writes them: "yyyy-MM-dd HH:mm:ss", local time with no
  zone. A page after the last is an empty `hits.hits`. Errors are Elasticsearch's: 401 security_exception for a
  wrong password, 400 with `error.root_cause` for a request it cannot parse (an unknown key, a sort without its
  tie-breaker, a search_after that does not fit the sort).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "search_after"
USER, PASSWORD = "esb_reader", "Tim$Kiem-2025"
REFUSAL = "unable to authenticate user [esb_reader] for REST request [/ho-so/_search]"
WRONG_CONNECTION = {"password": "sai-mat-khau"}
SORT = [{"ngay_cap_nhat": "asc"}, {"id_ho_so": "asc"}]
DATE = "%Y-%m-%d %H:%M:%S"
MAX_SIZE = 100
KEYS = {"size", "query", "sort", "search_after", "track_total_hits", "_source"}


def local(iso: str | None) -> str | None:
    return None if iso is None else datetime.fromisoformat(iso).astimezone(HCM).strftime(DATE)


def millis(item: dict[str, Any]) -> int:
    return int(updated(item).timestamp() * 1000)


def source_of(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    return {
        "id_ho_so": item["source_record_id"],
        "so_ho_so": item["ma_ho_so"],
        "thu_tuc": {"ma": item["procedure_code"], "ten": item["procedure_name"]},
        "linh_vuc": {"ma": item["field_code"], "ten": item["field_name"]},
        "don_vi": {"ma": item["agency_code"], "ten": item["agency_name"]},
        "hinh_thuc_nop": item["channel"],
        "trang_thai": item["status"],
        "trich_yeu": item["summary"],
        "nguoi_nop": {"doi_tuong": a["type"], "ho_ten": a["name"], "loai_giay_to": "CCCD" if a.get("id_type") == 1 else None,
                      "so_giay_to": a["id_number"], "dien_thoai": a["phone"], "email": a.get("email"),
                      "ngay_sinh": a.get("birth_date"), "dia_chi": a["address"]},
        "ngay_nop": local(item.get("submitted_at")),
        "ngay_tiep_nhan": local(item["received_at"]),
        "ngay_hen_tra": local(item["due_at"]),
        "ngay_co_ket_qua": local(item.get("finished_at")),
        "ngay_tra": local(item.get("returned_at")),
        "ngay_cap_nhat": local(item["source_updated_at"]),
        "qua_trinh": [{"trang_thai": h["status"], "thoi_diem": local(h["at"]), "can_bo": h["actor"],
                       "noi_dung": h["content"]} for h in item["history"]],
        "le_phi": [{"ma": f["code"], "ten": f["name"], "so_tien": f["amount_vnd"]} for f in item["fees"]],
        "thanh_phan": [{"ten": d["name"], "ma_mau": d["form_code"]} for d in item["documents"]],
    }  # fmt: skip


def es_error(status: int, kind: str, reason: str) -> dict[str, Any]:
    cause = {"type": kind, "reason": reason}
    return {"error": {"root_cause": [cause], **cause}, "status": status}


class Handler(VendorHandler):
    def fail(self, status: int, kind: str, reason: str) -> None:
        body = json.dumps(es_error(status, kind, reason)).encode()
        headers = {"WWW-Authenticate": 'Basic realm="security" charset="UTF-8"'} if status == 401 else None
        self.refuse(
            status, kind, lambda: self.send_body(status, body, "application/json; charset=UTF-8", headers)
        )

    def vendor(self, method: str) -> None:
        if self.route != "/ho-so/_search" or method not in ("GET", "POST"):
            self.fail(405 if self.route == "/ho-so/_search" else 404, "illegal_argument_exception",
                      f"no handler found for uri [{self.route}] and method [{method}]")  # fmt: skip
            return
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.fail(401, "security_exception", REFUSAL)
            return
        try:
            found = self.search(self.json_body())
        except (ValueError, KeyError, TypeError) as exc:
            self.fail(400, "x_content_parse_exception", f"[1:2] {exc}")
            return
        self.send_json(found, headers={"X-elastic-product": "Elasticsearch"})

    def search(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or set(body) - KEYS:
            raise ValueError(
                f"unknown key [{sorted(set(body) - KEYS)[0] if isinstance(body, dict) else body}]"
            )
        size = body.get("size", 10)
        if type(size) is not int or not 0 < size <= MAX_SIZE:
            raise ValueError(f"[size] must be between 1 and {MAX_SIZE}")
        if body.get("sort") != SORT:
            raise ValueError("search_after needs a sort on [ngay_cap_nhat, id_ho_so], the id as tie-breaker")
        window = body["query"]["bool"]["filter"][0]["range"]["ngay_cap_nhat"]
        if window.get("format") != "yyyy-MM-dd HH:mm:ss" or window.get("time_zone") != "+07:00":
            raise ValueError("failed to parse date field: the range needs its format and time_zone")
        start = datetime.strptime(window["gte"], DATE).replace(tzinfo=HCM)
        end = datetime.strptime(window["lt"], DATE).replace(tzinfo=HCM)
        after = body.get("search_after")
        if after is not None and (
            not isinstance(after, list) or len(after) != 2 or type(after[0]) is not int
        ):
            raise ValueError(f"search_after has {after!r}, which does not fit the sort [long, keyword]")
        hits = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (millis(i), i["source_record_id"]),
        )
        total = len(hits)
        if after is not None:
            hits = [i for i in hits if (millis(i), i["source_record_id"]) > (after[0], str(after[1]))]
        page = [{"_index": "ho-so-2025", "_id": i["source_record_id"], "_score": None, "_source": source_of(i),
                 "sort": [millis(i), i["source_record_id"]]} for i in hits[:size]]  # fmt: skip
        return {"took": 2, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                "hits": {"total": {"value": total, "relation": "eq"}, "max_score": None, "hits": page}}  # fmt: skip


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
