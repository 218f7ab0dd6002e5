"""A classic ASP one-stop system (VB6 components on IIS 6) whose export page answers an ADO Recordset persisted as
XML (`rs.Save Response, adPersistXML`), hierarchical (MSDataShape): the steps, fees and documents as child rows.

Contract (ADO's XML persistence format, as the OLE DB Persistence Provider writes it):
  POST /dangnhap.asp  txtTenDangNhap=…&txtMatKhau=…&btnDangNhap=Đăng nhập   (the login form, no CSRF token)
    -> right: 302 Location: /default.asp, Set-Cookie: ASPSESSIONID<8 letters>=<24 letters>; path=/
       wrong: 200, the form again in Windows-1258 with <span class="error">REFUSAL</span>
  GET  /hoso/xuatxml.asp?tungay=yyyy-MM-dd HH:mm:ss&denngay=yyyy-MM-dd HH:mm:ss&page=1..&pagesize=1..100
       Cookie: ASPSESSIONID…   (or, with --auth basic, IIS Basic authentication and no form)
    -> 200 text/xml: `<?xml version="1.0" encoding="windows-1258"?>` (Response.CodePage 1258; --charset utf-8:
       the declaration says UTF-8) then
       <xml xmlns:s='uuid:BDC6E3F0-…' xmlns:dt='uuid:C2F41010-…' xmlns:rs='urn:schemas-microsoft-com:rowset'
            xmlns:z='#RowsetSchema'>
         <s:Schema id='RowsetSchema'><s:ElementType name='row' content='eltOnly'>
           <s:AttributeType name='MaHoSo' rs:number='1'><s:datatype dt:type='string' dt:maxLength='50'/>…
           <s:AttributeType name='QuaTrinh' rs:number='…' rs:relation='…'/> (a chapter: child rows)
         </s:ElementType>…</s:Schema>
         <rs:data><z:row MaHoSo='…' NgayNhan='2025-01-02T10:28:50' …><QuaTrinh TrangThai='2' …/>…</z:row></rs:data>
       </xml>
       Every value is an attribute of its row; a NULL is an absent attribute; dateTime is local time without an
       offset; a chapter's rows are child elements named by the chapter column. Windows-1258 text is written
       decomposed (the tone marks as combining characters), as Windows does.
       Paging is the Recordset's AbsolutePage: page N of `pagesize` rows; no total is sent (--total-header: the
       RecordCount in an X-Total-Records header): a short (or empty) page is the last.
  An ended session: 302 Location: /dangnhap.asp?ReturnUrl=… (Response.Redirect). A bad parameter: 500 with
  ASP's error text ("Microsoft VBScript runtime error '800a000d' Type mismatch").
"""

from __future__ import annotations

import argparse
import base64
import secrets
import string
import threading
from datetime import datetime
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote
from xml.sax.saxutils import quoteattr

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated
from tests.vendors.xml_form.server import cp1258

VENDOR = "ado_recordset_xml"
LOGIN, PASSWORD = "motcua.camgiang", "Asp#Classic98"
REFUSAL = "Tên đăng nhập hoặc mật khẩu không đúng!"
LOCAL = "%Y-%m-%d %H:%M:%S"
MAX_PAGE = 100
COOKIE = "ASPSESSIONIDQSCTRBCA"
KENH = {1: "TT", 2: "TTUYEN", 3: "BC"}
DOI_TUONG = {1: "CD", 2: "TC"}

_lock = threading.Lock()
_sessions: set[str] = set()

