"""Huyện Gia Lộc's one-stop desk runs on Zendesk Support: each dossier is a ticket, its data in the ticket's custom
fields; read with Zendesk's cursor-based incremental ticket export, as Zendesk answers it.

Contract (https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/,
.../documentation/ticketing/managing-tickets/using-the-incremental-export-api):
  GET /api/v2/incremental/tickets/cursor.json?start_time=<epoch seconds>[&per_page=N]     the first call
  GET /api/v2/incremental/tickets/cursor.json?cursor=<after_cursor>[&per_page=N]          every later one
      Authorization: Basic base64("<agent email>/token:<API token>")
    -> {"tickets": [ticket…], "after_url": "https://…/cursor.json?cursor=…", "after_cursor": "…",
        "before_url": …, "before_cursor": …, "end_of_stream": true|false}
       the tickets updated at or after start_time, oldest first (per_page up to 1000, default 1000); the last page
       says end_of_stream true and still gives an after_cursor: kept, it is where the next export starts, and
       answers the tickets updated since. A start_time in the last minute or in the future, or both parameters at
       once (the after_url carries the cursor alone), is 400 InvalidPaginationParameter; a cursor it did not
       issue, 400 InvalidPaginationParameter too.
  A ticket: id, created_at and updated_at (UTC, Z), subject, status, and `custom_fields` (and `fields`, the same):
  [{"id": 360001, "value": …}] — text fields, drop-downs whose values are tags (`tt_da_tiep_nhan`), and
  multi-line text fields that the desk's intake app fills with the dossier's steps, fees and documents as JSON.
  The dossier's own times are text fields, ISO 8601 in UTC with Z.
  Wrong credentials: 401 {"error": "Couldn't authenticate you"}. Ten export requests a minute: past that, 429
  {"error": "APIRateLimitExceeded", …} with Retry-After (this server throttles its `--throttle-at`th data request
  once, Retry-After: 1).

Control (tests): POST /_vendor/change?update=N edits N tickets now (their updated_at later than any before).
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.vendors.common import VendorHandler, arguments, serve

VENDOR = "zendesk_incremental"
SUBDOMAIN = "https://gialoc-motcua.zendesk.com"
EMAIL = "mot.cua@gialoc.haiduong.gov.vn"
API_TOKEN = "wK3uPq9ZxH2mVb7rT4nL8sYc1dF6gJ0eA5hN"
REFUSAL = "Couldn't authenticate you"
WRONG_CONNECTION = {"password": "saiTokenZendesk0000000000000000000000"}
EXPORT = "/api/v2/incremental/tickets/cursor.json"
STATUS = {1: "tt_moi_nop", 2: "tt_da_tiep_nhan", 4: "tt_dang_xu_ly", 5: "tt_yeu_cau_bo_sung", 6: "tt_cho_nop_phi",
          9: "tt_co_ket_qua", 10: "tt_da_tra_ket_qua"}  # fmt: skip
CHANNEL = {1: "kenh_truc_tiep", 2: "kenh_truc_tuyen", 3: "kenh_buu_chinh"}
APPLICANT = {1: "nguoi_nop_cong_dan", 2: "nguoi_nop_doanh_nghiep"}
# the desk's custom fields, by id (Admin Center > Objects and rules > Tickets > Fields)
F = {"ma_ho_so": 360001, "ma_thu_tuc": 360002, "ten_thu_tuc": 360003, "ma_linh_vuc": 360004, "linh_vuc": 360005,
     "ma_co_quan": 360006, "co_quan": 360007, "kenh_nop": 360008, "trang_thai": 360009, "loai_nguoi_nop": 360010,
     "ho_ten": 360011, "loai_giay_to": 360012, "so_giay_to": 360013, "dien_thoai": 360014, "email": 360015,
     "ngay_sinh": 360016, "dia_chi": 360017, "ngay_nop": 360018, "ngay_tiep_nhan": 360019, "han_tra": 360020,
     "ngay_co_ket_qua": 360021, "ngay_tra": 360022, "qua_trinh": 360023, "le_phi": 360024, "thanh_phan": 360025,
     "so_ho_so_nguon": 360026}  # fmt: skip
MAX_PAGE = 1000

_lock = threading.Lock()


def utc(value: str | None) -> str | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(value: str) -> int:
    return int(datetime.fromisoformat(value).timestamp())


def ticket(item: dict[str, Any], updated: str) -> dict[str, Any]:
    a = item["applicant"]
    steps = [{"trang_thai": STATUS[h["status"]], "luc": utc(h["at"]), "can_bo": h["actor"], "noi_dung": h["content"]}
             for h in item["history"]]  # fmt: skip
    fees = [{"ten": f["name"], "ma": f["code"], "so_tien": f["amount_vnd"]} for f in item["fees"]]
    documents = [{"ten": d["name"], "ma_mau": d["form_code"]} for d in item["documents"]]
    values = {
        "ma_ho_so": item["ma_ho_so"], "ma_thu_tuc": item["procedure_code"], "ten_thu_tuc": item["procedure_name"],
        "ma_linh_vuc": item["field_code"], "linh_vuc": item["field_name"], "ma_co_quan": item["agency_code"],
        "co_quan": item["agency_name"], "kenh_nop": CHANNEL[item["channel"]], "trang_thai": STATUS[item["status"]],
        "loai_nguoi_nop": APPLICANT[a["type"]], "ho_ten": a["name"],
        "loai_giay_to": "giay_to_cccd" if a.get("id_type") == 1 else None, "so_giay_to": a["id_number"],
        "dien_thoai": a["phone"], "email": a.get("email"), "ngay_sinh": a.get("birth_date"), "dia_chi": a["address"],
        "ngay_nop": utc(item.get("submitted_at")), "ngay_tiep_nhan": utc(item["received_at"]),
        "han_tra": utc(item["due_at"]), "ngay_co_ket_qua": utc(item.get("finished_at")),
        "ngay_tra": utc(item.get("returned_at")),
        "qua_trinh": json.dumps(steps, ensure_ascii=False),
        "le_phi": json.dumps(fees, ensure_ascii=False) if fees else None,
        "thanh_phan": json.dumps(documents, ensure_ascii=False),
        "so_ho_so_nguon": item["source_record_id"],
    }  # fmt: skip
    custom = [{"id": F[name], "value": value} for name, value in values.items()]
    number = int(item["source_record_id"])
    return {
        "url": f"{SUBDOMAIN}/api/v2/tickets/{number}.json",
        "id": number,
        "external_id": item["ma_ho_so"],
        "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": utc(item.get("submitted_at") or item["received_at"]),
        "updated_at": updated,
        "generated_timestamp": epoch(updated),
        "type": "task",
        "subject": f"{item['ma_ho_so']} - {item['procedure_name']}",
        "raw_subject": f"{item['ma_ho_so']} - {item['procedure_name']}",
        "description": item["summary"],
        "priority": "normal",
        "status": "solved" if item["status"] in (9, 10) else "open",
        "requester_id": 1900000000 + number,
        "submitter_id": 1900000000 + number,
        "assignee_id": 381200007811,
        "group_id": 360000424011,
        "tags": [STATUS[item["status"]], CHANNEL[item["channel"]]],
        "custom_fields": custom,
        "fields": custom,
        "ticket_form_id": 360000071231,
        "brand_id": 360000207311,
        "is_public": True,
    }


def zendesk_error(error: str, description: str | None = None) -> dict[str, Any]:
    return {"error": error, **({"description": description} if description else {})}


class Handler(VendorHandler):
    server_version = "nginx"
    updated: dict[str, str] = {}  # ticket (source record id) -> its updated_at, as Zendesk writes it

    @classmethod
    def load_truth(cls, vendor: str, options: Any) -> list[dict[str, Any]]:
        items = super().load_truth(vendor, options)
        cls.updated = {i["source_record_id"]: utc(i["source_updated_at"]) or "" for i in items}
        return items

    def vendor_control(self, method: str) -> bool:
        if method == "POST" and self.route == "/_vendor/change":
            update = int(self.param("update") or 0)
            with _lock:
                latest = max(datetime.fromisoformat(t) for t in self.updated.values())
                for n, item in enumerate(self.truth[:update]):
                    item["summary"] += " (đã bổ sung giấy tờ)"
                    at = latest + timedelta(hours=1, minutes=n)
                    item["source_updated_at"] = at.astimezone(
                        datetime.fromisoformat(item["received_at"]).tzinfo
                    ).isoformat()
                    self.updated[item["source_record_id"]] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
            self.send_json({"updated": update})
            return True
        return False

    def fail(self, status: int, error: str, description: str | None = None) -> None:
        self.refuse(status, error, lambda: self.send_json(zendesk_error(error, description), status))

    def authenticated(self) -> bool:
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        if scheme != "Basic":
            return False
        try:
            user, _, secret = base64.b64decode(value).decode("utf-8").partition(":")
        except ValueError:
            return False
        return user == f"{EMAIL}/token" and secret == API_TOKEN

    def vendor(self, method: str) -> None:
        if self.route != EXPORT:
            self.fail(404, "InvalidEndpoint", "Not found")
            return
        if not self.authenticated():
            self.fail(401, REFUSAL)
            return
        if method != "GET":
            self.fail(405, "InvalidEndpoint", f"{method} is not supported")
            return
        if self.stats.count_data_request() == self.options.throttle_at:  # a rate limit, not a refusal
            body = zendesk_error("APIRateLimitExceeded", "Number of allowed incremental export API requests per minute exceeded")  # fmt: skip
            self.send_json(body, 429, {"Retry-After": "1"})
            return
        self.export()

    def export(self) -> None:
        unknown = set(self.query) - {"start_time", "cursor", "per_page", "include", "exclude_deleted"}
        start, cursor, per_page = (
            self.param("start_time"),
            self.param("cursor"),
            self.param("per_page") or "1000",
        )
        if unknown or (start is None) == (cursor is None):
            self.fail(
                400, "InvalidPaginationParameter", "Either start_time or cursor must be given, not both"
            )
            return
        if not per_page.isdigit() or not 1 <= int(per_page) <= MAX_PAGE:
            self.fail(400, "InvalidPaginationParameter", "per_page must be between 1 and 1000")
            return
        now = int(datetime.now(UTC).timestamp())
        if start is not None:
            if not start.lstrip("-").isdigit() or int(start) > now - 60:
                self.fail(400, "InvalidPaginationParameter", "start_time is too recent: it must be more than one minute in the past")  # fmt: skip
                return
            after = (int(start) - 1, 10**12)  # at or after start_time: every ticket of that second
        else:
            try:
                seconds, ticket_id = (
                    base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
                )
                after = (int(seconds), int(ticket_id))
            except ValueError:
                self.fail(400, "InvalidPaginationParameter", "Invalid cursor")
                return
        with _lock:
            order = sorted(
                (
                    (epoch(self.updated[i["source_record_id"]]), int(i["source_record_id"]), i)
                    for i in self.truth
                ),
                key=lambda t: (t[0], t[1]),
            )
            later = [t for t in order if (t[0], t[1]) > after]
            page = later[: int(per_page)]
            tickets = [ticket(i, self.updated[i["source_record_id"]]) for _, _, i in page]
        last = (page[-1][0], page[-1][1]) if page else after
        if start is not None and not page:
            last = (int(start) - 1, 10**12)
        after_cursor = base64.urlsafe_b64encode(f"{last[0]}|{last[1]}".encode()).decode().rstrip("=")
        host = f"http://{self.headers.get('Host')}"
        self.send_json(
            {
                "tickets": tickets,
                "after_url": f"{host}{EXPORT}?cursor={after_cursor}&per_page={per_page}",
                "after_cursor": after_cursor,
                "before_url": None,
                "before_cursor": None,
                "end_of_stream": len(later) <= int(per_page),
            }
        )


def extra(parser: Any) -> None:
    parser.add_argument("--throttle-at", type=int, default=2, help="the Nth data request answers 429 once")


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments((__doc__ or VENDOR).splitlines()[0], extra))
