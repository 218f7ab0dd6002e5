"""A Lotus Notes eOffice database read through HCL/IBM Domino Access Services (DAS), the Domino Data Service's
JSON view API, behind Domino's session-based web login.

Contract (as the extension library's RestViewJsonService and the DAS 9.0.1 reference have it):
  GET  /names.nsf?Login   the login form (no CSRF token: Username, Password, a hidden RedirectTo)
  POST /names.nsf?Login   application/x-www-form-urlencoded Username, Password, RedirectTo
       right -> 302 Location: <RedirectTo>, Set-Cookie: DomAuthSessId=<32 hex>; path=/; HttpOnly
       wrong -> 200 text/html: the login form again (domcfg.nsf's $$LoginUserForm), its reason text
                "You provided an invalid username or password." and no cookie
  GET  /motcua/hoso.nsf/api/data/collections/name/HoSoTheoNgayCapNhat
           ?search=[NgayCapNhat]>=dd/MM/yyyy AND [NgayCapNhat]<=dd/MM/yyyy   (a full-text query: day-granular,
                                                                              both bounds included)
       Range: items=<first>-<last>   (Dojo JsonRest's paging; without it DAS serves its default 10 entries)
       Cookie: DomAuthSessId=...
    -> 200 application/json: a bare list of view entries, Content-Range: items <first>-<last'>/<total>;
       a first index past the end -> [] and no Content-Range at all (DAS writes it only for start < total)
  A request without a live session is answered as Domino's HTTP task answers one by default: 200 text/html, the
  login form (DOMINO_FORCE401_WITH_HTML_LOGIN_PAGE is not set: the famous 200 that REST clients trip over).
  An entry: system columns @entryid ("<position>-<unid>"), @unid (32 hex), @noteid (hex), @position, @siblings,
  @form, @href and @link; then the view's columns by programmatic name. Values as DAS writes a Notes item:
  a DateTime as ISO 8601 UTC ("2025-01-02T01:15:00Z"), a number as a JSON number, an empty item as "", a
  multi-value column as a JSON list when it holds two values or more and as the bare value when it holds one
  (the Notes API's getColumnValues): the dossier's steps, fees and documents are parallel multi-value columns
  (QT_TrangThai[i] goes with QT_ThoiDiem[i]). NgayHenTra is a text column, @Text(NgayHenTra) on a server set to
  dd/MM/yyyy HH:mm:ss; NguoiNop_NgaySinh likewise dd/MM/yyyy. Keyword fields show their aliases ("2").
  IBM commons' JsonWriter escapes every '/' as '\\/'.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from datetime import UTC, date, datetime
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "domino_das"
LOGIN, PASSWORD = "motcua/UBNDHuyenTuKy", "Lotus#Notes9"
REFUSAL = "You provided an invalid username or password."
VIEW = "/motcua/hoso.nsf/api/data/collections/name/HoSoTheoNgayCapNhat"
DEFAULT_COUNT = 10
RANGE = re.compile(r"items=(\d+)-(\d+)")
SEARCH = re.compile(
    r"\[NgayCapNhat\]\s*>=\s*(\d\d/\d\d/\d{4})\s+AND\s+\[NgayCapNhat\]\s*<=\s*(\d\d/\d\d/\d{4})", re.I
)

_sessions: set[str] = set()
_lock = threading.Lock()

LOGIN_FORM = """<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html>
<head>
<title>Server Login</title></head>
<body text="#000000" bgcolor="#FFFFFF" onLoad="document.forms[0].Username.focus()">
<form method="post" action="/names.nsf?Login" name="_DominoForm">
<input type="hidden" name="RedirectTo" value="{redirect}">
<table><tr><td><b><font size="2" face="Arial">{reason}</font></b></td></tr>
<tr><td>User name:</td><td><input name="Username" value="" size=20 maxlength=256></td></tr>
<tr><td>Password:</td><td><input name="Password" value="" type="password" size=20 maxlength=256></td></tr>
<tr><td><input type="submit" value="Log In"></td></tr></table>
</form>
</body>
</html>
"""


def unid(item: dict[str, Any]) -> str:
    return hashlib.md5(f"hoso:{item['source_record_id']}".encode()).hexdigest().upper()


def notes_time(iso: str | None) -> str:
    """A Notes DateTime as DAS writes it: ISO 8601 in UTC, `Z`; an empty item is ""."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def multi(values: list[Any]) -> Any:
    """A multi-value column: a list for two values or more, the value alone for one, "" for none."""
    if not values:
        return ""
    return values[0] if len(values) == 1 else values


