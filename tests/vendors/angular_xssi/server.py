"""An AngularJS-era one-stop system (a JHipster-style Spring backend) that guards every JSON answer against
JSON hijacking (XSSI) by prefixing it with `)]}',` and a newline, as AngularJS's $http expects and strips.

Contract:
  POST /api/authenticate  {"username": "...", "password": "...", "rememberMe": false}
       -> 200 )]}',\\n{"id_token": "<jwt-like>"}
       wrong credentials -> 401 )]}',\\n{"title": "Unauthorized", "status": 401, "detail": "<REFUSAL>"}
  GET  /api/ho-sos?tuNgay=yyyy-MM-ddTHH:mm:ss&denNgay=...&page=<0-based>&size=<n ≤ 100>
       header Authorization: Bearer <id_token>
       -> 200 )]}',\\n[ {...}, ... ]   header X-Total-Count: <records in the window>
       an unknown or revoked token -> 401 (the same problem body).
  Every answer, errors included, carries the prefix; Content-Type application/json;charset=UTF-8. The records are
  Bình Giang's Spring shape (spring_hal_vn); the window is local time without a zone, half-open on ngayCapNhat.
  Test options: --revoke-at N revokes every token at the Nth data request.
"""

from __future__ import annotations

import json
import secrets
import threading
from typing import Any

from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated
from tests.vendors.spring_hal.server import render

VENDOR = "angular_xssi"
LOGIN, PASSWORD = "motcua.thanhmien", "ThanhMien@2025"
REFUSAL = "Tên đăng nhập hoặc mật khẩu không đúng"
LOCAL = "%Y-%m-%dT%H:%M:%S"
GUARD = b")]}',\n"

_tokens: set[str] = set()
_lock = threading.Lock()


class Handler(VendorHandler):
    server_version = "Apache-Coyote/1.1"

    def guarded(self, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        body = GUARD + json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.send_body(status, body, "application/json;charset=UTF-8", headers)

    def problem(self, status: int, title: str, detail: str) -> None:
        body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        self.refuse(status, title, lambda: self.guarded(body, status))

    def vendor(self, method: str) -> None:
        if self.route == "/api/authenticate" and method == "POST":
            self.authenticate()
        elif self.route == "/api/ho-sos" and method == "GET":
            self.list_page()
        else:
            self.problem(404, "Not Found", f"No endpoint {method} {self.route}.")

    def authenticate(self) -> None:
        try:
            body = self.json_body()
        except ValueError:
            self.problem(400, "Bad Request", "Failed to read request")
            return
        if not isinstance(body, dict) or body.get("username") != LOGIN or body.get("password") != PASSWORD:
            self.problem(401, "Unauthorized", REFUSAL)
            return
        token = secrets.token_urlsafe(32)
        with _lock:
            _tokens.add(token)
        self.guarded({"id_token": token})

    def list_page(self) -> None:
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        with _lock:
            valid = token in _tokens
        if valid and self.revoke_due():
            with _lock:
                _tokens.clear()
            valid = False
        if not valid:
            self.problem(401, "Unauthorized", "Full authentication is required to access this resource")
            return
        try:
            start, end = (parse_local(self.param(k) or "", LOCAL) for k in ("tuNgay", "denNgay"))
            page, size = int(self.param("page") or "0"), int(self.param("size") or "20")
            if page < 0 or not 1 <= size <= 100:
                raise ValueError
        except ValueError:
            self.problem(400, "Bad Request", "Invalid tuNgay, denNgay, page or size")
            return
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        host = f"http://{self.headers.get('Host')}"
        chunk = found[page * size : (page + 1) * size]
        self.guarded([render(i, host) for i in chunk], headers={"X-Total-Count": str(len(found))})


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
