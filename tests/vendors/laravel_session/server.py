"""A Laravel one-stop web app read as its own pages read it: a cookie session opened through the login form.

Contract (the app has no API; its DataTables screen posts for JSON):
  GET  /login   -> 200 text/html, the form: <input type="hidden" name="_token" value="<csrf>">, and cookies
                   laravel_session=<id>; HttpOnly, XSRF-TOKEN=<csrf>. The session holds the CSRF token.
  POST /login   application/x-www-form-urlencoded _token, email, password (the session cookie sent back):
                   a wrong or missing _token -> 419 "Page Expired" (HTML);
                   wrong credentials -> 302 Location: /login, the error flashed into the session: the next
                   GET /login shows it in <div class="alert alert-danger">…</div>;
                   right ones -> 302 Location: /home, the session id regenerated (a new cookie), the token kept.
  POST /ho-so/danh-sach  header X-CSRF-TOKEN: <csrf> (as the page's axios sends it from <meta name="csrf-token">),
                   form tu_ngay, den_ngay (Y-m-d H:i:s, local, half-open on the update time), page, per_page ≤ 100
       -> {"current_page": n, "data": [...], "last_page": n, "per_page": n, "total": n}  (Laravel's paginator)
  A request without a live session is redirected (302) to /login, as Laravel's `auth` middleware does for a
  request that does not ask for JSON; a live session without the right X-CSRF-TOKEN -> 419.
  The records are Thanh Hà's sync API's shape (vn_snake_cursor).
  Test options: --revoke-at N drops every session at the Nth data request; --ended-as page answers a request
  without a session with the login page itself (HTTP 200, no redirect), as apps behind some proxies do.
"""

from __future__ import annotations

import secrets
import threading
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated
from tests.vendors.cursor.server import render

VENDOR = "laravel_session"
LOGIN, PASSWORD = "motcua@camgiang.gov.vn", "CamGiang#2025"
REFUSAL = "Thông tin đăng nhập không chính xác."
LOCAL = "%Y-%m-%d %H:%M:%S"

# session id -> {"csrf": ..., "user": ... | None, "flash": ... | None}
_sessions: dict[str, dict[str, str | None]] = {}
_lock = threading.Lock()

PAGE = """<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8"><meta name="csrf-token" content="{csrf}">
<title>Đăng nhập - Một cửa điện tử huyện Cẩm Giàng</title></head>
<body><div class="container"><h1>Hệ thống thông tin giải quyết TTHC</h1>
{flash}<form method="POST" action="/login">
<input type="hidden" name="_token" value="{csrf}" autocomplete="off">
<label for="email">Tên đăng nhập</label><input id="email" type="email" name="email" value="">
<label for="password">Mật khẩu</label><input id="password" type="password" name="password">
<button type="submit">Đăng nhập</button></form></div></body></html>
"""
EXPIRED = (
    b"<!DOCTYPE html><html><head><title>Page Expired</title></head><body>419 | Page Expired</body></html>"
)


