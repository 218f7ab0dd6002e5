"""A SharePoint 2010 site whose one-stop lists are read through its REST interface, ListData.svc: WCF Data
Services speaking OData v2 in Atom XML, on IIS with Windows and Basic authentication.

Contract (OData v2's Atom format as WCF Data Services writes it):
  GET /sites/motcua/_vti_bin/ListData.svc/HoSo
        ?$filter=Modified ge datetime'yyyy-MM-ddTHH:mm:ss' and Modified lt datetime'yyyy-MM-ddTHH:mm:ss'
        &$orderby=Modified,Id&$expand=QuaTrinh,LePhi,GiayTo
      Authorization: Basic (IIS; NTLM is offered too)
   -> 200 application/atom+xml;charset=utf-8: <feed xml:base=".../ListData.svc/"> of <entry>s, each with its
      fields in <content type="application/xml"><m:properties><d:Field m:type="Edm.…">…</d:Field>, a null as
      <d:Field m:null="true" />; the expanded lookups as <link rel=".../related/QuaTrinh"><m:inline><feed>…;
      server-driven paging: the service's page size (1000 on SharePoint 2010; PAGE_SIZE here, for a 250-item
      test) ends a page with <link rel="next" href="<absolute URL: the same query and
      $skiptoken=datetime'…',<Id>>"/>: the last entry's $orderby values; the last page has no such link.
  Edm.DateTime values carry no offset: the site's local time (Asia/Ho_Chi_Minh). Choice columns are named
  <Column>Value and hold the choice's text (TrangThaiValue: "Đã tiếp nhận"); a Number column is Edm.Double;
  a date-only column is midnight. The list item's Id is SharePoint's own; the dossier's id in the old system
  is the text column HoSoID.
  Wrong or missing credentials: 401 with WWW-Authenticate: NTLM and Basic, and IIS's own page ("401 -
  Unauthorized: Access is denied due to invalid credentials."). A query it cannot parse: 400 with an OData
  <error> (<message xml:lang="en-US">…</message>).
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "sharepoint_atom"
LOGIN, PASSWORD = "UBND\\motcua.sync", "Sh@rePoint2010"
REFUSAL = "401 - Unauthorized: Access is denied due to invalid credentials."
SERVICE = "/sites/motcua/_vti_bin/ListData.svc"
PAGE_SIZE = 60
EXPAND = "QuaTrinh,LePhi,GiayTo"
FILTER = re.compile(r"Modified ge datetime'([0-9T:-]+)' and Modified lt datetime'([0-9T:-]+)'")
SKIP = re.compile(r"datetime'([0-9T:-]+)',(\d+)")
D = "http://schemas.microsoft.com/ado/2007/08/dataservices"
M = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
KENH = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Qua bưu chính"}
TRANG_THAI = {1: "Mới nộp", 2: "Đã tiếp nhận", 4: "Đang xử lý", 5: "Yêu cầu bổ sung", 6: "Chờ nộp phí",
              9: "Có kết quả", 10: "Đã trả kết quả"}  # fmt: skip
DOI_TUONG = {1: "Công dân", 2: "Doanh nghiệp"}
IIS_401 = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>
<title>401 - Unauthorized: Access is denied due to invalid credentials.</title>
</head>
<body>
<div id="header"><h1>Server Error</h1></div>
<div id="content">
 <div class="content-container"><fieldset>
  <h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2>
  <h3>You do not have permission to view this directory or page using the credentials that you supplied.</h3>
 </fieldset></div>
</div>
</body>
</html>
"""


def local(iso: str) -> str:
    """An Edm.DateTime as this site writes it: its local time, no offset."""
    return datetime.fromisoformat(iso).astimezone(HCM).strftime("%Y-%m-%dT%H:%M:%S")


def prop(name: str, value: Any, edm: str | None = None) -> str:
    typed = f' m:type="{edm}"' if edm else ""
    if value is None:
        return f'<d:{name}{typed} m:null="true" />'
    return f"<d:{name}{typed}>{escape(str(value))}</d:{name}>"


def entry(base: str, entity: str, item_id: int, title: str, modified: str, props: list[str],
          links: str = "") -> str:  # fmt: skip
    href = f"{entity}({item_id})"
    return (
        f'<entry m:etag="W/&quot;2&quot;"><id>{base}{href}</id><title type="text">{escape(title)}</title>'
        f"<updated>{modified}+07:00</updated><author><name /></author>"
        f'<link rel="edit" title="{entity}Item" href="{href}" />{links}'
        f'<category term="Microsoft.SharePoint.DataService.{entity}Item" '
        f'scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme" />'
        f'<content type="application/xml"><m:properties>{"".join(props)}</m:properties></content></entry>'
    )


