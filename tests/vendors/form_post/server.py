"""A PHP one-stop system: the list is a form POST, every answer is HTTP 200 with a status envelope.

Contract (the vendor's "tài liệu API" page):
  POST /api/v1/hoso/danh-sach    Authorization: Bearer <token issued by the district>
       Content-Type: application/x-www-form-urlencoded
       tu_ngay=<epoch s>&den_ngay=<epoch s>&trang=1..&so_dong=1..100
    -> {"status": "ok", "data": {"ho_so": [...], "trang": 1, "so_dong": 80}}
  The window is inclusive [tu_ngay, den_ngay] on ngay_cap_nhat; every time, in the request and the answers, is
  epoch seconds; statuses and channels are slugs. A page shorter than so_dong is the last.
  Errors carry the envelope {"status": "error", "code": "...", "msg": "..."}. A missing, wrong or revoked token
  is code AUTH_FAILED inside HTTP 200 (the framework's auth filter answers before routing); a malformed request
  is 400 (INVALID_REQUEST, INVALID_PARAM), a wrong route 404, a wrong method 405.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "form_post"
TOKEN = "hdgl.7f3e91c04b2a4d6e8a15c9b0d2e4f617"
REFUSAL = "Mã truy cập không hợp lệ hoặc đã bị thu hồi"
ROUTE = "/api/v1/hoso/danh-sach"
MAX_ROWS = 100
FIELDS = ("tu_ngay", "den_ngay", "trang", "so_dong")

TRANG_THAI = {1: "moi_nop", 2: "da_tiep_nhan", 4: "dang_xu_ly", 5: "cho_bo_sung", 6: "cho_nop_phi",
              9: "da_co_kq", 10: "da_tra_kq"}  # fmt: skip
KENH = {1: "truc_tiep", 2: "truc_tuyen", 3: "buu_chinh"}
LOAI = {1: "ca_nhan", 2: "to_chuc"}


def epoch(iso: str | None) -> int | None:
    return None if iso is None else int(datetime.fromisoformat(iso).timestamp())


def birth_epoch(day: str | None) -> int | None:
    """The vendor keeps a birth date as the epoch of its local midnight (negative before 1970)."""
    return None if day is None else int(datetime.fromisoformat(day).replace(tzinfo=HCM).timestamp())


def render(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    return {
        "hs_id": int(item["source_record_id"]),
        "ma_ho_so": item["ma_ho_so"],
        "ma_tthc": item["procedure_code"],
        "ten_tthc": item["procedure_name"],
        "ma_linh_vuc": item["field_code"],
        "ten_linh_vuc": item["field_name"],
        "ma_don_vi": item["agency_code"],
        "ten_don_vi": item["agency_name"],
        "kenh_nop": KENH[item["channel"]],
        "trang_thai": TRANG_THAI[item["status"]],
        "trich_yeu": item["summary"],
        "nguoi_nop_loai": LOAI[a["type"]],  # a PHP table row: the applicant flattened into the dossier
        "nguoi_nop_ten": a["name"],
        "nguoi_nop_loai_gt": "cccd" if a.get("id_type") == 1 else "",
        "nguoi_nop_so_gt": a["id_number"],
        "nguoi_nop_sdt": a["phone"],
        "nguoi_nop_email": a.get("email", ""),
        "nguoi_nop_ngay_sinh": birth_epoch(a.get("birth_date")),
        "nguoi_nop_dia_chi": a["address"],
        "ngay_nop": epoch(item.get("submitted_at")) or 0,  # 0 when there is none, as PHP writes it
        "ngay_tiep_nhan": epoch(item["received_at"]),
        "ngay_hen_tra": epoch(item["due_at"]),
        "ngay_co_kq": epoch(item.get("finished_at")) or 0,
        "ngay_tra_kq": epoch(item.get("returned_at")) or 0,
        "ngay_cap_nhat": epoch(item["source_updated_at"]),
        "lich_su": [
            {
                "trang_thai": TRANG_THAI[h["status"]],
                "thoi_gian": epoch(h["at"]),
                "can_bo": h["actor"],
                "noi_dung": h["content"],
            }
            for h in item["history"]
        ],
        "phi_le_phi": [
            {"ten_phi": f["name"], "ma_phi": f["code"], "so_tien": str(f["amount_vnd"])} for f in item["fees"]
        ],
        "thanh_phan": [{"ten_giay_to": d["name"], "ma_mau": d["form_code"]} for d in item["documents"]],
    }


class Handler(VendorHandler):
    server_version = "Apache/2.4.57 (Debian)"

    def error(self, code: str, msg: str, status: int = 200) -> None:
        self.refuse(
            status, code, lambda: self.send_json({"status": "error", "code": code, "msg": msg}, status)
        )

    def vendor(self, method: str) -> None:
        if self.route != ROUTE:
            self.error("NOT_FOUND", "Không tìm thấy API", 404)
        elif method != "POST":
            self.error("METHOD_NOT_ALLOWED", "API chỉ nhận phương thức POST", 405)
        elif self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.error("AUTH_FAILED", REFUSAL)
        elif not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            self.error(
                "INVALID_REQUEST", "Dữ liệu gửi lên phải ở dạng application/x-www-form-urlencoded", 400
            )
        elif self.query:
            self.error(
                "INVALID_REQUEST", f"Không nhận tham số trên URL: {', '.join(sorted(self.query))}", 400
            )
        else:
            self.list_page()

    def list_page(self) -> None:
        try:
            form = parse_qs(self.raw_body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            self.error("INVALID_REQUEST", "Dữ liệu form không hợp lệ", 400)
            return
        unknown = sorted(set(form) - set(FIELDS))
        if unknown:
            self.error("INVALID_PARAM", f"Tham số không hợp lệ: {', '.join(unknown)}", 400)
            return
        values: dict[str, int] = {}
        for name in FIELDS:
            given = form.get(name)
            if not given or len(given) > 1 or not given[0].lstrip("-").isdigit():
                self.error("INVALID_PARAM", f"Thiếu hoặc sai tham số {name} (số nguyên)", 400)
                return
            values[name] = int(given[0])
        if values["trang"] < 1 or not 1 <= values["so_dong"] <= MAX_ROWS:
            self.error("INVALID_PARAM", f"trang tính từ 1; so_dong từ 1 đến {MAX_ROWS}", 400)
            return
        if values["den_ngay"] < values["tu_ngay"]:
            self.error("INVALID_PARAM", "tu_ngay phải nhỏ hơn hoặc bằng den_ngay", 400)
            return
        found = sorted(
            (i for i in self.truth if values["tu_ngay"] <= updated(i).timestamp() <= values["den_ngay"]),
            key=lambda i: (updated(i), int(i["source_record_id"])),
        )
        page, rows = values["trang"], values["so_dong"]
        chunk = found[(page - 1) * rows : page * rows]
        self.send_json(
            {"status": "ok", "data": {"ho_so": [render(i) for i in chunk], "trang": page, "so_dong": rows}}
        )


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