class Handler(VendorHandler):
    server_version = "nginx/1.24.0"

    def session(self) -> tuple[str | None, dict[str, str | None] | None]:
        cookie = SimpleCookie(self.headers.get("Cookie") or "")
        sid = cookie["laravel_session"].value if "laravel_session" in cookie else None
        with _lock:
            return sid, _sessions.get(sid or "")

    def new_session(
        self, csrf: str | None = None, user: str | None = None
    ) -> tuple[str, dict[str, str | None]]:
        sid = secrets.token_urlsafe(30)
        state: dict[str, str | None] = {
            "csrf": csrf or secrets.token_urlsafe(30),
            "user": user,
            "flash": None,
        }
        with _lock:
            _sessions[sid] = state
        return sid, state

    def cookies(self, sid: str, state: dict[str, str | None]) -> list[tuple[str, str]]:
        return [
            ("Set-Cookie", f"XSRF-TOKEN={state['csrf']}; Path=/; SameSite=Lax"),
            ("Set-Cookie", f"laravel_session={sid}; Path=/; HttpOnly; SameSite=Lax"),
        ]

    def answer(self, status: int, body: bytes, ctype: str, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, where: str, headers: list[tuple[str, str]] | None = None) -> None:
        body = f'<!DOCTYPE html><html><head><meta http-equiv="refresh" content="0;url={where}"></head></html>'
        self.answer(302, body.encode(), "text/html; charset=UTF-8", [("Location", where), *(headers or [])])

    def vendor(self, method: str) -> None:
        if self.route == "/login" and method == "GET":
            self.login_page()
        elif self.route == "/login" and method == "POST":
            self.login()
        elif self.route == "/ho-so/danh-sach" and method == "POST":
            self.list_page()
        elif self.route == "/home" and method == "GET":
            self.answer(200, b"<html><body>Trang chu</body></html>", "text/html; charset=UTF-8", [])
        else:
            self.refuse(404, "route", lambda: self.answer(404, b"404 | Not Found", "text/html", []))

    def login_page(self) -> None:
        sid, state = self.session()
        if state is None:
            sid, state = self.new_session()
        assert sid is not None
        with _lock:
            flash, state["flash"] = state["flash"], None
        alert = f'<div class="alert alert-danger" role="alert">{flash}</div>\n' if flash else ""
        page = PAGE.format(csrf=state["csrf"], flash=alert).encode()
        self.answer(200, page, "text/html; charset=UTF-8", self.cookies(sid, state))

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.raw_body.decode("utf-8"), keep_blank_values=True).items()}

    def login(self) -> None:
        sid, state = self.session()
        form = self.form()
        if state is None or not form.get("_token") or form["_token"] != state["csrf"]:
            self.refuse(419, "csrf", lambda: self.answer(419, EXPIRED, "text/html; charset=UTF-8", []))
            return
        if form.get("email") != LOGIN or form.get("password") != PASSWORD:
            with _lock:
                state["flash"] = REFUSAL
            self.refuse(302, "credentials", lambda: self.redirect("/login"))
            return
        with _lock:
            _sessions.pop(sid or "", None)
        new_sid, new_state = self.new_session(csrf=state["csrf"], user=LOGIN)
        self.redirect("/home", self.cookies(new_sid, new_state))

    def list_page(self) -> None:
        _, state = self.session()
        if state is not None and state["user"] and self.revoke_due():
            with _lock:
                _sessions.clear()
            state = None
        if state is None or not state["user"]:
            if self.options.ended_as == "page":
                self.refuse(200, "no session", self.login_page)
            else:
                self.refuse(302, "no session", lambda: self.redirect("/login"))
            return
        if self.headers.get("X-CSRF-TOKEN") != state["csrf"]:
            self.refuse(419, "csrf header", lambda: self.answer(419, EXPIRED, "text/html; charset=UTF-8", []))
            return
        form = self.form()
        try:
            start, end = (parse_local(form.get(k, ""), LOCAL) for k in ("tu_ngay", "den_ngay"))
            page, size = int(form.get("page", "1")), int(form.get("per_page", "15"))
            if not 1 <= size <= 100 or page < 1:
                raise ValueError
        except ValueError:
            body = {"message": "The given data was invalid.", "errors": {"tu_ngay": ["invalid"]}}
            self.refuse(422, "invalid", lambda: self.send_json(body, 422))
            return
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        chunk = found[(page - 1) * size : page * size]
        self.send_json(
            {
                "current_page": page,
                "data": [render(i) for i in chunk],
                "last_page": max((len(found) + size - 1) // size, 1),
                "per_page": size,
                "total": len(found),
            }
        )


if __name__ == "__main__":
    serve(
        VENDOR,
        Handler,
        arguments(
            __doc__.splitlines()[0],
            lambda p: p.add_argument("--ended-as", choices=("redirect", "page"), default="redirect"),
        ),
    )