# (name, ADO type, extra datatype attributes) in the rowset's column order
COLUMNS = (
    ("HoSoID", "i4", ""), ("MaHoSo", "string", " dt:maxLength='50'"), ("MaTTHC", "string", " dt:maxLength='20'"),
    ("TenTTHC", "string", " dt:maxLength='500'"), ("MaLinhVuc", "string", " dt:maxLength='20'"),
    ("TenLinhVuc", "string", " dt:maxLength='255'"), ("MaDonVi", "string", " dt:maxLength='20'"),
    ("TenDonVi", "string", " dt:maxLength='255'"), ("KenhNop", "string", " dt:maxLength='10'"),
    ("TrangThai", "ui1", ""), ("TrichYeu", "string", " dt:maxLength='1000'"),
    ("LoaiNguoiNop", "string", " dt:maxLength='2'"), ("HoTen", "string", " dt:maxLength='255'"),
    ("LoaiGiayTo", "string", " dt:maxLength='10'"), ("SoGiayTo", "string", " dt:maxLength='20'"),
    ("DienThoai", "string", " dt:maxLength='20'"), ("Email", "string", " dt:maxLength='100'"),
    ("NgaySinh", "dateTime", ""), ("DiaChi", "string", " dt:maxLength='500'"), ("NgayNop", "dateTime", ""),
    ("NgayNhan", "dateTime", ""), ("NgayHenTra", "dateTime", ""), ("NgayCoKQ", "dateTime", ""),
    ("NgayTraKQ", "dateTime", ""), ("NgayCapNhat", "dateTime", ""),
)  # fmt: skip
CHILDREN = {
    "QuaTrinh": (("HoSoID", "i4"), ("TrangThai", "ui1"), ("ThoiDiem", "dateTime"), ("CanBo", "string"),
                 ("NoiDung", "string")),
    "LePhi": (("HoSoID", "i4"), ("MaPhi", "string"), ("TenPhi", "string"), ("SoTien", "number")),
    "GiayTo": (("HoSoID", "i4"), ("TenGiayTo", "string"), ("MaMau", "string")),
}  # fmt: skip
LOGIN_FORM = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1258">
<title>Hệ thống một cửa - Đăng nhập</title></head><body>
<form method="post" action="dangnhap.asp" name="frmDangNhap">
<table><tr><td>Tên đăng nhập</td><td><input type="text" name="txtTenDangNhap"></td></tr>
<tr><td>Mật khẩu</td><td><input type="password" name="txtMatKhau"></td></tr>
<tr><td colspan="2"><span class="error">{reason}</span></td></tr>
<tr><td colspan="2"><input type="submit" name="btnDangNhap" value="Đăng nhập"></td></tr></table>
</form></body></html>"""


def local(iso: str | None) -> str | None:
    return None if iso is None else datetime.fromisoformat(iso).astimezone(HCM).strftime("%Y-%m-%dT%H:%M:%S")


def attrs(values: dict[str, Any]) -> str:
    """A row's attributes: a NULL is not written at all, as ADO persists it."""
    return "".join(f" {k}={quoteattr(str(v))}" for k, v in values.items() if v is not None)


def child(chapter: str, values: dict[str, Any]) -> str:
    """A data shape's child row: an element named by its chapter column, inside its parent's z:row."""
    return f"<{chapter}{attrs(values)}/>"


def row(item: dict[str, Any], stray: str = "") -> str:
    a = item["applicant"]
    rid = int(item["source_record_id"])
    values = {
        "HoSoID": rid, "MaHoSo": item["ma_ho_so"], "MaTTHC": item["procedure_code"],
        "TenTTHC": item["procedure_name"], "MaLinhVuc": item["field_code"], "TenLinhVuc": item["field_name"],
        "MaDonVi": item["agency_code"], "TenDonVi": item["agency_name"], "KenhNop": KENH[item["channel"]],
        "TrangThai": item["status"], "TrichYeu": item["summary"], "LoaiNguoiNop": DOI_TUONG[a["type"]],
        "HoTen": a["name"], "LoaiGiayTo": "CCCD" if a.get("id_type") == 1 else None, "SoGiayTo": a["id_number"],
        "DienThoai": a["phone"], "Email": a.get("email"),
        "NgaySinh": f"{a['birth_date']}T00:00:00" if a.get("birth_date") else None, "DiaChi": a["address"],
        "NgayNop": local(item.get("submitted_at")), "NgayNhan": local(item["received_at"]),
        "NgayHenTra": local(item["due_at"]), "NgayCoKQ": local(item.get("finished_at")),
        "NgayTraKQ": local(item.get("returned_at")), "NgayCapNhat": local(item["source_updated_at"]),
    }  # fmt: skip
    children = [
        *(child("QuaTrinh", {"HoSoID": rid, "TrangThai": h["status"], "ThoiDiem": local(h["at"]),
                             "CanBo": h["actor"], "NoiDung": h["content"]}) for h in item["history"]),
        *(child("LePhi", {"HoSoID": rid, "MaPhi": f["code"], "TenPhi": f["name"], "SoTien": f["amount_vnd"]})
          for f in item["fees"]),
        *(child("GiayTo", {"HoSoID": rid, "TenGiayTo": d["name"], "MaMau": d["form_code"]})
          for d in item["documents"]),
    ]  # fmt: skip
    written = attrs(values)
    if stray == "raw":
        written = written.replace(" HoTen='", " HoTen='\x01", 1).replace(' HoTen="', ' HoTen="\x01', 1)
    elif stray == "ref":
        written = written.replace(" DiaChi='", " DiaChi='&#0;", 1).replace(' DiaChi="', ' DiaChi="&#0;', 1)
    return f"<z:row{written}>{''.join(children)}</z:row>\n"