def inline(base: str, parent: str, name: str, entries: list[str], now: str) -> str:
    return (
        f'<link rel="{D}/related/{name}" type="application/atom+xml;type=feed" title="{name}" '
        f'href="{parent}/{name}"><m:inline><feed><title type="text">{name}</title>'
        f"<id>{base}{parent}/{name}</id><updated>{now}</updated>"
        f'<link rel="self" title="{name}" href="{parent}/{name}" />{"".join(entries)}</feed></m:inline></link>'
    )


def render(base: str, item: dict[str, Any], item_id: int, now: str) -> str:
    a = item["applicant"]
    modified = local(item["source_updated_at"])
    parent = f"HoSo({item_id})"
    steps = [
        entry(base, "QuaTrinhXuLy", item_id * 100 + n, h["content"], local(h["at"]), [
            prop("Id", item_id * 100 + n, "Edm.Int32"),
            prop("HoSoId", item_id, "Edm.Int32"),
            prop("Title", h["content"]),
            prop("TrangThaiValue", TRANG_THAI[h["status"]]),
            prop("ThoiDiem", local(h["at"]), "Edm.DateTime"),
            prop("CanBo", h["actor"]),
            prop("Modified", local(h["at"]), "Edm.DateTime"),
        ])
        for n, h in enumerate(item["history"], 1)
    ]  # fmt: skip
    fees = [
        entry(base, "LePhi", item_id * 100 + n, f["code"], modified, [
            prop("Id", item_id * 100 + n, "Edm.Int32"),
            prop("HoSoId", item_id, "Edm.Int32"),
            prop("Title", f["code"]),
            prop("TenLePhi", f["name"]),
            prop("SoTien", f["amount_vnd"], "Edm.Double"),
        ])
        for n, f in enumerate(item["fees"], 1)
    ]  # fmt: skip
    docs = [
        entry(base, "GiayTo", item_id * 100 + n, d["name"], modified, [
            prop("Id", item_id * 100 + n, "Edm.Int32"),
            prop("HoSoId", item_id, "Edm.Int32"),
            prop("Title", d["name"]),
            prop("MaMau", d["form_code"]),
        ])
        for n, d in enumerate(item["documents"], 1)
    ]  # fmt: skip
    links = (
        inline(base, parent, "QuaTrinh", steps, now)
        + inline(base, parent, "LePhi", fees, now)
        + inline(base, parent, "GiayTo", docs, now)
    )
    birth = a.get("birth_date")
    props = [
        prop("ContentTypeID", "0x0100A1B2C3D4E5F60718293A4B5C6D7E8F90"),
        prop("Title", item["ma_ho_so"]),
        prop("HoSoID", item["source_record_id"]),
        prop("MaThuTuc", item["procedure_code"]),
        prop("TenThuTuc", item["procedure_name"]),
        prop("MaLinhVuc", item["field_code"]),
        prop("TenLinhVuc", item["field_name"]),
        prop("MaDonVi", item["agency_code"]),
        prop("TenDonVi", item["agency_name"]),
        prop("KenhNopValue", KENH[item["channel"]]),
        prop("TrangThaiValue", TRANG_THAI[item["status"]]),
        prop("TrichYeu", item["summary"]),
        prop("NgayNop", local(item["submitted_at"]) if item.get("submitted_at") else None, "Edm.DateTime"),
        prop("NgayTiepNhan", local(item["received_at"]), "Edm.DateTime"),
        prop("NgayHenTra", local(item["due_at"]), "Edm.DateTime"),
        prop("NgayCoKetQua", local(item["finished_at"]) if item.get("finished_at") else None, "Edm.DateTime"),
        prop(
            "NgayTraKetQua", local(item["returned_at"]) if item.get("returned_at") else None, "Edm.DateTime"
        ),
        prop("NguoiNopLoaiValue", DOI_TUONG[a["type"]]),
        prop("NguoiNopHoTen", a["name"]),
        prop("LoaiGiayToValue", "CCCD" if a.get("id_type") == 1 else None),
        prop("SoGiayTo", a["id_number"]),
        prop("DienThoai", a["phone"]),
        prop("Email", a.get("email")),
        prop("NgaySinh", f"{birth}T00:00:00" if birth else None, "Edm.DateTime"),
        prop("DiaChi", a["address"]),
        prop("Id", item_id, "Edm.Int32"),
        prop("ContentType", "Hồ sơ"),
        prop("Modified", modified, "Edm.DateTime"),
        prop("Created", local(item["received_at"]), "Edm.DateTime"),
        prop("CreatedById", 11, "Edm.Int32"),
        prop("ModifiedById", 11, "Edm.Int32"),
        prop("Owshiddenversion", 2, "Edm.Int32"),
        prop("Version", "2.0"),
        prop("Path", "/sites/motcua/Lists/HoSo"),
    ]
    return entry(base, "HoSo", item_id, item["ma_ho_so"], modified, props, links)


