"""A one-stop app's printable report exported to Excel: a two-level header, groups with subtotals, signatures.

Contract (what the vendor's manual says of "Sổ theo dõi hồ sơ (mẫu in)"):
  GET /bao-cao/so-theo-doi.xlsx?tuNgay=dd/MM/yyyy HH:mm:ss&denNgay=dd/MM/yyyy HH:mm:ss&trang=<n>&soDong=<n ≤ 100>
      Authorization: Bearer <token>
      -> an xlsx workbook laid out for printing. Sheet "Sổ theo dõi": the report's title, its period, a blank line,
         a group header row of merged cells ("Thủ tục" over Mã | Tên, "Lĩnh vực" over Mã | Tên, "Cơ quan" over
         Mã | Tên, "Người nộp" over Loại | Họ tên | Loại giấy tờ | Số CCCD | Điện thoại | Thư điện tử | Ngày sinh |
         Địa chỉ, "Thời gian" over the dates), the column header row (names repeat under groups), then the page's
         dossiers grouped by agency: each group closed by a subtotal row "Tổng cộng: N hồ sơ" (merged across the
         first columns); after the last group, a blank line, the place and date, and the signature block
         ("Người lập biểu", "Thủ trưởng đơn vị", their names). Child sheets "Quá trình xử lý", "Lệ phí", "Giấy tờ"
         as tests.vendors.excel_report writes them (title, period, a unit line, then their header).
  Pages count dossiers (not rows); a page shorter than soDong is the last; the window is half-open on
  "Ngày cập nhật". A wrong token -> HTTP 401 text/html "<h1>401 - Phiên đăng nhập không hợp lệ</h1>".
"""

from __future__ import annotations

import io
from itertools import groupby
from typing import Any

import openpyxl

from tests.vendors.common import arguments, serve
from tests.vendors.excel_report.server import CHILDREN, child_rows, dossier_row
from tests.vendors.excel_report.server import Handler as ExcelReportHandler

VENDOR = "grouped_report"
TOKEN = "std-5b2e8c41a9d04f7e"
REFUSAL = "Phiên đăng nhập không hợp lệ"
WRONG_CONNECTION = {"password": "std-0000000000000000"}
PATH = "/bao-cao/so-theo-doi.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# (group, its columns) in excel_report's column order; a group of one column spans both header rows.
GROUPS = [
    (None, ["STT hồ sơ", "Số hồ sơ"]),
    ("Thủ tục", ["Mã", "Tên"]),
    ("Lĩnh vực", ["Mã", "Tên"]),
    ("Cơ quan", ["Mã", "Tên"]),
    (None, ["Kênh", "Tình trạng", "Nội dung"]),
    ("Người nộp", ["Loại", "Họ tên", "Loại giấy tờ", "Số CCCD", "Điện thoại", "Thư điện tử", "Ngày sinh",
                   "Địa chỉ"]),
    ("Thời gian", ["Nộp", "Tiếp nhận", "Hẹn trả", "Có kết quả", "Trả kết quả", "Cập nhật"]),
]  # fmt: skip


def workbook(items: list[dict[str, Any]], period: str) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sổ theo dõi"
    sheet.append(["SỔ THEO DÕI HỒ SƠ THỦ TỤC HÀNH CHÍNH"])
    sheet.append([period])
    sheet.append([])
    top, names = [], []
    for group, columns in GROUPS:
        top += [group or columns[0] if len(columns) == 1 else group] + [None] * (len(columns) - 1)
        names += columns
    sheet.append(top)
    sheet.append(names)
    col = 1
    for group, columns in GROUPS:
        if group:
            sheet.merge_cells(start_row=4, start_column=col, end_row=4, end_column=col + len(columns) - 1)
        col += len(columns)
    for _agency, group_items in groupby(items, key=lambda i: i["agency_code"]):
        members = list(group_items)
        for item in members:
            sheet.append(dossier_row(item))
        sheet.append([f"Tổng cộng: {len(members)} hồ sơ"])
        sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=6)
    sheet.append([])
    sheet.append([None] * 18 + ["Hải Dương, ngày 30 tháng 6 năm 2025"])
    sheet.append([None, None, "NGƯỜI LẬP BIỂU"] + [None] * 15 + ["THỦ TRƯỞNG ĐƠN VỊ"])
    sheet.append([None, None, "(Ký, ghi rõ họ tên)"] + [None] * 15 + ["(Ký tên, đóng dấu)"])
    sheet.append([None, None, "Nguyễn Thị Lan"] + [None] * 15 + ["Trần Văn Hùng"])
    children = [child_rows(i) for i in items]
    for title, header in CHILDREN.items():
        child = book.create_sheet(title)
        child.append([title.upper()])
        child.append([period])
        child.append(["Đơn vị: Bộ phận một cửa"])
        child.append(header)
        for rows in children:
            for r in rows[title]:
                child.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


class Handler(ExcelReportHandler):
    """excel_report's endpoint and contract; its rows grouped by agency, under a two-level header."""

    report_path, token = PATH, TOKEN

    def report(self, items: list[dict[str, Any]], period: str) -> bytes:
        return workbook(sorted(items, key=lambda i: i["agency_code"]), period)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
