"""A Java-servlet district system of the 2010s ("Hệ thống Một cửa điện tử HSMC 2.x"): form POSTs, XML answers.

Contract (the vendor's integration note, "Tài liệu kết nối HSMC qua XML"):
  POST /hsmc/XacThucServlet      application/x-www-form-urlencoded: taikhoan=<user>&matkhau=<password>
       -> <KETQUA TRANG_THAI="1"><MA_LOI>00</MA_LOI><THONG_BAO>…</THONG_BAO>
            <PHIEN_LAM_VIEC HET_HAN="dd/MM/yyyy HH:mm:ss">session id</PHIEN_LAM_VIEC></KETQUA>
  POST /hsmc/TraCuuHoSoServlet   application/x-www-form-urlencoded:
       maphien=<session id>&tungay=dd/MM/yyyy HH:mm:ss&denngay=dd/MM/yyyy HH:mm:ss&trang=1..&sodong=1..100
       -> <KETQUA TRANG_THAI="1"><MA_LOI>00</MA_LOI><THONG_BAO>Thành công</THONG_BAO>
            <PHAN_TRANG TRANG="1" SO_DONG="50" TONG_SO_TRANG="3" TONG_SO_BAN_GHI="142"/>
            <DANH_SACH_HO_SO><HO_SO ID="…">…</HO_SO>…</DANH_SACH_HO_SO></KETQUA>
  Every parameter goes in the form body (none in the URL), each exactly once. The window is half-open
  [tungay, denngay) on NGAY_CAP_NHAT, local time (Asia/Ho_Chi_Minh, no zone), at most 60 days. Pages count from
  1 in (NGAY_CAP_NHAT, ID) order; TONG_SO_TRANG is 0 for an empty window; a page past the last is refused (E08).
  Sessions live --session-ttl seconds (default 1200).
  Every XML answer is declared and encoded windows-1258 (Vietnamese Windows text: tone marks as combining
  characters), Content-Type text/xml; charset=windows-1258. Errors are HTTP 200 with TRANG_THAI="0":
    E01 wrong taikhoan/matkhau (REFUSAL)        E02 session missing, unknown or expired: log in again
    E03 missing/unknown/repeated/URL parameter   E04 tungay/denngay not dd/MM/yyyy HH:mm:ss
    E05 system busy: try the same request again  E06 trang/sodong not in range
    E07 tungay not before denngay                E08 trang past TONG_SO_TRANG
    E09 window over 60 days
  A body that is not a urlencoded form is not read by the servlet (its parameters are then missing: E03).
  A wrong method or path is answered by the servlet container (Tomcat): an HTML page with HTTP 405 / 404.
  Test options: --busy-at N (repeatable) makes the Nth data request answer E05; --revoke-at N drops sessions.
"""

from __future__ import annotations

import argparse
import math
import secrets
import threading
import time
import unicodedata
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape, quoteattr

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated

VENDOR = "xml_form"
USER, PASSWORD = "esb_haiduong", "Hsmc@2025#HD"
REFUSAL = "Tên tài khoản hoặc mật khẩu không đúng"
LOGIN_PATH = "/hsmc/XacThucServlet"
SEARCH_PATH = "/hsmc/TraCuuHoSoServlet"
LOGIN_FIELDS = ("taikhoan", "matkhau")
SEARCH_FIELDS = ("maphien", "tungay", "denngay", "trang", "sodong")
LOCAL = "%d/%m/%Y %H:%M:%S"
MAX_WINDOW = timedelta(days=60)
MAX_ROWS = 100
CHARSET = "windows-1258"
TONES = "\u0300\u0301\u0303\u0309\u0323"  # cp1258's combining tone marks

MESSAGES = {
    "E01": REFUSAL,
    "E02": "Phiên làm việc không tồn tại hoặc đã hết hạn, vui lòng đăng nhập lại",
    "E05": "Hệ thống đang bận, vui lòng thử lại sau",
    "E07": "Từ ngày phải trước đến ngày",
    "E09": "Khoảng thời gian tra cứu không được vượt quá 60 ngày",
}

# the vendor's code tables
TRANG_THAI = {1: ("00", "Mới đăng ký"), 2: ("01", "Đã tiếp nhận"), 4: ("02", "Đang xử lý"),
              5: ("03", "Chờ bổ sung"), 6: ("04", "Chờ nộp phí"), 9: ("05", "Đã có kết quả"),
              10: ("06", "Đã trả kết quả")}  # fmt: skip
HINH_THUC_NOP = {1: "0", 2: "1", 3: "2"}  # 0 trực tiếp, 1 trực tuyến, 2 bưu chính công ích
LOAI_CHU_HO_SO = {1: "Công dân", 2: "Tổ chức"}

_sessions: dict[str, float] = {}  # session id -> monotonic expiry
_lock = threading.Lock()


