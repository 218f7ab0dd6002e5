"""A one-stop API whose records come as base64 of a JSON text inside the JSON answer (a Java/Spring gateway).

Contract (what a district's IT office would hand over):
  GET /api/v1/ho-so?tuNgay=yyyy-MM-dd HH:mm:ss&denNgay=yyyy-MM-dd HH:mm:ss&trang=1&soLuong=80
      header X-API-KEY: <key>
      -> {"maLoi": 0, "thongBao": "Thành công", "tongSo": 250,
          "duLieu": "<base64 of the page's records as a UTF-8 JSON list, wrapped at 76 characters with CRLF>"}
  The total is beside the data, not inside it. Times are local (Asia/Ho_Chi_Minh) without a zone in the window,
  ISO 8601 with +07:00 and milliseconds in the records; the window is half-open [tuNgay, denNgay) on
  ngayCapNhat. Errors are HTTP 200 with {"maLoi": <code>, "thongBao": "...", "tongSo": 0, "duLieu": null};
  an empty page is "duLieu": "" (the gateway writes no base64 for nothing).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated

VENDOR = "json_string"
API_KEY = "dvc-kinhmon-7f3a9c2e41"
REFUSAL = (
    "Khóa truy cập API không hợp lệ hoặc đã bị thu hồi"  # the wrong-credential message (tests look for it)
)
WRONG_CONNECTION = {"password": "dvc-kinhmon-0000000000"}
MAX_PAGE_SIZE = 100
LOCAL = "%Y-%m-%d %H:%M:%S"
STATUS = {1: 10, 2: 20, 4: 30, 5: 35, 6: 36, 9: 40, 10: 50}  # the gateway's own numbers
CHANNEL = {1: "TRUC_TIEP", 2: "TRUC_TUYEN", 3: "BUU_CHINH"}


def iso(value: str | None) -> str | None:
    """A truth time as this vendor writes it: ISO 8601, local offset, milliseconds."""
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(HCM).isoformat(timespec="milliseconds")


def render(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    return {
        "id": int(item["source_record_id"]),
        "soHoSo": item["ma_ho_so"],
        "thuTuc": {"ma": item["procedure_code"], "ten": item["procedure_name"]},
        "linhVuc": {"ma": item["field_code"], "ten": item["field_name"]},
        "coQuan": {"ma": item["agency_code"], "ten": item["agency_name"]},
        "kenhNop": CHANNEL[item["channel"]],
        "trangThai": STATUS[item["status"]],
        "trichYeu": item["summary"],
        "nguoiNop": {
            "loai": a["type"],
            "hoTen": a["name"],
            "loaiGiayTo": "CCCD" if a.get("id_type") == 1 else None,
            "soGiayTo": a["id_number"],
            "dienThoai": a["phone"],
            "email": a.get("email"),
            "ngaySinh": a.get("birth_date"),
            "diaChi": a["address"],
        },
        "ngayNop": iso(item.get("submitted_at")),
        "ngayTiepNhan": iso(item["received_at"]),
        "ngayHenTra": iso(item["due_at"]),
        "ngayCoKetQua": iso(item.get("finished_at")),
        "ngayTraKetQua": iso(item.get("returned_at")),
        "ngayCapNhat": iso(item["source_updated_at"]),
        "quaTrinh": [
            {
                "trangThai": STATUS[h["status"]],
                "thoiDiem": iso(h["at"]),
                "canBo": h["actor"],
                "noiDung": h["content"],
            }
            for h in item["history"]
        ],
        "phi": [{"ma": f["code"], "ten": f["name"], "soTien": f["amount_vnd"]} for f in item["fees"]],
        "giayTo": [{"ten": d["name"], "maMau": d["form_code"]} for d in item["documents"]],
    }


def wrapped_base64(data: bytes) -> str:
    """Base64 as Java's MIME encoder writes it: lines of 76 characters, CRLF between them."""
    text = base64.b64encode(data).decode("ascii")
    return "\r\n".join(text[i : i + 76] for i in range(0, len(text), 76))


class Handler(VendorHandler):
    def envelope(self, code: int, message: str, total: int = 0, data: str | None = None) -> dict[str, Any]:
        return {"maLoi": code, "thongBao": message, "tongSo": total, "duLieu": data}

    def fail(self, code: int, message: str, reason: str, status: int = 200) -> None:
        self.refuse(status, reason, lambda: self.send_json(self.envelope(code, message), status))

    def vendor(self, method: str) -> None:
        if self.route != "/api/v1/ho-so":
            self.fail(404, "Không tìm thấy tài nguyên", "not found", 404)
        elif method != "GET":
            self.fail(405, f"Phương thức {method} không được hỗ trợ", "method", 405)
        elif self.headers.get("X-API-KEY") != API_KEY:
            self.fail(401, REFUSAL, "api key")
        else:
            self.search()

    def search(self) -> None:
        expected = {"tuNgay", "denNgay", "trang", "soLuong"}
        if set(self.query) != expected or any(len(v) != 1 for v in self.query.values()):
            self.fail(
                400, f"Tham số phải gồm đúng một lần mỗi tham số {', '.join(sorted(expected))}", "params", 400
            )
            return
        try:
            start, end = (parse_local(self.param(k) or "", LOCAL) for k in ("tuNgay", "denNgay"))
            page, size = int(self.param("trang") or ""), int(self.param("soLuong") or "")
        except ValueError:
            self.fail(
                400, "tuNgay/denNgay có dạng yyyy-MM-dd HH:mm:ss; trang, soLuong là số nguyên", "format", 400
            )
            return
        if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            self.fail(400, f"trang từ 1; soLuong từ 1 đến {MAX_PAGE_SIZE}", "range", 400)
            return
        found = sorted(
            (item for item in self.truth if start <= updated(item) < end),
            key=lambda item: (updated(item), item["source_record_id"]),
        )
        chunk = [render(item) for item in found[(page - 1) * size : page * size]]
        data = wrapped_base64(json.dumps(chunk, ensure_ascii=False).encode("utf-8")) if chunk else ""
        self.send_json(self.envelope(0, "Thành công", len(found), data))


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
