"""A district one-stop system behind a reverse proxy under /motcua, with keyset paging by next-page links.

Contract (the vendor's API sheet, "Tài liệu tích hợp API Một cửa v2"):
  GET /motcua/api/v2/ho-so?TuNgay=<ISO 8601 with offset>&DenNgay=<ISO 8601 with offset>&SoLuong=1..100
      Authorization: Basic <user:password>
      -> {"TongSo": 250, "DuLieu": [...], "LienKet": {"TrangSau": "/motcua/api/v2/ho-so?TiepTheo=<opaque>"}}
  The next page is asked for by following LienKet.TrangSau exactly as given: a root-relative URL whose only
  parameter is the opaque TiepTheo token (it carries the window, the page size and the keyset position); any
  other parameter beside it is refused. On the last page TrangSau is null.
  The window is inclusive [TuNgay, DenNgay] on NgayCapNhat; both bounds must carry an offset. Every time in
  the records is ISO 8601 with +07:00. Errors are JSON {"MaLoi": "...", "ThongBao": "..."} with a 4xx status;
  a wrong user or password is 401 with a WWW-Authenticate challenge.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "next_link"
USER, PASSWORD = "dvc_thanhha", "ThanhHa#MotCua2025"
REFUSAL = "Sai tên đăng nhập hoặc mật khẩu, vui lòng kiểm tra lại thông tin xác thực"
PREFIX = "/motcua"  # the reverse proxy's mount point: every URL the API writes starts with it
ROUTE = f"{PREFIX}/api/v2/ho-so"
MAX_PAGE_SIZE = 100
FIRST_PAGE = {"TuNgay", "DenNgay", "SoLuong"}

TRANG_THAI = {1: 10, 2: 20, 4: 30, 5: 31, 6: 32, 9: 40, 10: 50}  # the vendor's numeric status codes
HINH_THUC = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Bưu chính công ích"}
DOI_TUONG = {1: "CaNhan", 2: "DoanhNghiep"}


def render(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    return {
        "IdHoSo": item["source_record_id"],
        "SoHoSo": item["ma_ho_so"],
        "ThuTuc": {"MaQuocGia": item["procedure_code"], "TenThuTuc": item["procedure_name"]},
        "LinhVuc": {"MaLinhVuc": item["field_code"], "TenLinhVuc": item["field_name"]},
        "DonViXuLy": {"MaDonVi": item["agency_code"], "TenDonVi": item["agency_name"]},
        "HinhThucNop": HINH_THUC[item["channel"]],
        "TrangThaiHoSo": TRANG_THAI[item["status"]],
        "TrichYeu": item["summary"],
        "ChuHoSo": {
            "DoiTuong": DOI_TUONG[a["type"]],
            "HoVaTen": a["name"],
            "LoaiGiayTo": "CCCD" if a.get("id_type") == 1 else "",
            "SoGiayTo": a["id_number"],
            "DienThoai": a["phone"],
            **({"Email": a["email"]} if "email" in a else {}),  # absent, not null, when there is none
            "NgaySinh": a.get("birth_date"),
            "DiaChiThuongTru": a["address"],
        },
        "NgayNopTrucTuyen": item.get("submitted_at"),
        "NgayTiepNhan": item["received_at"],
        "NgayHenTra": item["due_at"],
        "NgayXuLyXong": item.get("finished_at"),
        "NgayTraKetQua": item.get("returned_at"),
        "NgayCapNhat": item["source_updated_at"],
        "QuaTrinhXuLy": [
            {
                "TrangThai": TRANG_THAI[h["status"]],
                "ThoiDiem": h["at"],
                "CanBoXuLy": h["actor"],
                "YKien": h["content"],
            }
            for h in item["history"]
        ],
        # amounts as the vendor's UI writes them: thousands separated by dots
        "LePhi": [
            {"TenLePhi": f["name"], "MaLePhi": f["code"], "SoTien": f"{f['amount_vnd']:,}".replace(",", ".")}
            for f in item["fees"]
        ],
        "GiayToKemTheo": [{"TenGiayTo": d["name"], "MaMauDon": d["form_code"]} for d in item["documents"]],
    }


def encode_token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise BadRequest("TOKEN_KHONG_HOP_LE", "Tham số TiepTheo không hợp lệ") from None
    if not isinstance(state, dict) or set(state) != {"tu", "den", "n", "sau"}:
        raise BadRequest("TOKEN_KHONG_HOP_LE", "Tham số TiepTheo không hợp lệ")
    return state


class BadRequest(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def aware(name: str, text: str | None) -> datetime:
    if not text:
        raise BadRequest("THIEU_THAM_SO", f"Thiếu tham số {name}")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            "SAI_DINH_DANG", f"{name} phải theo ISO 8601, ví dụ 2025-01-31T08:00:00+07:00"
        ) from None
    if value.tzinfo is None:
        raise BadRequest("SAI_DINH_DANG", f"{name} phải có múi giờ (ví dụ +07:00)")
    return value


class Handler(VendorHandler):
    server_version = "nginx/1.24.0"

    def error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self.refuse(
            status, code, lambda: self.send_json({"MaLoi": code, "ThongBao": message}, status, headers)
        )

    def vendor(self, method: str) -> None:
        if self.route != ROUTE:
            self.error(404, "KHONG_TIM_THAY", f"Không tìm thấy đường dẫn {self.route}")
        elif method != "GET":
            self.error(405, "SAI_PHUONG_THUC", f"Phương thức {method} không được hỗ trợ")
        elif not self.authorized():
            self.error(401, "XAC_THUC_THAT_BAI", REFUSAL, {"WWW-Authenticate": 'Basic realm="MotCua v2"'})
        else:
            try:
                self.page()
            except BadRequest as exc:
                self.error(400, exc.code, exc.message)

    def authorized(self) -> bool:
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (user, password) == (USER, PASSWORD)

    def page(self) -> None:
        repeated = sorted(k for k, v in self.query.items() if len(v) > 1)
        if repeated:
            raise BadRequest("THAM_SO_LAP", f"Tham số bị lặp: {', '.join(repeated)}")
        if "TiepTheo" in self.query:
            if set(self.query) != {"TiepTheo"}:
                others = ", ".join(sorted(set(self.query) - {"TiepTheo"}))
                raise BadRequest("THAM_SO_THUA", f"TiepTheo không dùng cùng các tham số khác ({others})")
            state = decode_token(self.param("TiepTheo") or "")
        else:
            unknown = sorted(set(self.query) - FIRST_PAGE)
            if unknown:
                raise BadRequest("THAM_SO_LA", f"Tham số không được hỗ trợ: {', '.join(unknown)}")
            start = aware("TuNgay", self.param("TuNgay"))
            end = aware("DenNgay", self.param("DenNgay")) if "DenNgay" in self.query else None
            size_text = self.param("SoLuong") or "20"
            if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_PAGE_SIZE:
                raise BadRequest("SAI_DINH_DANG", f"SoLuong phải là số nguyên từ 1 đến {MAX_PAGE_SIZE}")
            if end is not None and end < start:
                raise BadRequest("KHOANG_THOI_GIAN", "TuNgay phải trước DenNgay")
            state = {
                "tu": start.isoformat(),
                "den": None if end is None else end.isoformat(),
                "n": int(size_text),
                "sau": None,
            }
        start = datetime.fromisoformat(state["tu"])
        end = None if state["den"] is None else datetime.fromisoformat(state["den"])
        found = sorted(
            (i for i in self.truth if start <= updated(i) and (end is None or updated(i) <= end)),
            key=lambda i: (updated(i), int(i["source_record_id"])),
        )
        total, after = len(found), state["sau"]
        if after is not None:  # keyset: the records strictly after the last one sent
            position = (datetime.fromisoformat(after[0]), after[1])
            found = [i for i in found if (updated(i), int(i["source_record_id"])) > position]
        chunk = found[: state["n"]]
        following = None
        if len(found) > len(chunk):
            last = chunk[-1]
            token = encode_token({**state, "sau": [last["source_updated_at"], int(last["source_record_id"])]})
            following = f"{ROUTE}?TiepTheo={quote(token)}"
        self.send_json(
            {
                "TongSo": total,
                "DuLieu": [render(i) for i in chunk],
                "LienKet": {"TrangSau": following},
            }
        )


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