def cp1258(text: str) -> bytes:
    """Text as Windows-1258 writes Vietnamese: what has no code point of its own is base + combining tone."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
            out += (base + "".join(c for c in parts if c in TONES)).encode("cp1258")
    return bytes(out)


def local(iso: str | None) -> str:
    return "" if iso is None else datetime.fromisoformat(iso).astimezone(HCM).strftime(LOCAL)


def el(name: str, text: Any = None, **attrs: Any) -> str:
    """One element; None or "" text makes an empty element (<NGAY_NOP/>), as the vendor writes nothing."""
    attributes = "".join(f" {k}={quoteattr(str(v))}" for k, v in attrs.items())
    if text is None or text == "":
        return f"<{name}{attributes}/>"
    return f"<{name}{attributes}>{escape(str(text))}</{name}>"


def render(item: dict[str, Any]) -> str:
    a = item["applicant"]
    birth = a.get("birth_date")
    code, name = TRANG_THAI[item["status"]]
    person = a["type"] == 1
    applicant = "".join(
        [
            el("HO_TEN", a["name"]),
            el("GIAY_TO_TUY_THAN", a["id_number"], LOAI="CCCD")
            if person
            else el("MA_SO_THUE", a["id_number"]),
            el("NGAY_SINH", "" if birth is None else datetime.fromisoformat(birth).strftime("%d/%m/%Y")),
            el("DIEN_THOAI", a["phone"]),
            el("THU_DIEN_TU", a.get("email")),
            el("DIA_CHI", a["address"]),
        ]
    )
    steps = "".join(
        f'<BUOC STT="{n}">'
        + el("TRANG_THAI", TRANG_THAI[h["status"]][0])
        + el("THOI_GIAN", local(h["at"]))
        + el("CAN_BO", h["actor"])
        + el("NOI_DUNG", h["content"])
        + "</BUOC>"
        for n, h in enumerate(item["history"], start=1)
    )
    fees = "".join(
        el("KHOAN_THU", f["name"], MA=f["code"], SO_TIEN=f"{f['amount_vnd']:,}".replace(",", "."))
        for f in item["fees"]
    )
    documents = "".join(el("GIAY_TO", d["name"], MA_MAU=d["form_code"]) for d in item["documents"])
    return "".join(
        [
            f'<HO_SO ID="{item["source_record_id"]}">',
            el("SO_HO_SO", item["ma_ho_so"]),
            el("THU_TUC", item["procedure_name"], MA=f"{item['procedure_code']}.000.00.00.H23"),
            el("LINH_VUC", item["field_name"], MA=item["field_code"]),
            el("CO_QUAN", item["agency_name"], MA=item["agency_code"]),
            el("HINH_THUC_NOP", HINH_THUC_NOP[item["channel"]]),
            el("TRANG_THAI", name, MA=code),
            el("TRICH_YEU", item["summary"]),
            f"<CHU_HO_SO LOAI={quoteattr(LOAI_CHU_HO_SO[a['type']])}>{applicant}</CHU_HO_SO>",
            el("NGAY_NOP", local(item.get("submitted_at"))),
            el("NGAY_TIEP_NHAN", local(item["received_at"])),
            el("NGAY_HEN_TRA", local(item["due_at"])),
            el("NGAY_CO_KET_QUA", local(item.get("finished_at"))),
            el("NGAY_TRA_KET_QUA", local(item.get("returned_at"))),
            el("NGAY_CAP_NHAT", local(item["source_updated_at"])),
            el("GHI_CHU"),
            f"<QUA_TRINH_XU_LY>{steps}</QUA_TRINH_XU_LY>",
            f"<PHI_LE_PHI>{fees}</PHI_LE_PHI>" if fees else "<PHI_LE_PHI/>",
            f"<THANH_PHAN_HO_SO>{documents}</THANH_PHAN_HO_SO>",
            "</HO_SO>",
        ]
    )


def document(body: str, ok: bool = True) -> bytes:
    text = (
        f'<?xml version="1.0" encoding="{CHARSET}"?>\n<KETQUA TRANG_THAI="{1 if ok else 0}">{body}</KETQUA>'
    )
    return cp1258(text)


class Refused(Exception):
    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or MESSAGES[code])
        self.code, self.message = code, message or MESSAGES[code]


def tomcat(status: int, title: str, message: str) -> bytes:
    return (
        f'<!doctype html><html lang="en"><head><title>HTTP Status {status} – {title}</title></head>'
        f'<body><h1>HTTP Status {status} – {title}</h1><hr class="line" /><p><b>Type</b> Status Report</p>'
        f'<p><b>Message</b> {escape(message)}</p><hr class="line" /><h3>Apache Tomcat/8.5.99</h3></body></html>'
    ).encode()


class Handler(VendorHandler):
    server_version = "Apache-Coyote/1.1"

    def answer(self, body: str, ok: bool = True) -> None:
        self.send_body(200, document(body, ok), f"text/xml; charset={CHARSET}")

    def error(self, code: str, message: str) -> None:
        body = el("MA_LOI", code) + el("THONG_BAO", message)
        self.refuse(200, f"{code} {message}", lambda: self.answer(body, ok=False))

    def container(self, status: int, title: str, message: str) -> None:
        page = tomcat(status, title, message)
        self.refuse(status, message, lambda: self.send_body(status, page, "text/html;charset=utf-8"))

    def vendor(self, method: str) -> None:
        routes = {LOGIN_PATH: (LOGIN_FIELDS, self.login), SEARCH_PATH: (SEARCH_FIELDS, self.search)}
        if self.route not in routes:
            self.container(404, "Not Found", f"The requested resource [{self.route}] is not available")
            return
        if method != "POST":
            self.container(405, "Method Not Allowed", f"HTTP method {method} is not supported by this URL")
            return
        fields, action = routes[self.route]
        try:
            action(self.form(fields))
        except Refused as exc:
            self.error(exc.code, exc.message)

    def form(self, fields: tuple[str, ...]) -> dict[str, str]:
        """The form's parameters, as the servlet reads them: only a urlencoded body is parsed."""
        if self.query:
            raise Refused(
                "E03", f"Tham số phải gửi trong thân biểu mẫu, không gửi trên URL: {', '.join(self.query)}"
            )
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        params: dict[str, list[str]] = {}
        if content_type == "application/x-www-form-urlencoded":
            try:
                params = parse_qs(self.raw_body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
            except (UnicodeDecodeError, ValueError):
                raise Refused("E03", "Thân biểu mẫu không đọc được") from None
        unknown = sorted(set(params) - set(fields))
        if unknown:
            raise Refused("E03", f"Tham số không được hỗ trợ: {', '.join(unknown)}")
        missing = [f for f in fields if f not in params]
        if missing:
            raise Refused("E03", f"Thiếu tham số: {', '.join(missing)}")
        repeated = sorted(k for k, v in params.items() if len(v) > 1)
        if repeated:
            raise Refused("E03", f"Tham số bị lặp: {', '.join(repeated)}")
        return {k: v[0] for k, v in params.items()}

    def login(self, form: dict[str, str]) -> None:
        if (form["taikhoan"], form["matkhau"]) != (USER, PASSWORD):
            raise Refused("E01")
        session = secrets.token_hex(16).upper()
        ttl = self.options.session_ttl
        with _lock:
            _sessions[session] = time.monotonic() + ttl
        expires = (datetime.now(HCM) + timedelta(seconds=ttl)).strftime(LOCAL)
        self.answer(
            el("MA_LOI", "00")
            + el("THONG_BAO", "Đăng nhập thành công")
            + el("PHIEN_LAM_VIEC", session, HET_HAN=expires)
        )

    def search(self, form: dict[str, str]) -> None:
        with _lock:
            expiry = _sessions.get(form["maphien"])
        number = self.stats.count_data_request()
        if expiry is not None and number == self.options.revoke_at:
            with _lock:
                _sessions.clear()
            expiry = None
        if expiry is None or expiry < time.monotonic():
            raise Refused("E02")
        if number in (self.options.busy_at or ()):
            raise Refused("E05")
        try:
            start, end = parse_local(form["tungay"], LOCAL), parse_local(form["denngay"], LOCAL)
        except ValueError:
            raise Refused("E04", "tungay/denngay phải có dạng dd/MM/yyyy HH:mm:ss") from None
        page_text, rows_text = form["trang"], form["sodong"]
        if not page_text.isdigit() or int(page_text) < 1:
            raise Refused("E06", "trang phải là số nguyên từ 1")
        if not rows_text.isdigit() or not 1 <= int(rows_text) <= MAX_ROWS:
            raise Refused("E06", f"sodong phải là số nguyên từ 1 đến {MAX_ROWS}")
        if end <= start:
            raise Refused("E07")
        if end - start > MAX_WINDOW:
            raise Refused("E09")
        page, rows = int(page_text), int(rows_text)
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), int(i["source_record_id"])),
        )
        pages = math.ceil(len(found) / rows)
        if page > max(pages, 1):
            raise Refused("E08", f"Trang {page} vượt quá tổng số trang ({pages})")
        chunk = found[(page - 1) * rows : page * rows]
        paging = f'<PHAN_TRANG TRANG="{page}" SO_DONG="{rows}" TONG_SO_TRANG="{pages}" TONG_SO_BAN_GHI="{len(found)}"/>'
        records = "".join(render(i) for i in chunk)
        listing = f"<DANH_SACH_HO_SO>{records}</DANH_SACH_HO_SO>" if records else "<DANH_SACH_HO_SO/>"
        self.answer(el("MA_LOI", "00") + el("THONG_BAO", "Thành công") + paging + listing)


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--session-ttl", type=float, default=1200, help="seconds a session lives")
    parser.add_argument("--busy-at", type=int, action="append", help="the Nth data request answers E05")


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], options))
