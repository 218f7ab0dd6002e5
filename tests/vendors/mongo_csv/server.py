"""A MongoDB-backed one-stop app whose only data door is its export endpoint: mongoexport's CSV, over HTTP.

Contract (what the vendor's documentation says of "Xuất dữ liệu hồ sơ"):
  GET /export/ho-so.csv?from=<ISO 8601>&to=<ISO 8601>&skip=<n>&limit=<n ≤ 100>      HTTP Basic auth
      -> text/csv; charset=utf-8, with a BOM (for Excel): a header row, then a row per dossier, sorted by
         updatedDate then _id; the window is half-open on updatedDate.
  As mongoexport writes CSV: nested fields as dotted column names (`applicant.fullname`), dates as ISODate in
  UTC with milliseconds (`2025-01-02T01:15:00.000Z`), arrays (history, fees, attachments) as JSON text, numbers
  as text, a missing field as an empty cell; LF line ends. Codes are the app's own numbers (status, applyMethod,
  applicant.type), as text.
  Wrong credentials -> HTTP 401 text/plain "Sai tên đăng nhập hoặc mật khẩu"; a bad parameter -> HTTP 400
  text/plain naming it.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "mongo_csv"
USER, PASSWORD = "xuat_du_lieu", "Mongo#Export2025"
REFUSAL = "Sai tên đăng nhập hoặc mật khẩu"
MAX_LIMIT = 100
STATUS = {1: 0, 2: 1, 4: 2, 5: 8, 6: 9, 9: 4, 10: 5}  # the app's status numbers for the canonical ones
COLUMNS = [
    "_id", "code", "procedure.nationCode", "procedure.name", "sector.code", "sector.name", "agency.code",
    "agency.name", "applyMethod", "status", "summary", "applicant.type", "applicant.fullname",
    "applicant.identityType", "applicant.identityNumber", "applicant.phone", "applicant.email",
    "applicant.birthday", "applicant.address", "appliedDate", "acceptedDate", "appointmentDate",
    "completedDate", "returnedDate", "updatedDate", "history", "fees", "attachments",
]  # fmt: skip


def isodate(iso: str | None) -> str:
    """mongoexport's ISODate in CSV: UTC, milliseconds, Z; nothing for a missing date."""
    if iso is None:
        return ""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def row(item: dict[str, Any]) -> list[str]:
    a = item["applicant"]
    history = [
        {"status": STATUS[h["status"]], "createdDate": {"$date": isodate(h["at"])}, "user": h["actor"],
         "content": h["content"]}
        for h in item["history"]
    ]  # fmt: skip
    fees = [{"code": f["code"], "name": f["name"], "amount": f["amount_vnd"]} for f in item["fees"]]
    attachments = [{"filename": d["name"], "formCode": d["form_code"]} for d in item["documents"]]
    values = [
        item["source_record_id"], item["ma_ho_so"], item["procedure_code"], item["procedure_name"],
        item["field_code"], item["field_name"], item["agency_code"], item["agency_name"], item["channel"],
        STATUS[item["status"]], item["summary"], a["type"], a["name"], "CCCD" if a.get("id_type") == 1 else "",
        a["id_number"], a["phone"], a.get("email", ""), a.get("birth_date", ""), a["address"],
        isodate(item.get("submitted_at")), isodate(item["received_at"]), isodate(item["due_at"]),
        isodate(item.get("finished_at")), isodate(item.get("returned_at")), isodate(item["source_updated_at"]),
        json.dumps(history, ensure_ascii=False, separators=(",", ":")),
        json.dumps(fees, ensure_ascii=False, separators=(",", ":")),
        json.dumps(attachments, ensure_ascii=False, separators=(",", ":")),
    ]  # fmt: skip
    return ["" if v is None else str(v) for v in values]


def instant(text: str | None) -> datetime:
    moment = datetime.fromisoformat((text or "").replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(text)
    return moment


class Handler(VendorHandler):
    """The export endpoint: Basic auth, a window and skip/limit (a vendor that packs the same rows otherwise
    overrides `export`, its export_path, its account and its words)."""

    export_path, user, password, refusal = "/export/ho-so.csv", USER, PASSWORD, REFUSAL
    bad_parameters = "Tham số from/to/skip/limit không hợp lệ"

    def export(self, items: list[dict[str, Any]], start: datetime) -> None:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(row(i) for i in items)
        self.send_body(200, "\ufeff".encode() + out.getvalue().encode(), "text/csv; charset=utf-8")

    def plain(self, status: int, text: str) -> None:
        self.send_body(status, text.encode(), "text/plain; charset=utf-8")

    def vendor(self, method: str) -> None:
        if self.route != self.export_path or method != "GET":
            self.refuse(404, "route", lambda: self.plain(404, "Không tìm thấy"))
            return
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.refuse(401, "credentials", lambda: self.plain(401, self.refusal))
            return
        try:
            start, end = instant(self.param("from")), instant(self.param("to"))
            skip, limit = int(self.param("skip") or "0"), int(self.param("limit") or "")
            if skip < 0 or not 1 <= limit <= MAX_LIMIT:
                raise ValueError
        except ValueError:
            self.refuse(400, "parameters", lambda: self.plain(400, self.bad_parameters))
            return
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        self.export(found[skip : skip + limit], start)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
