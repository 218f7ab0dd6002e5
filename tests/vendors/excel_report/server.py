"""A one-stop app whose data door is its report export ("Xuất Excel"): a workbook per page, four sheets.

Contract (what the vendor's manual says of "Báo cáo chi tiết hồ sơ"):
  GET /bao-cao/chi-tiet-ho-so.xlsx?tuNgay=dd/MM/yyyy HH:mm:ss&denNgay=dd/MM/yyyy HH:mm:ss&trang=<n>&soDong=<n ≤ 100>
      Authorization: Bearer <token>
      -> an xlsx workbook: sheet "Hồ sơ" (a row per dossier), "Quá trình xử lý" (its steps), "Lệ phí" (its fees),
         "Giấy tờ" (its documents); each sheet opens with the report's title and its period on two lines, a blank
         line, then its header (Vietnamese column names); the child sheets name their dossier by "Mã hồ sơ".
  As Excel holds them: times as date-times without a zone (local time), the birth date as a date, amounts and
  codes as numbers, the citizen ID and the phone as text (their leading zero kept). Pages from 1; a page shorter
  than soDong is the last. The window is half-open on "Ngày cập nhật".
  A wrong token -> HTTP 401 text/html "<h1>401 - Phiên đăng nhập không hợp lệ</h1>"; a bad parameter -> 400.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import openpyxl

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated

VENDOR = "excel_report"
TOKEN = "bc-7f3a91d2e4c84b0f9e2d6a1c"
REFUSAL = "Phiên đăng nhập không hợp lệ"
WRONG_CONNECTION = {"password": "bc-00000000000000000000000"}
MAX_ROWS = 100
LOCAL = "%d/%m/%Y %H:%M:%S"
PATH = "/bao-cao/chi-tiet-ho-so.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KENH = {1: 1, 2: 2, 3: 3}  # the app's channel numbers are the canonical ones
TRANG_THAI = {1: 0, 2: 1, 4: 2, 5: 3, 6: 4, 9: 5, 10: 6}
LOAI = {1: "Cá nhân", 2: "Tổ chức"}
DOSSIER = ["ID", "Mã hồ sơ", "Mã TTHC", "Tên thủ tục", "Mã lĩnh vực", "Tên lĩnh vực", "Mã cơ quan", "Tên cơ quan",
           "Kênh nộp", "Trạng thái", "Trích yếu", "Loại chủ hồ sơ", "Chủ hồ sơ", "Loại giấy tờ", "Số giấy tờ",
           "Điện thoại", "Thư điện tử", "Ngày sinh", "Địa chỉ", "Ngày nộp", "Ngày tiếp nhận", "Ngày hẹn trả",
           "Ngày có kết quả", "Ngày trả kết quả", "Ngày cập nhật"]  # fmt: skip


def local(iso: str | None) -> datetime | None:
    """A time as Excel holds it: the local wall clock, no zone."""
    return None if iso is None else datetime.fromisoformat(iso).astimezone(HCM).replace(tzinfo=None)


def dossier_row(item: dict[str, Any]) -> list[Any]:
    a = item["applicant"]
    birth = date.fromisoformat(a["birth_date"]) if a.get("birth_date") else None
    return [
        int(item["source_record_id"]), item["ma_ho_so"], item["procedure_code"], item["procedure_name"],
        item["field_code"], item["field_name"], item["agency_code"], item["agency_name"], KENH[item["channel"]],
        TRANG_THAI[item["status"]], item["summary"], LOAI[a["type"]], a["name"],
        "CCCD" if a.get("id_type") == 1 else None, a["id_number"], a["phone"], a.get("email"), birth, a["address"],
        local(item.get("submitted_at")), local(item["received_at"]), local(item["due_at"]),
        local(item.get("finished_at")), local(item.get("returned_at")), local(item["source_updated_at"]),
    ]  # fmt: skip


# The child sheets: their headers, and a dossier's rows in each (named by its "Mã hồ sơ").
CHILDREN = {
    "Quá trình xử lý": ["Mã hồ sơ", "Bước", "Trạng thái", "Thời điểm", "Cán bộ xử lý", "Nội dung"],
    "Lệ phí": ["Mã hồ sơ", "Mã phí", "Tên phí", "Số tiền (đồng)"],
    "Giấy tờ": ["Mã hồ sơ", "Tên giấy tờ", "Mã mẫu"],
}


def child_rows(item: dict[str, Any]) -> dict[str, list[list[Any]]]:
    code = item["ma_ho_so"]
    return {
        "Quá trình xử lý": [[code, n, TRANG_THAI[h["status"]], local(h["at"]), h["actor"], h["content"]]
                            for n, h in enumerate(item["history"], 1)],
        "Lệ phí": [[code, f["code"], f["name"], f["amount_vnd"]] for f in item["fees"]],
        "Giấy tờ": [[code, d["name"], d["form_code"]] for d in item["documents"]],
    }  # fmt: skip


def workbook(items: list[dict[str, Any]], period: str) -> bytes:
    book = openpyxl.Workbook()
    children = [child_rows(i) for i in items]
    sheets = {"Hồ sơ": (DOSSIER, [dossier_row(i) for i in items])} | {
        name: (header, [row for rows in children for row in rows[name]]) for name, header in CHILDREN.items()
    }
    book.remove(book.active)
    for title, (header, rows) in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(["BÁO CÁO CHI TIẾT HỒ SƠ THỦ TỤC HÀNH CHÍNH"])
        sheet.append([period])
        sheet.append([])
        sheet.append(header)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class Handler(VendorHandler):
    """The report's endpoint: a bearer token, a window and a page of rows in local time (a vendor that lays the
    same report out otherwise overrides `report`, its report_path and its token)."""

    report_path, token = PATH, TOKEN

    def report(self, items: list[dict[str, Any]], period: str) -> bytes:
        return workbook(items, period)

    def html(self, status: int, text: str) -> None:
        self.send_body(status, f"<html><body><h1>{status} - {text}</h1></body></html>".encode(), "text/html")

    def vendor(self, method: str) -> None:
        if self.route != self.report_path or method != "GET":
            self.refuse(404, "route", lambda: self.html(404, "Không tìm thấy trang"))
            return
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            self.refuse(401, "token", lambda: self.html(401, REFUSAL))
            return
        try:
            start, end = (parse_local(self.param(k) or "", LOCAL) for k in ("tuNgay", "denNgay"))
            page, size = int(self.param("trang") or ""), int(self.param("soDong") or "")
            if page < 1 or not 1 <= size <= MAX_ROWS:
                raise ValueError
        except ValueError:
            self.refuse(400, "parameters", lambda: self.html(400, "Tham số báo cáo không hợp lệ"))
            return
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        period = f"Từ {start:%d/%m/%Y %H:%M} đến {end:%d/%m/%Y %H:%M}"
        self.send_body(200, self.report(found[(page - 1) * size : page * size], period), XLSX)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
