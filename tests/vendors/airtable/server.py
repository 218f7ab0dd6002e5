"""A commune's dossiers kept in an Airtable base (a "no-code" one-stop tracker), read with Airtable's Web API
`list records`, as Airtable answers it.

Contract (https://airtable.com/developers/web/api/list-records):
  GET /v0/appMotCuaHD01/Hồ sơ?pageSize=≤100&offset=<opaque>
        &filterByFormula=AND(NOT(IS_BEFORE({Cập nhật lúc}, '<ISO>')), IS_BEFORE({Cập nhật lúc}, '<ISO>'))
      Authorization: Bearer <personal access token>
    -> {"records": [{"id": "rec…", "createdTime": "…Z", "fields": {"Mã hồ sơ": …, "Họ và tên": …}}],
        "offset": "itr…/rec…"}
  Fields are named as the base's users named them: spaces, Vietnamese letters, a linked table's lookups as
  "<field> (from <table>)", each a list in the linked records' order (a dossier's steps, fees and documents kept in
  their own tables). An empty field is left out of `fields` (a checkbox that is off, an email never typed, a lookup
  of no linked record). Times are ISO 8601 in UTC with milliseconds, dates `yyyy-MM-dd`, numbers JSON numbers,
  single selects their option's text. The last page has no `offset`; an offset is good only for the same query
  (else 422 LIST_RECORDS_ITERATOR_NOT_AVAILABLE). Five requests a second per base: past that, 429 and a wait
  (Airtable asks for 30 s; this server says `Retry-After: 1`, and throttles its `--throttle-at`th data request
  once). A token it does not know is 401 AUTHENTICATION_REQUIRED.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "airtable"
TOKEN = "patHD7mQ2xKc9Lw.3f1e5a7c9b2d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3"
BASE, TABLE = "appMotCuaHD01", "Hồ sơ"
REFUSAL = "Authentication required"
WRONG_CONNECTION = {"password": "patSaiToken.0000"}
MAX_PAGE = 100
PARAMS = {"pageSize", "offset", "filterByFormula", "view", "sort[0][field]", "sort[0][direction]"}
UPDATED = "Cập nhật lúc"
FORMULA = re.compile(
    r"AND\(NOT\(IS_BEFORE\(\{Cập nhật lúc\}, '(?P<start>[^']+)'\)\), IS_BEFORE\(\{Cập nhật lúc\}, '(?P<end>[^']+)'\)\)"
)
STATUS = {1: "Mới nộp", 2: "Đã tiếp nhận", 4: "Đang xử lý", 5: "Yêu cầu bổ sung", 6: "Chờ nộp phí",
          9: "Có kết quả", 10: "Đã trả kết quả"}  # fmt: skip
CHANNEL = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Qua bưu chính"}
APPLICANT = {1: "Công dân", 2: "Doanh nghiệp"}


def utc(value: str | None) -> str | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def record_id(item: dict[str, Any]) -> str:
    return "rec" + hashlib.sha1(item["source_record_id"].encode()).hexdigest()[:14]


def record_of(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    fields: dict[str, Any] = {
        "ID": int(item["source_record_id"]),
        "Mã hồ sơ": item["ma_ho_so"],
        "Mã thủ tục": item["procedure_code"],
        "Tên thủ tục": item["procedure_name"],
        "Mã lĩnh vực": item["field_code"],
        "Lĩnh vực": item["field_name"],
        "Mã đơn vị": item["agency_code"],
        "Đơn vị": item["agency_name"],
        "Hình thức nộp": CHANNEL[item["channel"]],
        "Trạng thái": STATUS[item["status"]],
        "Trích yếu": item["summary"],
        "Người nộp là": APPLICANT[a["type"]],
        "Họ và tên": a["name"],
        "Loại giấy tờ": "CCCD" if a.get("id_type") == 1 else None,
        "Số giấy tờ": a["id_number"],
        "Điện thoại": a["phone"],
        "Email": a.get("email"),
        "Ngày sinh": a.get("birth_date"),
        "Địa chỉ": a["address"],
        "Ngày nộp": utc(item.get("submitted_at")),
        "Ngày tiếp nhận": utc(item["received_at"]),
        "Hẹn trả": utc(item["due_at"]),
        "Ngày có kết quả": utc(item.get("finished_at")),
        "Ngày trả": utc(item.get("returned_at")),
        UPDATED: utc(item["source_updated_at"]),
        "Đã hủy": False,
        "Trạng thái (from Quá trình)": [STATUS[h["status"]] for h in item["history"]],
        "Thời điểm (from Quá trình)": [utc(h["at"]) for h in item["history"]],
        "Cán bộ (from Quá trình)": [h["actor"] for h in item["history"]],
        "Nội dung (from Quá trình)": [h["content"] for h in item["history"]],
        "Tên phí (from Lệ phí)": [f["name"] for f in item["fees"]],
        "Mã phí (from Lệ phí)": [f["code"] for f in item["fees"]],
        "Số tiền (from Lệ phí)": [f["amount_vnd"] for f in item["fees"]],
        "Tên giấy tờ (from Thành phần)": [d["name"] for d in item["documents"]],
        "Mã mẫu (from Thành phần)": [d["form_code"] for d in item["documents"]],
    }
    # Airtable leaves an empty field out: no value, an unticked checkbox, a lookup of no linked record
    kept = {k: v for k, v in fields.items() if v not in (None, False, [], "")}
    return {"id": record_id(item), "createdTime": utc(item["received_at"]), "fields": kept}


def airtable_error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


class Handler(VendorHandler):
    def fail(self, status: int, kind: str, message: str) -> None:
        self.refuse(status, kind, lambda: self.send_json(airtable_error(kind, message), status))

    def vendor(self, method: str) -> None:
        if method != "GET" or unquote(self.route) != f"/v0/{BASE}/{TABLE}":
            self.fail(404, "NOT_FOUND", "Could not find what you are looking for")
            return
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.fail(401, "AUTHENTICATION_REQUIRED", REFUSAL)
            return
        if self.stats.count_data_request() == self.options.throttle_at:
            body = json.dumps({"errors": [{"error": "RATE_LIMIT_REACHED",
                                           "message": "Rate limit exceeded. Please try again later"}]})  # fmt: skip
            # a rate limit, not a refusal of the request: not counted as one
            self.send_body(429, body.encode(), "application/json; charset=utf-8", {"Retry-After": "1"})
            return
        unknown = set(self.query) - PARAMS
        if unknown:
            self.fail(422, "INVALID_REQUEST_UNKNOWN", f"Invalid request: parameter validation failed. "
                                                      f"Check your request data. ({sorted(unknown)[0]})")  # fmt: skip
            return
        size = self.param("pageSize") or "100"
        if not size.isdigit() or not 1 <= int(size) <= MAX_PAGE:
            self.fail(422, "INVALID_PAGE_SIZE", "The pageSize must be a number from 1 to 100")
            return
        formula = self.param("filterByFormula") or ""
        window = FORMULA.fullmatch(formula)
        if window is None:
            self.fail(
                422, "INVALID_FILTER_BY_FORMULA", f"The formula for filtering records is invalid: {formula}"
            )
            return
        try:
            start, end = (datetime.fromisoformat(window[k]) for k in ("start", "end"))
        except ValueError:
            self.fail(422, "INVALID_FILTER_BY_FORMULA", "The formula's dates cannot be read")
            return
        query_key = hashlib.sha1(f"{size}|{formula}".encode()).hexdigest()[:8]
        at = 0
        offset = self.param("offset")
        if offset:
            try:
                issued, _record = offset.split("/")
                token = issued.removeprefix("itr")
                key, at_text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")
                at = int(at_text)
            except ValueError:
                key = ""
            if key != query_key:
                self.fail(
                    422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE", "The offset is not valid for this query"
                )
                return
        kept = sorted(
            (i for i in self.truth if start <= updated(i) < end), key=lambda i: i["source_record_id"]
        )
        size_n = int(size)
        chunk = kept[at : at + size_n]
        answer: dict[str, Any] = {"records": [record_of(i) for i in chunk]}
        if at + size_n < len(kept):
            token = base64.urlsafe_b64encode(f"{query_key}:{at + size_n}".encode()).decode().rstrip("=")
            answer["offset"] = f"itr{token}/{record_id(kept[at + size_n])}"
        self.send_json(answer)


def extra(parser: Any) -> None:
    parser.add_argument("--throttle-at", type=int, default=2, help="the Nth data request answers 429 once")


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], extra))
