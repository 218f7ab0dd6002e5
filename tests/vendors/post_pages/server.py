"""A Vietnamese vendor's "Một cửa điện tử" API: search by POST with the page inside a JSON body.

Contract (what a district's IT office would hand over):
  POST /api/auth/dang-nhap   {"tenDangNhap": "...", "matKhau": "..."}
       -> {"succeeded": true, "data": {"token": "...", "thoiHan": 3600}}
  POST /api/hoso/tim-kiem    header X-Auth-Token: <token>
       {"dieuKien": {"tuNgay": "yyyy-MM-dd HH:mm:ss", "denNgay": "yyyy-MM-dd HH:mm:ss"},
        "phanTrang": {"trang": 1, "soBanGhi": 50}}
       -> {"succeeded": true, "data": {"danhSach": [...], "trang": 1, "tongSoTrang": 5, "tongSoBanGhi": 250}}
  Times are local (Asia/Ho_Chi_Minh) WITHOUT a zone, both in the search window and in the records; the window
  is half-open [tuNgay, denNgay) on NgayCapNhat and at most 366 days. Errors are HTTP 200 with
  {"succeeded": false, "message": "...", "errorCode": "..."}, except a malformed request (HTTP 400) and a wrong
  method (HTTP 405), which carry the same envelope.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated

VENDOR = "post_pages"
LOGIN, PASSWORD = "motcua_namsach", "Mc@NamSach2025"
REFUSAL = "Tên đăng nhập hoặc mật khẩu không đúng"  # the wrong-credential message (tests look for it)
TOKEN_TTL_S = 3600
MAX_WINDOW = timedelta(days=366)
MAX_PAGE_SIZE = 100
LOCAL = "%Y-%m-%d %H:%M:%S"

STATUS = {1: "MOI_DANG_KY", 2: "DA_TIEP_NHAN", 4: "DANG_XU_LY", 5: "CHO_BO_SUNG", 6: "CHO_NOP_PHI",
          9: "DA_CO_KET_QUA", 10: "DA_TRA_KET_QUA"}  # fmt: skip
CHANNEL = {1: "TT", 2: "TTU", 3: "BCCI"}
APPLICANT = {1: "CONG_DAN", 2: "TO_CHUC"}

_tokens: dict[str, float] = {}  # token -> monotonic expiry
_lock = threading.Lock()


def local(iso: str | None) -> str | None:
    """A truth time as this vendor writes it: local wall-clock time, no zone."""
    return None if iso is None else datetime.fromisoformat(iso).astimezone(HCM).strftime(LOCAL)


def render(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    birth = a.get("birth_date")
    return {
        "HoSoId": int(item["source_record_id"]),
        "MaHoSo": item["ma_ho_so"],
        "MaThuTuc": f"{item['procedure_code']}.000.00.00.H23",  # the localized code, as catalogues store it
        "TenThuTuc": item["procedure_name"],
        "MaLinhVuc": item["field_code"],
        "TenLinhVuc": item["field_name"],
        "MaCoQuan": item["agency_code"],
        "TenCoQuan": item["agency_name"],
        "HinhThucNop": CHANNEL[item["channel"]],
        "TrangThai": STATUS[item["status"]],
        "TrichYeu": item["summary"],
        "NguoiNop": {
            "LoaiChuThe": APPLICANT[a["type"]],
            "HoTen": a["name"],
            "LoaiGiayTo": "CCCD" if a.get("id_type") == 1 else None,
            "SoGiayTo": a["id_number"],
            "SoDienThoai": a["phone"],
            "ThuDienTu": a.get("email"),
            "NgaySinh": None if birth is None else datetime.fromisoformat(birth).strftime("%d/%m/%Y"),
            "DiaChi": a["address"],
        },
        "NgayNop": local(item.get("submitted_at")),
        "NgayTiepNhan": local(item["received_at"]),
        "NgayHenTra": local(item["due_at"]),
        "NgayCoKetQua": local(item.get("finished_at")),
        "NgayTraKetQua": local(item.get("returned_at")),
        "NgayCapNhat": local(item["source_updated_at"]),
        "QuaTrinhXuLy": [
            {
                "TrangThai": STATUS[h["status"]],
                "ThoiGian": local(h["at"]),
                "NguoiXuLy": h["actor"],
                "NoiDung": h["content"],
            }
            for h in item["history"]
        ],
        "PhiLePhi": [
            {"TenPhi": f["name"], "MaPhi": f["code"], "SoTien": f["amount_vnd"]} for f in item["fees"]
        ],
        "ThanhPhanHoSo": [{"TenGiayTo": d["name"], "MaBieuMau": d["form_code"]} for d in item["documents"]],
    }


class BadRequest(Exception):
    pass


class Handler(VendorHandler):
    def fail(self, message: str, code: str, status: int = 200, reason: str | None = None) -> None:
        envelope = {"succeeded": False, "message": message, "errorCode": code, "data": None}
        self.refuse(status, reason or code, lambda: self.send_json(envelope, status))

    def vendor(self, method: str) -> None:
        routes = {"/api/auth/dang-nhap": self.login, "/api/hoso/tim-kiem": self.search}
        if self.route not in routes:
            self.fail("Không tìm thấy tài nguyên", "NOT_FOUND", 404)
        elif method != "POST":
            self.fail(f"Phương thức {method} không được hỗ trợ, hãy dùng POST", "METHOD_NOT_ALLOWED", 405)
        elif self.query:
            self.fail(f"Không chấp nhận tham số trên URL: {', '.join(self.query)}", "BAD_REQUEST", 400)
        else:
            try:
                body = self.json_body()
                if not isinstance(body, dict):
                    raise BadRequest("Nội dung yêu cầu phải là một đối tượng JSON")
                routes[self.route](body)
            except (ValueError, BadRequest) as exc:
                message = (
                    str(exc) if isinstance(exc, BadRequest) else "Nội dung yêu cầu không phải JSON hợp lệ"
                )
                self.fail(message, "BAD_REQUEST", 400)

    def login(self, body: dict[str, Any]) -> None:
        if set(body) != {"tenDangNhap", "matKhau"}:
            raise BadRequest("Yêu cầu đăng nhập gồm đúng hai trường tenDangNhap và matKhau")
        if body["tenDangNhap"] != LOGIN or body["matKhau"] != PASSWORD:
            self.fail(REFUSAL, "LOGIN_FAILED")
            return
        token = secrets.token_hex(20)
        with _lock:
            _tokens[token] = time.monotonic() + TOKEN_TTL_S
        self.send_json({"succeeded": True, "message": None, "data": {"token": token, "thoiHan": TOKEN_TTL_S}})

    def search(self, body: dict[str, Any]) -> None:
        token = self.headers.get("X-Auth-Token")
        with _lock:
            expiry = _tokens.get(token or "")
        if expiry is not None and self.revoke_due():
            with _lock:
                _tokens.clear()
            expiry = None
        if expiry is None or expiry < time.monotonic():
            self.fail("Phiên đăng nhập không hợp lệ hoặc đã hết hạn", "UNAUTHORIZED")
            return
        if set(body) != {"dieuKien", "phanTrang"}:
            raise BadRequest("Yêu cầu tìm kiếm gồm đúng hai trường dieuKien và phanTrang")
        cond, paging = body["dieuKien"], body["phanTrang"]
        if not isinstance(cond, dict) or set(cond) != {"tuNgay", "denNgay"}:
            raise BadRequest("dieuKien gồm đúng hai trường tuNgay và denNgay")
        if not isinstance(paging, dict) or set(paging) != {"trang", "soBanGhi"}:
            raise BadRequest("phanTrang gồm đúng hai trường trang và soBanGhi")
        page, size = paging["trang"], paging["soBanGhi"]
        if type(page) is not int or page < 1:
            raise BadRequest("phanTrang.trang phải là số nguyên từ 1")
        if type(size) is not int or not 1 <= size <= MAX_PAGE_SIZE:
            raise BadRequest(f"phanTrang.soBanGhi phải là số nguyên từ 1 đến {MAX_PAGE_SIZE}")
        try:
            start, end = (parse_local(str(cond[k]), LOCAL) for k in ("tuNgay", "denNgay"))
        except ValueError:
            raise BadRequest("tuNgay/denNgay phải có dạng yyyy-MM-dd HH:mm:ss") from None
        if end < start:
            self.fail("tuNgay phải trước denNgay", "INVALID_RANGE")
            return
        if end - start > MAX_WINDOW:
            self.fail("Khoảng thời gian tìm kiếm không được vượt quá 366 ngày", "RANGE_TOO_LONG")
            return
        found = sorted(
            (item for item in self.truth if start <= updated(item) < end),
            key=lambda item: (updated(item), item["source_record_id"]),
        )
        chunk = found[(page - 1) * size : page * size]
        data = {
            "danhSach": [render(item) for item in chunk],
            "trang": page,
            "tongSoTrang": math.ceil(len(found) / size),
            "tongSoBanGhi": len(found),
        }
        self.send_json({"succeeded": True, "message": None, "data": data})


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
