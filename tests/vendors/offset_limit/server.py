"""An old ASP.NET-era district system exposing JSON: offset/limit, an API key in the query, Windows-1258.

Contract:
  GET /HSMC/API/DanhSachHoSo.ashx?khoa=<key>&tu=dd/MM/yyyy HH:mm&den=dd/MM/yyyy HH:mm&batdau=0&soluong=100
      -> {"KETQUA": "OK", "TONGSO": 250, "BATDAU": 0, "DULIEU": [...]}
  Every answer (errors too) is JSON encoded in Windows-1258 (`charset=windows-1258`), the way Vietnamese Windows
  software writes it: base letters with their hat or horn precomposed, tone marks as combining characters.
  Field names are UPPERCASE; times `dd/MM/yyyy HH:mm` local; missing values are empty strings; amounts are
  text with dots ("75.000"). The window is half-open on NGAYCAPNHAT and at most 92 days; soluong ≤ 100.
  A wrong key -> HTTP 403 {"KETQUA": "LOI", "THONGBAO": "..."}; other mistakes -> HTTP 400, same shape.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated

VENDOR = "offset_limit"
API_KEY = "HD-NS-7Q2M-44KX-A1"
REFUSAL = "Khóa truy cập không hợp lệ hoặc đã bị thu hồi"
MAX_WINDOW = timedelta(days=92)
MAX_LIMIT = 100
PATH = "/HSMC/API/DanhSachHoSo.ashx"
PARAMS = {"khoa", "tu", "den", "batdau", "soluong"}
LOCAL = "%d/%m/%Y %H:%M"
TONES = (
    "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook above, dot below: cp1258's combining marks
)

TRANGTHAI = {1: "0", 2: "1", 4: "2", 5: "3", 6: "4", 9: "5", 10: "6"}
KENH = {1: "TRUCTIEP", 2: "TRUCTUYEN", 3: "BUUCHINH"}
LOAI = {1: "CD", 2: "DN"}


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


def amount(vnd: int) -> str:
    return f"{vnd:,}".replace(",", ".")


def render(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    birth = a.get("birth_date")
    return {
        "ID": item["source_record_id"],
        "MAHOSO": item["ma_ho_so"],
        "MATTHC": item["procedure_code"],
        "TENTTHC": item["procedure_name"],
        "MALINHVUC": item["field_code"],
        "TENLINHVUC": item["field_name"],
        "MADONVI": item["agency_code"],
        "TENDONVI": item["agency_name"],
        "KENHNOP": KENH[item["channel"]],
        "TRANGTHAI": TRANGTHAI[item["status"]],
        "TRICHYEU": item["summary"],
        "LOAICHUHOSO": LOAI[a["type"]],
        "TENCHUHOSO": a["name"],
        "LOAIGIAYTO": "CCCD" if a.get("id_type") == 1 else "",
        "SOGIAYTO": a["id_number"],
        "DIENTHOAI": a["phone"],
        "EMAIL": a.get("email") or "",
        "NGAYSINH": "" if birth is None else datetime.fromisoformat(birth).strftime("%d/%m/%Y"),
        "DIACHI": a["address"],
        "NGAYNOP": local(item.get("submitted_at")),
        "NGAYTIEPNHAN": local(item["received_at"]),
        "NGAYHENTRA": local(item["due_at"]),
        "NGAYCOKQ": local(item.get("finished_at")),
        "NGAYTRAKQ": local(item.get("returned_at")),
        "NGAYCAPNHAT": local(item["source_updated_at"]),
        "QUATRINH": [
            {
                "TRANGTHAI": TRANGTHAI[h["status"]],
                "THOIGIAN": local(h["at"]),
                "CANBO": h["actor"],
                "NOIDUNG": h["content"],
            }
            for h in item["history"]
        ],
        "LEPHI": [
            {"TENPHI": f["name"], "MAPHI": f["code"], "SOTIEN": amount(f["amount_vnd"])} for f in item["fees"]
        ],
        "GIAYTO": [{"TENGIAYTO": d["name"], "MABIEUMAU": d["form_code"]} for d in item["documents"]],
    }


class Handler(VendorHandler):
    def answer(self, obj: dict[str, Any], status: int = 200) -> None:
        body = cp1258(json.dumps(obj, ensure_ascii=False))
        self.send_body(status, body, "application/json; charset=windows-1258")

    def error(self, status: int, message: str) -> None:
        self.refuse(status, message, lambda: self.answer({"KETQUA": "LOI", "THONGBAO": message}, status))

    def vendor(self, method: str) -> None:
        if self.route != PATH:
            self.error(404, "Không tìm thấy trang yêu cầu")
            return
        if method != "GET":
            self.error(405, "Chỉ hỗ trợ phương thức GET")
            return
        if self.param("khoa") != API_KEY:
            self.error(403, REFUSAL)
            return
        unknown = set(self.query) - PARAMS
        if unknown:
            self.error(400, f"Tham số không hợp lệ: {', '.join(sorted(unknown))}")
            return
        missing = PARAMS - set(self.query)
        if missing:
            self.error(400, f"Thiếu tham số: {', '.join(sorted(missing))}")
            return
        try:
            start, end = (
                parse_local(self.param("tu") or "", LOCAL),
                parse_local(self.param("den") or "", LOCAL),
            )
        except ValueError:
            self.error(400, "Tham số tu/den phải có dạng dd/MM/yyyy HH:mm")
            return
        offset_text, limit_text = self.param("batdau") or "", self.param("soluong") or ""
        if not (offset_text.isdigit() and limit_text.isdigit()) or not 1 <= int(limit_text) <= MAX_LIMIT:
            self.error(400, f"batdau phải là số không âm, soluong từ 1 đến {MAX_LIMIT}")
            return
        if end < start or end - start > MAX_WINDOW:
            self.error(400, "Khoảng thời gian truy vấn không hợp lệ (tối đa 92 ngày)")
            return
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        offset, limit = int(offset_text), int(limit_text)
        self.answer(
            {
                "KETQUA": "OK",
                "TONGSO": len(found),
                "BATDAU": offset,
                "DULIEU": [render(i) for i in found[offset : offset + limit]],
            }
        )


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