class Handler(VendorHandler):
    server_version = "Microsoft-IIS/7.5"

    def unauthorized(self) -> None:
        def send() -> None:
            body = IIS_401.encode("iso-8859-1")
            self.send_response(401)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("WWW-Authenticate", "NTLM")
            self.send_header("WWW-Authenticate", 'Basic realm="motcua.haiduong.gov.vn"')
            self.send_header("X-Powered-By", "ASP.NET")
            self.end_headers()
            self.wfile.write(body)

        self.refuse(401, "credentials", send)

    def odata_error(self, status: int, message: str) -> None:
        body = (
            '<?xml version="1.0" encoding="utf-8" standalone="yes"?>'
            f'<error xmlns="{M}"><code></code><message xml:lang="en-US">{escape(message)}</message></error>'
        ).encode()
        self.refuse(status, message, lambda: self.send_body(status, body, "application/xml"))

    def vendor(self, method: str) -> None:
        scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
        try:
            account = base64.b64decode(encoded).decode("latin-1") if scheme == "Basic" else ""
        except ValueError:
            account = ""
        if account != f"{LOGIN}:{PASSWORD}":
            self.unauthorized()
        elif self.route == f"{SERVICE}/HoSo" and method == "GET":
            self.feed()
        else:
            self.odata_error(404, "Resource not found for the segment.")

    def feed(self) -> None:
        q = {k: v[0] for k, v in self.query.items()}
        unknown = sorted(set(q) - {"$filter", "$orderby", "$expand", "$skiptoken"})
        if unknown:
            self.odata_error(400, f"The query parameter '{unknown[0]}' begins with a system-reserved '$' "
                                  "character but is not recognized.")  # fmt: skip
            return
        window = FILTER.fullmatch(q.get("$filter", ""))
        if window is None:
            self.odata_error(400, f"Syntax error at position 0 in '{q.get('$filter', '')}'.")
            return
        try:
            start, end = (datetime.fromisoformat(w).replace(tzinfo=HCM) for w in window.groups())
        except ValueError:
            self.odata_error(400, "Unrecognized 'Edm.DateTime' literal.")
            return
        if q.get("$orderby") != "Modified,Id" or q.get("$expand") != EXPAND:
            self.odata_error(400, "This query needs $orderby=Modified,Id and $expand=QuaTrinh,LePhi,GiayTo.")
            return
        # the list item's Id: the order the dossiers were migrated in (by their old id)
        ids = {i["source_record_id"]: n for n, i in
               enumerate(sorted(self.truth, key=lambda i: int(i["source_record_id"])), 1)}  # fmt: skip

        def key(i: dict[str, Any]) -> tuple[datetime, int]:
            return updated(i).replace(second=0), ids[i["source_record_id"]]

        found = sorted((i for i in self.truth if start <= updated(i) < end), key=key)
        if "$skiptoken" in q:
            skip = SKIP.fullmatch(q["$skiptoken"])
            if skip is None:
                self.odata_error(400, f"Skip token '{q['$skiptoken']}' is invalid.")
                return
            after = (datetime.fromisoformat(skip[1]).replace(tzinfo=HCM), int(skip[2]))
            found = [i for i in found if key(i) > after]
        page = found[:PAGE_SIZE]
        host = f"http://{self.headers.get('Host')}"
        base = f"{host}{SERVICE}/"
        now = datetime.now(HCM).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts = [
            '<?xml version="1.0" encoding="utf-8" standalone="yes"?>',
            f'<feed xml:base={quoteattr(base)} xmlns:d="{D}" xmlns:m="{M}" xmlns="http://www.w3.org/2005/Atom">',
            f'<title type="text">HoSo</title><id>{base}HoSo</id><updated>{now}</updated>',
            '<link rel="self" title="HoSo" href="HoSo" />',
            *(render(base, i, ids[i["source_record_id"]], now) for i in page),
        ]
        if len(found) > PAGE_SIZE:
            last = page[-1]
            token = f"datetime'{local(last['source_updated_at'])}',{ids[last['source_record_id']]}"
            query = "&".join(
                f"{k}={quote(v, safe=chr(39) + ',()')}"
                for k, v in [*((k, v) for k, v in q.items() if k != "$skiptoken"), ("$skiptoken", token)]
            )
            parts.append(f'<link rel="next" href={quoteattr(f"{base}HoSo?{query}")} />')
        parts.append("</feed>")
        body = "".join(parts).encode("utf-8")
        self.send_body(200, body, "application/atom+xml;charset=utf-8",
                       {"DataServiceVersion": "2.0;", "X-SharePointHealthScore": "0",
                        "MicrosoftSharePointTeamServices": "14.0.0.6029"})  # fmt: skip


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
