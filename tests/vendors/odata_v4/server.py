"""An ASP.NET Core OData v4 one-stop system: `value`, `@odata.count`, server-driven paging by an absolute
`@odata.nextLink` with a `$skiptoken`, the window written inside `$filter` as OData DateTimeOffset literals.

Contract (the vendor's $metadata and its Swagger page):
  POST /connect/token   (IdentityServer) grant_type=client_credentials, HTTP Basic client_id:client_secret
       -> {"access_token": "...", "expires_in": 3600, "token_type": "Bearer", "scope": "motcua.api"}
          a wrong client -> 400 {"error": "invalid_client"}
  GET  /odata/HoSo?$filter=NgayCapNhat ge <DateTimeOffset> and NgayCapNhat lt <DateTimeOffset>
                  &$orderby=NgayCapNhat,Id&$expand=NguoiNop,QuaTrinh,LePhi,GiayTo&$count=true
       Authorization: Bearer <token>
    -> {"@odata.context": ".../$metadata#HoSo(NguoiNop(),QuaTrinh(),LePhi(),GiayTo())", "@odata.count": N,
        "value": [...], "@odata.nextLink": "<absolute URL: the same query and $skiptoken=NgayCapNhat-…,Id-…>"}
        (PageSize 50: [EnableQuery(PageSize = 50)]; no nextLink on the last page)
  A DateTimeOffset literal is unquoted (2025-01-01T00:00:00+07:00; its '+' must come percent-encoded, or the
  parser reads a space); a malformed $filter is 400 {"error": {"code": "", "message": "The query specified in the
  URI is not valid. ..."}}; a missing or expired token is 401 with an empty body and WWW-Authenticate: Bearer.
  Enums are member names (TrucTuyen), Edm.Date is yyyy-MM-dd, Edm.Decimal a JSON number, times carry +07:00.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote

from tests.vendors.common import BearerTokens, VendorHandler, arguments, serve, updated

VENDOR = "odata_v4"
CLIENT_ID, CLIENT_SECRET = "esb-tinh-hd", "0Data-v4-S3cret!"
REFUSAL = "invalid_client"
WRONG_CONNECTION = {"password": "sai-mat-khau-0000"}
PAGE_SIZE = 50
TOKEN_TTL = 3600
EXPAND = "NguoiNop,QuaTrinh,LePhi,GiayTo"
FILTER = re.compile(r"NgayCapNhat ge (\S+) and NgayCapNhat lt (\S+)")
SKIP = re.compile(r"NgayCapNhat-(\S+),Id-(\d+)")
KENH = {1: "TrucTiep", 2: "TrucTuyen", 3: "BuuChinh"}
TRANG_THAI = {1: "MoiNop", 2: "DaTiepNhan", 4: "DangXuLy", 5: "YeuCauBoSung", 6: "ChoNopPhi", 9: "CoKetQua",
              10: "DaTraKetQua"}  # fmt: skip
DOI_TUONG = {1: "CongDan", 2: "DoanhNghiep"}

_tokens = BearerTokens()


def render(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    return {
        "Id": int(item["source_record_id"]),
        "MaHoSo": item["ma_ho_so"],
        "MaThuTuc": item["procedure_code"],
        "TenThuTuc": item["procedure_name"],
        "MaLinhVuc": item["field_code"],
        "TenLinhVuc": item["field_name"],
        "MaDonVi": item["agency_code"],
        "TenDonVi": item["agency_name"],
        "KenhNop": KENH[item["channel"]],
        "TrangThai": TRANG_THAI[item["status"]],
        "TrichYeu": item["summary"],
        "NgayNop": item.get("submitted_at"),
        "NgayTiepNhan": item["received_at"],
        "NgayHenTra": item["due_at"],
        "NgayCoKetQua": item.get("finished_at"),
        "NgayTraKetQua": item.get("returned_at"),
        "NgayCapNhat": item["source_updated_at"],
        "NguoiNop": {
            "DoiTuong": DOI_TUONG[a["type"]],
            "HoTen": a["name"],
            "LoaiGiayTo": "CCCD" if a.get("id_type") == 1 else None,
            "SoGiayTo": a["id_number"],
            "DienThoai": a["phone"],
            "Email": a.get("email"),
            "NgaySinh": a.get("birth_date"),
            "DiaChi": a["address"],
        },
        "QuaTrinh": [
            {
                "TrangThai": TRANG_THAI[h["status"]],
                "ThoiDiem": h["at"],
                "CanBo": h["actor"],
                "NoiDung": h["content"],
            }
            for h in item["history"]
        ],
        "LePhi": [{"Ma": f["code"], "Ten": f["name"], "SoTien": f["amount_vnd"]} for f in item["fees"]],
        "GiayTo": [{"Ten": d["name"], "MaMau": d["form_code"]} for d in item["documents"]],
    }


def key(item: dict[str, Any]) -> tuple[datetime, int]:
    return updated(item), int(item["source_record_id"])


class Handler(VendorHandler):
    server_version = "Kestrel"

    def odata_error(self, status: int, message: str) -> None:
        body = {"error": {"code": "", "message": message}}
        self.refuse(status, message, lambda: self.send_json(body, status))

    def vendor(self, method: str) -> None:
        if self.route == "/connect/token" and method == "POST":
            self.token()
        elif self.route == "/odata/HoSo" and method == "GET":
            self.collection()
        else:
            self.refuse(404, "route", lambda: self.send_body(404, b"", "text/plain"))

    def token(self) -> None:
        scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
        try:
            client = base64.b64decode(encoded).decode() if scheme == "Basic" else ""
        except ValueError:
            client = ""
        form = {k: v[0] for k, v in parse_qs(self.raw_body.decode()).items()}
        if client != f"{CLIENT_ID}:{CLIENT_SECRET}":
            self.refuse(400, REFUSAL, lambda: self.send_json({"error": REFUSAL}, 400))
            return
        if form.get("grant_type") != "client_credentials":
            self.refuse(400, "grant", lambda: self.send_json({"error": "unsupported_grant_type"}, 400))
            return
        token = secrets.token_urlsafe(32)
        _tokens.issue(token, TOKEN_TTL)
        self.send_json({"access_token": token, "expires_in": TOKEN_TTL, "token_type": "Bearer",
                        "scope": "motcua.api"})  # fmt: skip

    def collection(self) -> None:
        valid = _tokens.valid(self)
        if not valid:
            headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            self.refuse(401, "token", lambda: self.send_body(401, b"", "text/plain", headers))
            return
        q = {k: v[0] for k, v in self.query.items()}
        unknown = sorted(set(q) - {"$filter", "$orderby", "$expand", "$count", "$skiptoken"})
        if unknown:
            self.odata_error(400, f"The query parameter '{unknown[0]}' is not supported.")
            return
        window = FILTER.fullmatch(q.get("$filter", ""))
        try:
            if window is None:
                raise ValueError("$filter")
            start, end = datetime.fromisoformat(window[1]), datetime.fromisoformat(window[2])
            if start.tzinfo is None or end.tzinfo is None:
                raise ValueError("offset")
        except ValueError:
            self.odata_error(400, "The query specified in the URI is not valid. Syntax error at position "
                                  f"{len(q.get('$filter', ''))} in '{q.get('$filter', '')}'.")  # fmt: skip
            return
        if q.get("$orderby") != "NgayCapNhat,Id" or q.get("$expand") != EXPAND or q.get("$count") != "true":
            self.odata_error(400, "The query specified in the URI is not valid: $orderby, $expand, $count.")
            return
        after: tuple[datetime, int] | None = None
        if "$skiptoken" in q:
            skip = SKIP.fullmatch(q["$skiptoken"])
            if skip is None:
                self.odata_error(400, f"Unable to parse the skiptoken value '{q['$skiptoken']}'.")
                return
            after = (datetime.fromisoformat(skip[1]), int(skip[2]))
        found = sorted((i for i in self.truth if start <= updated(i) < end), key=key)
        rest = [i for i in found if after is None or key(i) > after]
        page = rest[:PAGE_SIZE]
        body: dict[str, Any] = {
            "@odata.context": f"http://{self.headers.get('Host')}/odata/$metadata#HoSo(NguoiNop(),QuaTrinh(),"
            "LePhi(),GiayTo())",
            "@odata.count": len(found),
            "value": [render(i) for i in page],
        }
        if len(rest) > PAGE_SIZE:
            last = page[-1]
            token = f"NgayCapNhat-{last['source_updated_at']},Id-{last['source_record_id']}"
            query = "&".join(f"{quote(k, safe='$')}={quote(v, safe=',')}"
                             for k, v in [*((k, v) for k, v in q.items() if k != "$skiptoken"),
                                          ("$skiptoken", token)])  # fmt: skip
            body["@odata.nextLink"] = f"http://{self.headers.get('Host')}/odata/HoSo?{query}"
        self.send_json(body, headers={"OData-Version": "4.0"})


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
