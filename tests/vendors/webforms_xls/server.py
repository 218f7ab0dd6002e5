"""An ASP.NET WebForms one-stop app on IIS whose data door is its "Xuất Excel" button: an HTML page of GridViews
sent as an Excel file (application/vnd.ms-excel, DanhSachHoSo.xls), which Excel opens and no spreadsheet reader
does.

Contract (what the app does when "Xuất Excel" is pressed, and its URL is called with the same parameters):
  GET /QuanLy/XuatExcel.aspx?TuNgay=dd/MM/yyyy HH:mm&DenNgay=dd/MM/yyyy HH:mm&Trang=<n from 1>     IIS Basic auth
      -> 200 application/vnd.ms-excel; charset=utf-8, Content-Disposition: attachment; filename=DanhSachHoSo.xls;
         a UTF-8 BOM, then an HTML page (Excel's HTML namespaces, a <meta> naming UTF-8, a style giving text cells
         mso-number-format:"\\@"): a title table (the report's name and period, colspan'd), then four GridViews
         rendered as WebForms renders them (id="ctl00_MainContent_gv…", rules="all", <th scope="col"> headers):
         gvHoSo (a row per dossier), gvQuaTrinh (its steps), gvLePhi (its fees), gvGiayTo (its documents); the
         child grids name their dossier by "Mã hồ sơ". 50 dossiers a page (the grid's PageSize), sorted by
         "Ngày cập nhật" then the id; a page past the last renders each grid's EmptyDataText (one cell, no
         header). The window is half-open on "Ngày cập nhật".
  As the grid shows them: local times as dd/MM/yyyy HH:mm, the birth date dd/MM/yyyy, amounts grouped the
  Vietnamese way (1.500.000), statuses, channels and applicant kinds in Vietnamese words, an empty value as
  &nbsp;, text HTML-encoded.
  Wrong credentials -> IIS's 401 page (text/html); a bad parameter -> the app's error page, HTTP 500.
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from html import escape
from typing import Any

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated

VENDOR = "webforms_xls"
USER, PASSWORD = "THANHMIEN\\lienthong", "Xuat#Excel-2025"
REFUSAL = "401 - Unauthorized: Access is denied due to invalid credentials."
PATH = "/QuanLy/XuatExcel.aspx"
PAGE_SIZE = 50
LOCAL = "%d/%m/%Y %H:%M"
GRID = "ctl00_MainContent_gv"
STATUS = {1: "Mới tiếp nhận", 2: "Đang xử lý", 4: "Chờ bổ sung", 5: "Đã có kết quả", 6: "Đã trả kết quả",
          9: "Từ chối giải quyết", 10: "Đã hủy"}  # fmt: skip
CHANNEL = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Qua bưu chính"}
KIND = {1: "Công dân", 2: "Tổ chức"}
DOSSIER = ["STT", "ID hồ sơ", "Mã hồ sơ", "Mã thủ tục", "Tên thủ tục", "Mã lĩnh vực", "Lĩnh vực", "Mã cơ quan",
           "Cơ quan tiếp nhận", "Hình thức nộp", "Trạng thái", "Trích yếu", "Đối tượng", "Chủ hồ sơ",
           "Loại giấy tờ", "Số giấy tờ", "Điện thoại", "Email", "Ngày sinh", "Địa chỉ", "Ngày nộp",
           "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày có kết quả", "Ngày trả kết quả", "Ngày cập nhật"]  # fmt: skip
EMPTY = {"HoSo": "Không có hồ sơ nào trong khoảng thời gian đã chọn.", "QuaTrinh": "Không có dữ liệu",
         "LePhi": "Không có dữ liệu", "GiayTo": "Không có dữ liệu"}  # fmt: skip


def local(iso: str | None) -> str | None:
    return None if iso is None else f"{datetime.fromisoformat(iso).astimezone(HCM):{LOCAL}}"


def grouped(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def dossier_row(n: int, item: dict[str, Any]) -> list[Any]:
    a = item["applicant"]
    birth = f"{date.fromisoformat(a['birth_date']):%d/%m/%Y}" if a.get("birth_date") else None
    return [
        n, item["source_record_id"], item["ma_ho_so"], item["procedure_code"], item["procedure_name"],
        item["field_code"], item["field_name"], item["agency_code"], item["agency_name"], CHANNEL[item["channel"]],
        STATUS[item["status"]], item["summary"], KIND[a["type"]], a["name"],
        "CCCD" if a.get("id_type") == 1 else None, a["id_number"], a["phone"], a.get("email"), birth, a["address"],
        local(item.get("submitted_at")), local(item["received_at"]), local(item["due_at"]),
        local(item.get("finished_at")), local(item.get("returned_at")), local(item["source_updated_at"]),
    ]  # fmt: skip


def grid(name: str, header: list[str], rows: list[list[Any]]) -> str:
    """A GridView as WebForms renders it; its EmptyDataText when it has no rows."""
    start = (
        f'<table cellspacing="0" rules="all" border="1" id="{GRID}{name}" style="border-collapse:collapse;">'
    )
    if not rows:
        return (
            f'{start}\r\n\t<tr>\r\n\t\t<td colspan="{len(header)}">{EMPTY[name]}</td>\r\n\t</tr>\r\n</table>'
        )
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    body = "".join(
        "\r\n\t<tr>\r\n\t\t"
        + "".join("<td>&nbsp;</td>" if v is None else f'<td class="text">{escape(str(v))}</td>' for v in row)
        + "\r\n\t</tr>"
        for row in rows
    )
    return f"{start}\r\n\t<tr>\r\n\t\t{head}\r\n\t</tr>{body}\r\n</table>"


def page(items: list[dict[str, Any]], first: int, period: str) -> bytes:
    grids = [
        grid("HoSo", DOSSIER, [dossier_row(first + n, i) for n, i in enumerate(items)]),
        grid("QuaTrinh", ["Mã hồ sơ", "Bước", "Trạng thái", "Thời gian", "Người xử lý", "Nội dung xử lý"],
             [[i["ma_ho_so"], n, STATUS[h["status"]], local(h["at"]), h["actor"], h["content"]]
              for i in items for n, h in enumerate(i["history"], 1)]),
        grid("LePhi", ["Mã hồ sơ", "Mã phí", "Tên phí, lệ phí", "Số tiền (VNĐ)"],
             [[i["ma_ho_so"], f["code"], f["name"], grouped(f["amount_vnd"])] for i in items for f in i["fees"]]),
        grid("GiayTo", ["Mã hồ sơ", "Tên giấy tờ", "Mã mẫu"],
             [[i["ma_ho_so"], d["name"], d["form_code"]] for i in items for d in i["documents"]]),
    ]  # fmt: skip
    html = (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel"'
        ' xmlns="http://www.w3.org/TR/REC-html40">\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html;'
        ' charset=utf-8">\r\n<style>.text { mso-number-format:"\\@"; }</style>\r\n</head>\r\n<body>\r\n'
        f'<table><tr><td colspan="{len(DOSSIER)}" align="center"><b>DANH SÁCH HỒ SƠ THỦ TỤC HÀNH CHÍNH</b></td></tr>'
        f'<tr><td colspan="{len(DOSSIER)}" align="center"><i>{escape(period)}</i></td></tr></table>\r\n'
        + "\r\n<br />\r\n".join(grids)
        + "\r\n</body>\r\n</html>"
    )
    return "\ufeff".encode() + html.encode()


class Handler(VendorHandler):
    def html(self, status: int, title: str, text: str) -> None:
        self.send_body(status, f"<html><head><title>{title}</title></head><body><h1>{text}</h1></body></html>"
                       .encode(), "text/html; charset=utf-8")  # fmt: skip

    def vendor(self, method: str) -> None:
        if self.route != PATH or method != "GET":
            self.refuse(404, "route", lambda: self.html(404, "404", "404 - File or directory not found."))
            return
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.refuse(401, "credentials", lambda: self.html(401, "401 - Unauthorized", REFUSAL))
            return
        try:
            start, end = (parse_local(self.param(k) or "", LOCAL) for k in ("TuNgay", "DenNgay"))
            number = int(self.param("Trang") or "")
            if number < 1:
                raise ValueError
        except ValueError:
            self.refuse(500, "parameters", lambda: self.html(500, "Runtime Error",
                        "Server Error in '/' Application. Input string was not in a correct format."))  # fmt: skip
            return
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        first = (number - 1) * PAGE_SIZE
        period = f"Từ ngày {start:{LOCAL}} đến ngày {end:{LOCAL}}"
        self.send_body(200, page(found[first : first + PAGE_SIZE], first + 1, period),
                       "application/vnd.ms-excel; charset=utf-8",
                       {"Content-Disposition": "attachment; filename=DanhSachHoSo.xls"})  # fmt: skip


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
