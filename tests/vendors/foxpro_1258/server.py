"""A legacy one-stop app (Visual FoxPro, rewritten as a web form in 2016) whose export writes Windows-1258 CSV.

Contract (what the vendor's handover note says of "Xuất tệp CSV"):
  POST /xuat/hoso.prg  form: tu=dd/MM/yyyy HH:mm  den=dd/MM/yyyy HH:mm  trang=<n>  (50 rows a page)
      form fields user=…&pass=… on every call (no session)
      -> text/plain (no charset), Windows-1258 without a BOM, tones written as combining marks (as the code
         page must); `;` separated, CRLF. Two lines above the header: the unit's name and the period. Header
         names as typed in the FoxPro report designer: a doubled space, a no-break space, a trailing space.
         Times dd/MM/yyyy HH:mm (local), the birth date dd/MM/yyyy, channel and status as the app's letters, the
         memo fields "Quá trình", "Lệ phí", "Giấy tờ" as JSON text (the 2016 rewrite's), amounts in them as
         Vietnamese Excel writes money: "1.500.000 đ", free of charge "0 đ".
  Units are names only, as the clerk picked or typed them: "Xã  phường" and "Quận huyện" (the dossier's commune and
  district; since 2025-07-01 the 2025 commune alone, the district empty), in the styles of the app's years
  ("Xã Nam Hồng", "X. Nam Hồng", "XÃ NAM HỒNG", "Xa Nam Hong"), and the applicant's "Địa chỉ" (house, village,
  commune, district and province; since the cut-over commune and province).
  Sorted by "Ngày  cập nhật" then ID; a page shorter than 50 is the last; the window is half-open.
  Wrong credentials -> HTTP 200 text/plain "LOI: Sai ten dang nhap hoac mat khau" (FoxPro never set a status).
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated
from tests.vendors.truth import commune_names
from tests.vendors.xml_form.server import cp1258

VENDOR = "foxpro_1258"
USER, PASSWORD = "motcua", "Fox#1258"
REFUSAL = "LOI: Sai ten dang nhap hoac mat khau"
PAGE = 50
LOCAL = "%d/%m/%Y %H:%M"
KENH = {1: "T", 2: "B", 3: "D"}  # trực tiếp, bưu chính, dịch vụ công trực tuyến
TRANG_THAI = {1: "CHO", 2: "TN", 4: "XL", 5: "BS", 6: "TC", 9: "KQ", 10: "TRA"}
COLUMNS = [
    "ID", "Mã  hồ sơ", "Mã TTHC", "Tên thủ tục ", "Mã lĩnh vực", "Tên lĩnh vực", "Mã cơ quan", "Tên cơ quan",
    "Kênh", "Trạng thái", "Trích yếu", "Loại chủ hồ sơ", "Chủ hồ sơ", "Loại giấy tờ", "Số giấy tờ", "Điện thoại",
    "Thư\u00a0điện tử", "Ngày sinh", "Địa chỉ", "Ngày nộp", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày có kết quả",
    "Ngày trả kết quả", "Ngày  cập nhật", "Quá trình", "Lệ phí", "Giấy tờ", "Xã  phường", "Quận huyện",
]  # fmt: skip
ABBREVIATED = {
    "Phường": "P.",
    "Xã": "X. ",
    "Thị trấn": "TT. ",
    "Huyện": "H. ",
    "Thị xã": "TX.",
    "Thành phố": "TP ",
}


def styled(name: str | None, style: int) -> str:
    """A unit's name as one of the app's screens wrote it: in full, abbreviated, in capitals, or without marks."""
    if name is None:
        return ""
    if style == 1:
        for kind, short in ABBREVIATED.items():
            if name.startswith(kind + " "):
                return short + name[len(kind) + 1 :]
    if style == 2:
        return name.upper()
    if style == 3:
        plain = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
        return "".join(c for c in plain if not unicodedata.combining(c))
    return name


def local(iso: str | None, pattern: str = LOCAL) -> str:
    return "" if iso is None else datetime.fromisoformat(iso).astimezone(HCM).strftime(pattern)


def money(amount: int) -> str:
    return f"{amount:,} đ".replace(",", ".")


def memo(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def row(item: dict[str, Any]) -> list[str]:
    a = item["applicant"]
    birth = datetime.fromisoformat(a["birth_date"]).strftime("%d/%m/%Y") if a.get("birth_date") else ""
    history = [{"tt": TRANG_THAI[h["status"]], "luc": local(h["at"]), "cb": h["actor"], "nd": h["content"]}
               for h in item["history"]]  # fmt: skip
    fees = [{"ma": f["code"], "ten": f["name"], "tien": money(f["amount_vnd"])} for f in item["fees"]]
    docs = [{"ten": d["name"], "mau": d["form_code"]} for d in item["documents"]]
    commune, district = commune_names(item["commune_code"], item["dvhc_version"])
    style = int(item["source_record_id"]) % 4
    return [
        item["source_record_id"], item["ma_ho_so"], item["procedure_code"], item["procedure_name"],
        item["field_code"], item["field_name"], item["agency_code"], item["agency_name"], KENH[item["channel"]],
        TRANG_THAI[item["status"]], item["summary"], "CN" if a["type"] == 1 else "TC", a["name"],
        "CCCD" if a.get("id_type") == 1 else "", a["id_number"], a["phone"], a.get("email") or "", birth,
        a["address"], local(item.get("submitted_at")), local(item["received_at"]), local(item["due_at"]),
        local(item.get("finished_at")), local(item.get("returned_at")), local(item["source_updated_at"]),
        memo(history), memo(fees), memo(docs), styled(commune, style), styled(district, style),
    ]  # fmt: skip


class Handler(VendorHandler):
    def plain(self, status: int, text: str) -> None:
        self.send_body(status, cp1258(text), "text/plain")

    def vendor(self, method: str) -> None:
        if self.route != "/xuat/hoso.prg" or method != "POST":
            self.refuse(404, "route", lambda: self.plain(404, "Khong tim thay"))
            return
        form = {k: v[0] for k, v in parse_qs(self.raw_body.decode("utf-8")).items()}
        if form.get("user") != USER or form.get("pass") != PASSWORD:
            self.refuse(200, "credentials", lambda: self.plain(200, REFUSAL))
            return
        try:
            start, end = parse_local(form.get("tu", ""), LOCAL), parse_local(form.get("den", ""), LOCAL)
            page = int(form.get("trang", ""))
            if page < 1:
                raise ValueError
        except ValueError:
            self.refuse(400, "parameters", lambda: self.plain(400, "LOI: tham so"))
            return
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), int(i["source_record_id"])),
        )
        out = io.StringIO()
        out.write("UBND HUYỆN NINH GIANG - BỘ PHẬN MỘT CỬA\r\n")
        out.write(f"Từ {start:%d/%m/%Y %H:%M} đến {end:%d/%m/%Y %H:%M}\r\n")
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(COLUMNS)
        writer.writerows(row(i) for i in found[(page - 1) * PAGE : page * PAGE])
        self.send_body(200, cp1258(out.getvalue()), "text/plain")


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