def render(item: dict[str, Any], position: int, siblings: int) -> dict[str, Any]:
    a = item["applicant"]
    u = unid(item)
    birth = a.get("birth_date")
    return {
        "@href": f"{VIEW}/unid/{u}",
        "@link": {"rel": "document", "href": f"/motcua/hoso.nsf/api/data/documents/unid/{u}"},
        "@entryid": f"{position}-{u}",
        "@unid": u,
        "@noteid": format(0x8F6 + 4 * int(item["source_record_id"]) % 0xFFFFF, "X"),
        "@position": str(position),
        "@siblings": siblings,
        "@form": "HoSo",
        "ID": int(item["source_record_id"]),
        "MaHoSo": item["ma_ho_so"],
        "MaThuTuc": item["procedure_code"],
        "TenThuTuc": item["procedure_name"],
        "MaLinhVuc": item["field_code"],
        "TenLinhVuc": item["field_name"],
        "MaDonVi": item["agency_code"],
        "TenDonVi": item["agency_name"],
        "KenhNop": str(item["channel"]),
        "TrangThai": str(item["status"]),
        "TrichYeu": item["summary"],
        "NgayNop": notes_time(item.get("submitted_at")),
        "NgayTiepNhan": notes_time(item["received_at"]),
        "NgayHenTra": datetime.fromisoformat(item["due_at"]).astimezone(HCM).strftime("%d/%m/%Y %H:%M:%S"),
        "NgayCoKetQua": notes_time(item.get("finished_at")),
        "NgayTraKetQua": notes_time(item.get("returned_at")),
        "NgayCapNhat": notes_time(item["source_updated_at"]),
        "NguoiNop_DoiTuong": str(a["type"]),
        "NguoiNop_HoTen": a["name"],
        "NguoiNop_LoaiGiayTo": str(a["id_type"]) if a.get("id_type") else "",
        "NguoiNop_SoGiayTo": a["id_number"],
        "NguoiNop_DienThoai": a["phone"],
        "NguoiNop_Email": a.get("email") or "",
        "NguoiNop_NgaySinh": date.fromisoformat(birth).strftime("%d/%m/%Y") if birth else "",
        "NguoiNop_DiaChi": a["address"],
        "QT_TrangThai": multi([str(h["status"]) for h in item["history"]]),
        "QT_ThoiDiem": multi([notes_time(h["at"]) for h in item["history"]]),
        "QT_CanBo": multi([h["actor"] for h in item["history"]]),
        "QT_NoiDung": multi([h["content"] for h in item["history"]]),
        "LP_Ma": multi([f["code"] for f in item["fees"]]),
        "LP_Ten": multi([f["name"] for f in item["fees"]]),
        "LP_SoTien": multi([f["amount_vnd"] for f in item["fees"]]),
        "GT_Ten": multi([d["name"] for d in item["documents"]]),
        "GT_MaMau": multi([d["form_code"] for d in item["documents"]]),
    }


def das_json(obj: Any) -> bytes:
    # every '/' in this JSON is inside a string: IBM commons' JsonWriter writes each as '\/'
    return json.dumps(obj, ensure_ascii=False).replace("/", "\\/").encode("utf-8")


