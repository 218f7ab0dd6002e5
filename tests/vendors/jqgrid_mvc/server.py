"""An ASP.NET MVC 4 one-stop app read as its own jqGrid reads it: forms authentication and a JSON action.

Contract (no API: the grid's action, as jqGrid's default jsonReader wants it):
  GET  /Account/LogOn  -> 200 text/html, the form: <input name="__RequestVerificationToken" type="hidden"
                          value="<form token>">, and the anti-forgery cookie __RequestVerificationToken=<cookie
                          token> (MVC's pair: the form token names its cookie)
  POST /Account/LogOn  application/x-www-form-urlencoded __RequestVerificationToken, UserName, Password,
                          RememberMe (the cookie sent back):
       a token pair that does not match -> 500, the yellow screen of HttpAntiForgeryException;
       wrong credentials -> 200, the form again, REFUSAL in its <div class="validation-summary-errors">;
       right ones -> 302 Location: / and Set-Cookie: .ASPXAUTH=<ticket>; path=/; HttpOnly
  POST /HoSo/DanhSach  X-Requested-With: XMLHttpRequest (as jQuery sends it), Cookie: .ASPXAUTH=<ticket>,
                          form _search=false, rows (1..100), page (from 1), sidx=NgayCapNhat, sord=asc|desc,
                          tuNgay, denNgay (yyyy-MM-ddTHH:mm:ss local, half-open on the update time); nd (jqGrid's
                          cache breaker) is ignored
       -> {"total": <pages>, "page": n, "records": <count>, "rows": [{"id": "<id>", "cell": [...]}, ...]}
       each row's cells in COLUMNS' order (the grid's colModel), its id beside them; times as MVC's
       JavaScriptSerializer writes a DateTime, "\\/Date(<ms since 1970, UTC>)\\/", a birth date "dd/MM/yyyy";
       null for nothing; enums as numbers; amounts as numbers; a dossier's steps, fees and papers as arrays of
       objects (PascalCase).
  A request without a live ticket is redirected (302) to /Account/LogOn?ReturnUrl=%2fHoSo%2fDanhSach (forms
  authentication); one without X-Requested-With gets the screen's HTML view, refused here (400).
  Test option: --revoke-at N ends every ticket at the Nth data request.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
from datetime import datetime
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated

VENDOR = "jqgrid_mvc"
LOGIN, PASSWORD = "chilinh\\motcua", "ChiLinh!2025"
REFUSAL = "Tên đăng nhập hoặc mật khẩu không đúng."
LOCAL = "%Y-%m-%dT%H:%M:%S"
LOGON = "/Account/LogOn"
LIST = "/HoSo/DanhSach"
FIELDS = {"_search", "nd", "rows", "page", "sidx", "sord", "tuNgay", "denNgay"}

# The grid's colModel: what each row's cells are, in order.
COLUMNS = ["MaHoSo", "MaThuTuc", "TenThuTuc", "MaLinhVuc", "TenLinhVuc", "MaDonVi", "TenDonVi", "KenhNop",
           "TrangThai", "TrichYeu", "LoaiChuHoSo", "TenChuHoSo", "LoaiGiayTo", "SoGiayTo", "DienThoai", "Email",
           "NgaySinh", "DiaChi", "NgayNop", "NgayTiepNhan", "NgayHenTra", "NgayCoKetQua", "NgayTraKetQua",
           "NgayCapNhat", "QuaTrinh", "LePhi", "GiayTo"]  # fmt: skip
TRANG_THAI = {1: 1, 2: 2, 4: 3, 5: 4, 6: 5, 9: 6, 10: 7}  # the app's enum TrangThaiHoSo

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8" /><title>Đăng nhập - Một cửa điện tử thành phố Chí Linh</title></head>
<body><div id="main"><h2>Đăng nhập hệ thống</h2>
<form action="/Account/LogOn" method="post"><input name="__RequestVerificationToken" type="hidden" value="{token}" />
{summary}<div class="editor-label"><label for="UserName">Tên đăng nhập</label></div>
<div class="editor-field"><input id="UserName" name="UserName" type="text" value="" /></div>
<div class="editor-label"><label for="Password">Mật khẩu</label></div>
<div class="editor-field"><input id="Password" name="Password" type="password" /></div>
<input id="RememberMe" name="RememberMe" type="checkbox" value="true" /><input type="submit" value="Đăng nhập" />
</form></div></body></html>
"""
YELLOW_SCREEN = (
    "<html><head><title>The anti-forgery cookie token and form field token do not match.</title></head><body>"
    "<h1>Server Error in '/' Application.</h1><h2><i>The anti-forgery cookie token and form field token do not "
    "match.</i></h2><b>Exception Details: </b>System.Web.Mvc.HttpAntiForgeryException</body></html>"
)

_forms: dict[str, str] = {}  # form token -> the cookie token it pairs with
_tickets: set[str] = set()
_lock = threading.Lock()


def dotnet(iso: str | None) -> str | None:
    """A DateTime as JavaScriptSerializer writes it (its slashes escaped when the JSON is written)."""
    return None if iso is None else f"/Date({int(datetime.fromisoformat(iso).timestamp() * 1000)})/"


