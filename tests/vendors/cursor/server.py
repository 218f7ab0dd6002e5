"""A provincial software house's sync API: an opaque cursor, a cookie session, an error code beside HTTP 200.

Contract:
  POST /api/dang_nhap   {"ten_dang_nhap": "...", "mat_khau": "..."}
       -> {"ma_loi": "00", "thong_bao": "Đăng nhập thành công"} and Set-Cookie: HCSESSID=...  (no token in the body)
  GET  /api/ho_so/dong_bo?tu_ngay=<ISO 8601>&den_ngay=<ISO 8601>&so_luong=80[&con_tro=<cursor>]   Cookie: HCSESSID
       -> {"ma_loi": "00", "thong_bao": "Thành công",
           "du_lieu": {"danh_sach": [...], "con_tro_tiep": "<opaque>" | null}}
  Every answer is HTTP 200; a code other than "00" is an error ("10" wrong credentials, "11" no session,
  "20" bad parameters, "21" a cursor that belongs to another query). Times are ISO 8601 in UTC with Z in the
  records; the window (half-open on cap_nhat) takes any ISO 8601 offset. snake_case Vietnamese field names.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "cursor"
USER, PASSWORD = "esb_tinh_hd", "Dong#Bo@2025"
REFUSAL = "Sai tên đăng nhập hoặc mật khẩu"
COOKIE = "HCSESSID"
MAX_PAGE = 100
PARAMS = {"tu_ngay", "den_ngay", "so_luong", "con_tro"}

TRANG_THAI = {1: 10, 2: 20, 4: 30, 5: 31, 6: 32, 9: 40, 10: 50}
KENH = {1: "truc_tiep", 2: "truc_tuyen", 3: "buu_chinh"}
LOAI = {1: "ca_nhan", 2: "to_chuc"}

_sessions: set[str] = set()
_lock = threading.Lock()


def utc(iso: str | None) -> str | None:
    return None if iso is None else datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def phone(digits: str) -> str:
    return (
        f"+84 {digits[1:4]} {digits[4:7]} {digits[7:]}"  # international and spaced: the model normalizes it
    )


def render(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    email = a.get("email")
    return {
        "id_ho_so": item["source_record_id"],
        "ma_ho_so": item["ma_ho_so"],
        "thu_tuc": {"ma_quoc_gia": item["procedure_code"], "ten": item["procedure_name"]},
        "linh_vuc": {"ma": item["field_code"], "ten": item["field_name"]},
        "co_quan": {"ma": item["agency_code"], "ten": item["agency_name"]},
        "kenh_nop": KENH[item["channel"]],
        "trang_thai": TRANG_THAI[item["status"]],
        "trich_yeu": item["summary"],
        "chu_ho_so": {
            "loai": LOAI[a["type"]],
            "ho_ten": a["name"],
            "giay_to": {"loai": "cccd" if a.get("id_type") == 1 else None, "so": a["id_number"]},
            "so_dien_thoai": phone(a["phone"]),
            "thu_dien_tu": email.capitalize()
            if email
            else None,  # as typed at the counter; the model lowercases
            "ngay_sinh": a.get("birth_date"),
            "dia_chi": a["address"],
        },
        "thoi_gian": {
            "nop": utc(item.get("submitted_at")),
            "tiep_nhan": utc(item["received_at"]),
            "hen_tra": utc(item["due_at"]),
            "co_ket_qua": utc(item.get("finished_at")),
            "tra_ket_qua": utc(item.get("returned_at")),
            "cap_nhat": utc(item["source_updated_at"]),
        },
        "qua_trinh": [
            {
                "trang_thai": TRANG_THAI[h["status"]],
                "luc": utc(h["at"]),
                "can_bo": h["actor"],
                "noi_dung": h["content"],
            }
            for h in item["history"]
        ],
        "le_phi": [{"ten": f["name"], "ma": f["code"], "so_tien": f["amount_vnd"]} for f in item["fees"]],
        "giay_to_kem": [{"ten": d["name"], "ma_mau": d["form_code"]} for d in item["documents"]],
    }


def cursor_for(query: str, position: int) -> str:
    """Opaque to clients: the position, sealed to the query it belongs to."""
    seal = hashlib.sha256(f"{query}|{position}".encode()).hexdigest()[:16]
    return base64.urlsafe_b64encode(json.dumps({"p": position, "s": seal}).encode()).decode().rstrip("=")


def position_of(cursor: str, query: str) -> int | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        position = int(data["p"])
    except (ValueError, KeyError, TypeError):
        return None
    return position if cursor_for(query, position) == cursor else None


class Handler(VendorHandler):
    def envelope(
        self, code: str, message: str, data: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        self.send_json({"ma_loi": code, "thong_bao": message, "du_lieu": data}, headers=headers)

    def error(self, code: str, message: str, status: int = 200) -> None:
        self.refuse(
            status,
            f"{code} {message}",
            lambda: self.send_json({"ma_loi": code, "thong_bao": message}, status),
        )

    def vendor(self, method: str) -> None:
        if self.route == "/api/dang_nhap" and method == "POST":
            self.login()
        elif self.route == "/api/ho_so/dong_bo" and method == "GET":
            self.sync()
        elif self.route in ("/api/dang_nhap", "/api/ho_so/dong_bo"):
            self.error("405", f"Phương thức {method} không được hỗ trợ", 405)
        else:
            self.error("404", "Không tìm thấy địa chỉ yêu cầu", 404)

    def login(self) -> None:
        try:
            body = self.json_body()
        except ValueError:
            self.error("20", "Dữ liệu đăng nhập không phải JSON", 400)
            return
        if not isinstance(body, dict) or set(body) != {"ten_dang_nhap", "mat_khau"}:
            self.error("20", "Đăng nhập cần đúng hai trường ten_dang_nhap và mat_khau", 400)
            return
        if (body["ten_dang_nhap"], body["mat_khau"]) != (USER, PASSWORD):
            self.error("10", REFUSAL)
            return
        session = secrets.token_hex(16)
        with _lock:
            _sessions.add(session)
        cookie = f"{COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"
        self.envelope("00", "Đăng nhập thành công", headers={"Set-Cookie": cookie})

    def session(self) -> str | None:
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                return value
        return None

    def sync(self) -> None:
        with _lock:
            known = self.session() in _sessions
        if known and self.revoke_due():
            with _lock:
                _sessions.clear()
            known = False
        if not known:
            self.error("11", "Phiên làm việc không tồn tại hoặc đã hết hạn, vui lòng đăng nhập lại")
            return
        unknown = set(self.query) - PARAMS
        if unknown:
            self.error("20", f"Tham số không được hỗ trợ: {', '.join(sorted(unknown))}", 400)
            return
        try:
            start = datetime.fromisoformat(self.param("tu_ngay") or "")
            end = datetime.fromisoformat(self.param("den_ngay") or "")
        except ValueError:
            self.error("20", "tu_ngay/den_ngay phải theo ISO 8601 có múi giờ", 400)
            return
        if start.tzinfo is None or end.tzinfo is None:
            self.error("20", "tu_ngay/den_ngay phải có múi giờ (ví dụ +07:00)", 400)
            return
        size_text = self.param("so_luong") or ""
        if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE:
            self.error("20", f"so_luong phải từ 1 đến {MAX_PAGE}", 400)
            return
        size = int(size_text)
        query = f"{start.isoformat()}|{end.isoformat()}|{size}"
        position = 0
        if self.param("con_tro") is not None:
            found_position = position_of(self.param("con_tro") or "", query)
            if found_position is None:
                self.error("21", "Con trỏ không hợp lệ hoặc không thuộc truy vấn này")
                return
            position = found_position
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        chunk = found[position : position + size]
        following = position + size
        data = {
            "danh_sach": [render(i) for i in chunk],
            "con_tro_tiep": cursor_for(query, following) if following < len(found) else None,
        }
        self.envelope("00", "Thành công", data)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