def schema() -> str:
    def attribute(n: int, name: str, kind: str, extra: str = "") -> str:
        return (f"<s:AttributeType name='{name}' rs:number='{n}' rs:nullable='true' rs:writeunknown='true'>"
                f"<s:datatype dt:type='{kind}'{extra}/></s:AttributeType>\n")  # fmt: skip

    parts = [
        "<s:Schema id='RowsetSchema'>\n<s:ElementType name='row' content='eltOnly' rs:CommandTimeout='30'>\n"
    ]
    parts += [attribute(n, name, kind, extra) for n, (name, kind, extra) in enumerate(COLUMNS, 1)]
    n = len(COLUMNS)
    for chapter, columns in CHILDREN.items():
        n += 1
        parts.append(
            f"<s:ElementType name='{chapter}' content='eltOnly' rs:relation='010000000100000000000000'>\n"
        )
        parts += [attribute(i, name, kind) for i, (name, kind) in enumerate(columns, 1)]
        parts.append("<s:extends type='rs:rowbase'/>\n</s:ElementType>\n")
    parts.append("<s:extends type='rs:rowbase'/>\n</s:ElementType>\n</s:Schema>\n")
    return "".join(parts)


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--charset", default="windows-1258", choices=["windows-1258", "utf-8"])
    parser.add_argument("--auth", default="session", choices=["session", "basic"])
    parser.add_argument("--total-header", action="store_true", help="the RecordCount in X-Total-Records")
    # What ADO persists of a column that holds a control character: the raw byte, or a reference to it, both of
    # which XML forbids (tests of hostile values: each such dossier, by its position in the truth, costs itself).
    parser.add_argument(
        "--raw-control", type=int, action="append", default=[], help="HoTen holds a raw U+0001"
    )
    parser.add_argument("--nul-ref", type=int, action="append", default=[], help="DiaChi holds &#0;")


def encode(text: str, charset: str) -> bytes:
    """Windows-1258 holds Vietnamese decomposed (a base letter, then its tone mark), as Windows converts it."""
    return cp1258(text) if charset == "windows-1258" else text.encode("utf-8")