class Handler(VendorHandler):
    server_version = "Lotus-Domino"

    def login_form(self, reason: str = "", redirect: str = "/") -> bytes:
        return LOGIN_FORM.format(reason=reason, redirect=redirect).encode("utf-8")

    def live(self) -> bool:
        cookie = SimpleCookie(self.headers.get("Cookie") or "")
        sid = cookie["DomAuthSessId"].value if "DomAuthSessId" in cookie else ""
        with _lock:
            return sid in _sessions

    def vendor(self, method: str) -> None:
        if self.route == "/names.nsf" and method == "POST" and "Login" in self.query:
            self.login()
        elif self.route == "/names.nsf" and method == "GET" and "Login" in self.query:
            self.send_body(200, self.login_form(), "text/html; charset=UTF-8")
        elif self.route == "/" and method == "GET":
            # where RedirectTo leads after a login when the client follows the 302
            self.send_body(200, b"<html><body>Domino</body></html>", "text/html; charset=UTF-8")
        elif self.route == VIEW and method == "GET":
            self.entries()
        else:
            self.refuse(404, "route", lambda: self.send_body(404, b"<h1>Error 404</h1>", "text/html"))

    def login(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self.raw_body.decode("utf-8", "replace")).items()}
        redirect = form.get("RedirectTo") or "/"
        if form.get("Username") != LOGIN or form.get("Password") != PASSWORD:
            body = self.login_form(REFUSAL, redirect)
            self.refuse(200, REFUSAL, lambda: self.send_body(200, body, "text/html; charset=UTF-8"))
            return
        sid = secrets.token_hex(16).upper()
        with _lock:
            _sessions.add(sid)
        self.send_body(
            302,
            b"",
            "text/html; charset=UTF-8",
            {"Location": redirect, "Set-Cookie": f"DomAuthSessId={sid}; path=/; HttpOnly"},
        )

    def entries(self) -> None:
        live = self.live()
        # --revoke-at: an administrator ends every session
        if live and self.revoke_due():
            with _lock:
                _sessions.clear()
            live = False
        if not live:
            body = self.login_form("", self.path)
            self.refuse(200, "no session", lambda: self.send_body(200, body, "text/html; charset=UTF-8"))
            return
        found = sorted(self.truth, key=lambda i: (updated(i), int(i["source_record_id"])))
        search = self.param("search")
        if search is not None:
            bounds = SEARCH.fullmatch(search.strip())
            if bounds is None:
                message = f"Query is not understandable: {search}"
                body = das_json({"code": 400, "text": "Bad Request", "message": message})
                self.refuse(400, message, lambda: self.send_body(400, body, "application/json"))
                return
            low, high = (datetime.strptime(b, "%d/%m/%Y").date() for b in bounds.groups())
            found = [i for i in found if low <= updated(i).astimezone(HCM).date() <= high]
        asked = self.headers.get("Range")
        if asked is None:
            # DAS serves its default count; a sync that does not page by Range loses the rest
            page = found[:DEFAULT_COUNT]
            self.refuse(200, "no Range header", lambda: self.send_entries(page, 0, len(found)))
            return
        parsed = RANGE.fullmatch(asked.strip())
        if parsed is None or int(parsed[2]) < int(parsed[1]):
            body = b"<h1>Error 500</h1>HTTP Web Server: Command Not Handled Exception"
            self.refuse(500, f"Range {asked!r}", lambda: self.send_body(500, body, "text/html"))
            return
        first, last = int(parsed[1]), int(parsed[2])
        self.send_entries(found[first : last + 1], first, len(found))

    def send_entries(self, page: list[dict[str, Any]], first: int, total: int) -> None:
        body = das_json([render(item, first + n + 1, total) for n, item in enumerate(page)])
        headers = {}
        if first < total:
            headers["Content-Range"] = f"items {first}-{first + len(page) - 1}/{total}"
        self.send_body(200, body, "application/json; charset=UTF-8", headers)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
