"""A provincial integration gateway (LGSP style) that checks a signature on every call, and its time.

Contract (the gateway's integration guide):
  GET /lgsp/motcua/v2/hoso?tuNgay=yyyy-MM-dd HH:mm:ss&denNgay=yyyy-MM-dd HH:mm:ss&trang=<n>&soBanGhi=<n ≤ 80>
      X-Ma-Ung-Dung: <application id>          X-Thoi-Gian: <seconds since 1970>      X-Nonce: <once only>
      X-Chu-Ky: base64(HMAC-SHA256(<application secret>, "GET\n<path>\n<query as sent>\n<X-Thoi-Gian>\n<X-Nonce>"))
      -> {"maKetQua": "0", "moTa": "Thành công", "duLieu": {"danhSach": [...], "tongSoBanGhi": 250}}
  A request more than 300 s off the gateway's clock, a nonce seen before (a replay), an unknown application or a
  signature that does not match -> HTTP 401 {"maKetQua": "401", "moTa": "..."}. The records are the provincial
  one-stop app's (post_pages' shape: PascalCase Vietnamese, local times without a zone); the window is half-open
  on NgayCapNhat.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from typing import Any

from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated
from tests.vendors.post_pages.server import render

VENDOR = "signed_gateway"
APP_ID, SECRET = "motcua-hd-binhgiang", "k9Q2-vT7e-4LzP-88aa"
REFUSAL = "Chữ ký không hợp lệ"
WRONG_CONNECTION = {"password": "sai-khoa-bi-mat-0000"}
MAX_PAGE = 80
SKEW_S = 300
LOCAL = "%Y-%m-%d %H:%M:%S"
PATH = "/lgsp/motcua/v2/hoso"

_nonces: set[str] = set()
_lock = threading.Lock()


def signature(method: str, path: str, query: str, stamp: str, nonce: str, secret: str = SECRET) -> str:
    message = f"{method}\n{path}\n{query}\n{stamp}\n{nonce}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


class Handler(VendorHandler):
    def refused(self, status: int, reason: str, said: str) -> None:
        self.refuse(status, reason, lambda: self.send_json({"maKetQua": str(status), "moTa": said}, status))

    def signed(self) -> str | None:
        """Why the request's signature is refused, or None."""
        stamp, nonce = self.headers.get("X-Thoi-Gian", ""), self.headers.get("X-Nonce", "")
        if self.headers.get("X-Ma-Ung-Dung") != APP_ID:
            return "Ứng dụng chưa được đăng ký với trục liên thông"
        if not stamp.isdigit() or abs(int(stamp) - time.time()) > SKEW_S:
            return "Thời gian yêu cầu lệch quá 300 giây so với trục liên thông"
        query = self.path.partition("?")[2]
        expected = signature(self.command, self.route, query, stamp, nonce)
        if not nonce or not hmac.compare_digest(expected, self.headers.get("X-Chu-Ky", "")):
            return REFUSAL
        with _lock:
            if nonce in _nonces:
                return "Yêu cầu đã được gửi trước đó (nonce trùng)"
            _nonces.add(nonce)
        return None

    def vendor(self, method: str) -> None:
        if self.route != PATH or method != "GET":
            self.refused(404, "route", "Không tìm thấy dịch vụ")
            return
        if (why := self.signed()) is not None:
            self.refused(401, "signature", why)
            return
        try:
            start, end = (parse_local(self.param(k) or "", LOCAL) for k in ("tuNgay", "denNgay"))
            page, size = int(self.param("trang") or ""), int(self.param("soBanGhi") or "")
            if page < 1 or not 1 <= size <= MAX_PAGE:
                raise ValueError
        except ValueError:
            self.refused(400, "parameters", "Tham số không hợp lệ")
            return
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        rows: list[dict[str, Any]] = [render(i) for i in found[(page - 1) * size : page * size]]
        self.send_json(
            {"maKetQua": "0", "moTa": "Thành công", "duLieu": {"danhSach": rows, "tongSoBanGhi": len(found)}}
        )


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