class Handler(VendorHandler):
    server_version = "Microsoft-IIS/6.0"

    def asp_error(self, message: str) -> None:
        body = f'<font face="Arial" size=2><p>Microsoft VBScript runtime </font> <font face="Arial" size=2>error \'800a000d\'</font><p><font face="Arial" size=2>{message}</font>'
        self.refuse(500, message, lambda: self.send_body(500, body.encode("cp1252"), "text/html"))

    def form(self, reason: str = "") -> bytes:
        return encode(LOGIN_FORM.format(reason=reason), "windows-1258")

    def vendor(self, method: str) -> None:
        if self.route == "/dangnhap.asp" and method == "POST":
            self.login()
        elif self.route == "/dangnhap.asp" and method == "GET":
            self.send_body(200, self.form(), "text/html; Charset=windows-1258")
        elif self.route == "/default.asp" and method == "GET":
            self.send_body(200, encode("<html><body>Trang chủ</body></html>", "windows-1258"), "text/html")
        elif self.route == "/hoso/xuatxml.asp" and method == "GET":
            self.export()
        else:
            self.refuse(
                404, "route", lambda: self.send_body(404, b"<h1>HTTP 404 - File not found</h1>", "text/html")
            )

    def login(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self.raw_body.decode("cp1252", "replace")).items()}
        if (form.get("txtTenDangNhap"), form.get("txtMatKhau")) != (LOGIN, PASSWORD):
            body = self.form(REFUSAL)
            self.refuse(200, REFUSAL, lambda: self.send_body(200, body, "text/html; Charset=windows-1258"))
            return
        sid = "".join(secrets.choice(string.ascii_uppercase) for _ in range(24))
        with _lock:
            _sessions.add(sid)
        self.send_body(302, b"<head><title>Object moved</title></head>", "text/html",
                       {"Location": "/default.asp", "Set-Cookie": f"{COOKIE}={sid}; path=/"})  # fmt: skip

    def authorized(self) -> bool:
        if self.options.auth == "basic":
            scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
            try:
                account = base64.b64decode(encoded).decode("latin-1") if scheme == "Basic" else ""
            except ValueError:
                account = ""
            if account != f"{LOGIN}:{PASSWORD}":
                self.refuse(401, "credentials", lambda: self.send_body(
                    401, b"<h1>HTTP Error 401.1 - Unauthorized: Access is denied due to invalid credentials.</h1>",
                    "text/html", {"WWW-Authenticate": 'Basic realm="motcua"'}))  # fmt: skip
                return False
            return True
        cookie = SimpleCookie(self.headers.get("Cookie") or "")
        sid = cookie[COOKIE].value if COOKIE in cookie else ""
        with _lock:
            live = sid in _sessions
            if live and self.revoke_due():  # --revoke-at: IIS recycled, every session is gone
                _sessions.clear()
                live = False
        if not live:
            self.refuse(302, "no session", lambda: self.send_body(
                302, b"<head><title>Object moved</title></head>", "text/html",
                {"Location": f"/dangnhap.asp?ReturnUrl={quote(self.path, safe='')}"}))  # fmt: skip
        return live

    def stray(self, item: dict[str, Any]) -> str:
        at = self.truth.index(item)
        return "raw" if at in self.options.raw_control else "ref" if at in self.options.nul_ref else ""

    def export(self) -> None:
        if not self.authorized():
            return
        q = {k: v[0] for k, v in self.query.items()}
        try:
            start, end = parse_local(q["tungay"], LOCAL), parse_local(q["denngay"], LOCAL)
            page, size = int(q["page"]), int(q["pagesize"])
            if page < 1 or not 1 <= size <= MAX_PAGE:
                raise ValueError
        except (KeyError, ValueError):
            self.asp_error("Type mismatch: 'CDate'")
            return
        found = sorted((i for i in self.truth if start <= updated(i) < end),
                       key=lambda i: (updated(i), int(i["source_record_id"])))  # fmt: skip
        chunk = found[(page - 1) * size : page * size]
        charset = self.options.charset
        text = (
            f'<?xml version="1.0" encoding="{charset}"?>\n'
            "<xml xmlns:s='uuid:BDC6E3F0-6DA3-11d1-A2A3-00AA00C14882'\n"
            "\txmlns:dt='uuid:C2F41010-65B3-11d1-A29F-00AA00C14882'\n"
            "\txmlns:rs='urn:schemas-microsoft-com:rowset'\n"
            "\txmlns:z='#RowsetSchema'>\n"
            f"{schema()}<rs:data>\n{''.join(row(i, self.stray(i)) for i in chunk)}</rs:data>\n</xml>"
        )
        headers = {"Cache-Control": "private", "X-Powered-By": "ASP.NET"}
        if self.options.total_header:  # Response.AddHeader "X-Total-Records", rs.RecordCount
            headers["X-Total-Records"] = str(len(found))
        self.send_body(200, encode(text, charset), f"text/xml; Charset={charset}", headers)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], options))