def cells(item: dict[str, Any]) -> list[Any]:
    a = item["applicant"]
    birth = a.get("birth_date")
    return [
        item["ma_ho_so"],
        item["procedure_code"],
        item["procedure_name"],
        item["field_code"],
        item["field_name"],
        item["agency_code"],
        item["agency_name"],
        item["channel"],
        TRANG_THAI[item["status"]],
        item["summary"],
        a["type"],
        a["name"],
        "CCCD" if a.get("id_type") == 1 else None,
        a["id_number"],
        a["phone"],
        a.get("email"),
        None if birth is None else datetime.fromisoformat(birth).strftime("%d/%m/%Y"),
        a["address"],
        dotnet(item.get("submitted_at")),
        dotnet(item["received_at"]),
        dotnet(item["due_at"]),
        dotnet(item.get("finished_at")),
        dotnet(item.get("returned_at")),
        dotnet(item["source_updated_at"]),
        [step(h) for h in item["history"]],
        [{"TenPhi": f["name"], "MaPhi": f["code"], "SoTien": f["amount_vnd"]} for f in item["fees"]],
        [{"TenGiayTo": d["name"], "MaBieuMau": d["form_code"]} for d in item["documents"]],
    ]


def step(h: dict[str, Any]) -> dict[str, Any]:
    return {"TrangThai": TRANG_THAI[h["status"]], "ThoiGian": dotnet(h["at"]), "CanBo": h["actor"],
            "NoiDung": h["content"]}  # fmt: skip


class Handler(VendorHandler):
    server_version = "Microsoft-IIS/8.5"

    def vendor(self, method: str) -> None:
        if self.route == LOGON and method == "GET":
            self.logon_page()
        elif self.route == LOGON and method == "POST":
            self.logon()
        elif self.route == "/" and method == "GET":
            self.send_body(200, "<html><body>Trang chủ</body></html>".encode(), "text/html; charset=utf-8")
        elif self.route == LIST and method == "POST":
            self.grid()
        else:
            self.refuse(
                404,
                "route",
                lambda: self.send_body(404, b"<h1>404 - File or directory not found.</h1>", "text/html"),
            )

    def cookie(self, name: str) -> str:
        jar = SimpleCookie(self.headers.get("Cookie") or "")
        return jar[name].value if name in jar else ""

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.raw_body.decode("utf-8"), keep_blank_values=True).items()}

    def logon_page(self, summary: str = "", status: int = 200) -> None:
        cookie_token = self.cookie("__RequestVerificationToken") or secrets.token_urlsafe(24)
        form_token = secrets.token_urlsafe(48)
        with _lock:
            _forms[form_token] = cookie_token
        page = PAGE.format(token=form_token, summary=summary).encode()
        cookie = f"__RequestVerificationToken={cookie_token}; path=/; HttpOnly"
        self.send_body(status, page, "text/html; charset=utf-8", {"Set-Cookie": cookie})

    def logon(self) -> None:
        form = self.form()
        with _lock:
            paired = _forms.pop(form.get("__RequestVerificationToken", ""), None)
        if not paired or paired != self.cookie("__RequestVerificationToken"):
            self.refuse(500, "anti-forgery", lambda: self.send_body(500, YELLOW_SCREEN.encode(), "text/html"))
            return
        if form.get("UserName") != LOGIN or form.get("Password") != PASSWORD:
            said = f'<div class="validation-summary-errors"><ul><li>{html.escape(REFUSAL)}</li></ul></div>\n'
            self.refuse(200, "credentials", lambda: self.logon_page(said))
            return
        ticket = secrets.token_hex(40).upper()
        with _lock:
            _tickets.add(ticket)
        self.send_body(
            302,
            b'<html><head><title>Object moved</title></head><body><h2>Object moved to <a href="/">here</a>.</h2></body></html>',
            "text/html; charset=utf-8",
            {"Location": "/", "Set-Cookie": f".ASPXAUTH={ticket}; path=/; HttpOnly"},
        )

    def live(self) -> bool:
        with _lock:
            alive = self.cookie(".ASPXAUTH") in _tickets
        if alive and self.revoke_due():
            with _lock:
                _tickets.clear()
            return False
        return alive

    def grid(self) -> None:
        if not self.live():
            where = f"{LOGON}?ReturnUrl=%2fHoSo%2fDanhSach"
            self.refuse(302, "no ticket", lambda: self.send_body(302, b"", "text/html", {"Location": where}))
            return
        if self.headers.get("X-Requested-With") != "XMLHttpRequest":
            self.refuse(400, "not ajax", lambda: self.send_body(400, b"<h1>Bad Request</h1>", "text/html"))
            return
        form = self.form()
        try:
            if set(form) - FIELDS or form.get("_search") != "false" or form.get("sidx") != "NgayCapNhat":
                raise ValueError
            size, page, order = int(form["rows"]), int(form["page"]), form["sord"]
            since, until = parse_local(form["tuNgay"], LOCAL), parse_local(form["denNgay"], LOCAL)
            if not 1 <= size <= 100 or page < 1 or order not in ("asc", "desc") or until < since:
                raise ValueError
        except (KeyError, ValueError):
            body = b'{"Message":"Yeu cau khong hop le."}'
            self.refuse(400, "invalid", lambda: self.send_body(400, body, "application/json; charset=utf-8"))
            return
        found = sorted(
            (i for i in self.truth if since <= updated(i) < until),
            key=lambda i: (updated(i), i["source_record_id"]),
            reverse=order == "desc",
        )
        chunk = found[(page - 1) * size : page * size]
        answer = {
            "total": (len(found) + size - 1) // size,
            "page": page,
            "records": len(found),
            "rows": [{"id": i["source_record_id"], "cell": cells(i)} for i in chunk],
        }
        self.send_json(answer)

    def send_json(self, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        """As JavaScriptSerializer writes it: ASCII only, a DateTime's slashes escaped."""
        text = json.dumps(obj, separators=(",", ":")).replace('"/Date(', '"\\/Date(').replace(')/"', ')\\/"')
        self.send_body(status, text.encode(), "application/json; charset=utf-8", headers)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
