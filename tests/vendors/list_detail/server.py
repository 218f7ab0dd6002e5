"""A one-stop API that lists summaries and serves each dossier by a second call (a list + detail REST API).

Contract:
  POST /api/v1/dang-nhap  form username, password, grant_type=password
       -> {"access_token": "<opaque>", "token_type": "bearer", "expires_in": 300}; wrong -> HTTP 401 {"error": ...}
  GET  /api/v1/ho-so/tom-tat?tuNgay=<ISO 8601>&denNgay=<ISO 8601>&batDau=<offset>&soLuong=<n ≤ 100>
       Authorization: Bearer <token>
       -> {"maLoi": 0, "conTiep": true|false, "duLieu": [{"hoSoId": "NS/<id>", "capNhatLuc": "<ISO 8601>"}]}
  GET  /api/v1/ho-so/<hoSoId, percent-encoded: NS%2F123>/chi-tiet   Authorization: Bearer <token>
       -> {"maLoi": 0, "thongBao": "Thành công", "duLieu": {the whole dossier, Kinh Môn's gateway shape}}
       an id it never listed -> HTTP 404 {"maLoi": 404, "thongBao": "Không tìm thấy hồ sơ"}
  Control (tests only): GET /_vendor/gone?ids=NS/1,NS/2 answers those details 404 until it is called again
  (`ids=` empty: none), as a dossier withdrawn for editing between the list and its detail.
  The summary's id holds a slash (`NS/123`): a client that does not percent-encode it asks for another path and
  is answered 404. The window is half-open on the update time; times ISO 8601 with +07:00.
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.vendors.common import VendorHandler, arguments, serve, updated
from tests.vendors.json_string.server import iso, render

VENDOR = "list_detail"
USER, PASSWORD = "lienthong_tinh", "Nam-Sach@2025!"
REFUSAL = "Tên đăng nhập hoặc mật khẩu không đúng"
MAX_PAGE = 100
LIST, DETAIL_PREFIX, DETAIL_SUFFIX = "/api/v1/ho-so/tom-tat", "/api/v1/ho-so/", "/chi-tiet"

_tokens: set[str] = set()
_gone: set[str] = set()  # listed ids whose detail answers 404 (the control endpoint sets them)
_lock = threading.Lock()


def listed_id(item: dict[str, Any]) -> str:
    return f"NS/{item['source_record_id']}"


class Handler(VendorHandler):
    def fail(self, status: int, code: int, message: str) -> None:
        self.refuse(
            status, f"{code} {message}", lambda: self.send_json({"maLoi": code, "thongBao": message}, status)
        )

    def vendor(self, method: str) -> None:
        if self.route == "/api/v1/dang-nhap" and method == "POST":
            self.login()
            return
        if method != "GET":
            self.fail(405, 405, f"Phương thức {method} không được hỗ trợ")
            return
        with _lock:
            known = (self.headers.get("Authorization") or "").removeprefix("Bearer ") in _tokens
        if not known:
            self.refuse(401, "token", lambda: self.send_json({"error": "invalid_token"}, 401))
        elif self.route == LIST:
            self.summaries()
        elif self.route.startswith(DETAIL_PREFIX) and self.route.endswith(DETAIL_SUFFIX):
            self.detail(self.route[len(DETAIL_PREFIX) : -len(DETAIL_SUFFIX)])
        else:
            self.fail(404, 404, "Không tìm thấy địa chỉ yêu cầu")

    def vendor_control(self, method: str) -> bool:
        if method != "GET" or self.route != "/_vendor/gone":
            return False
        with _lock:
            _gone.clear()
            _gone.update(i for i in (self.param("ids") or "").split(",") if i)
            self.send_json({"gone": sorted(_gone)})
        return True

    def login(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self.raw_body.decode("utf-8")).items()}
        if form != {"username": USER, "password": PASSWORD, "grant_type": "password"}:
            self.refuse(
                401,
                "login",
                lambda: self.send_json({"error": "invalid_grant", "error_description": REFUSAL}, 401),
            )
            return
        token = secrets.token_urlsafe(24)
        with _lock:
            _tokens.add(token)
        self.send_json({"access_token": token, "token_type": "bearer", "expires_in": 300})

    def summaries(self) -> None:
        if set(self.query) != {"tuNgay", "denNgay", "batDau", "soLuong"}:
            self.fail(400, 400, "Cần đúng các tham số tuNgay, denNgay, batDau, soLuong")
            return
        try:
            start, end = (datetime.fromisoformat(self.param(k) or "") for k in ("tuNgay", "denNgay"))
            offset, size = int(self.param("batDau") or ""), int(self.param("soLuong") or "")
        except ValueError:
            self.fail(400, 400, "tuNgay/denNgay theo ISO 8601; batDau, soLuong là số nguyên")
            return
        if start.tzinfo is None or offset < 0 or not 1 <= size <= MAX_PAGE:
            self.fail(400, 400, f"tuNgay/denNgay có múi giờ; batDau từ 0; soLuong từ 1 đến {MAX_PAGE}")
            return
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        chunk = found[offset : offset + size]
        summaries = [{"hoSoId": listed_id(i), "capNhatLuc": iso(i["source_updated_at"])} for i in chunk]
        self.send_json({"maLoi": 0, "conTiep": offset + size < len(found), "duLieu": summaries})

    def detail(self, segment: str) -> None:
        wanted = unquote(segment)  # one path segment: NS%2F123 is NS/123; a raw slash never gets here
        item = next((i for i in self.truth if listed_id(i) == wanted), None)
        with _lock:
            gone = wanted in _gone
        if item is None or "/" in segment or gone:
            self.fail(404, 404, "Không tìm thấy hồ sơ")
            return
        self.send_json({"maLoi": 0, "thongBao": "Thành công", "duLieu": render(item)})


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
