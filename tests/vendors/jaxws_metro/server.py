"""A Java JAX-WS RI (Metro 2.3) dossier service behind a reverse proxy: SOAP 1.1, rpc/literal, the account as the
operation's first two parts, the list of dossiers as JAX-WS writes an array in rpc style (<return><item/>…).

Contract (what the vendor's integration guide says, and what this server enforces):
  GET  /motcua/HoSoService?wsdl     the WSDL as Metro publishes it from behind the proxy: its types are imported
                                    (<xsd:import schemaLocation="http://APP-HOST:8080/motcua/HoSoService?xsd=1">)
                                    and its soap:address names the same internal application server host
  GET  /motcua/HoSoService?xsd=1    the schema (elementFormDefault unqualified, every property nillable)
  POST /motcua/HoSoService          text/xml; SOAPAction "" (rpc/literal; parts unqualified)
    Body: <tns:layDanhSachHoSo><taiKhoan/><matKhau/><tuNgay/><denNgay/><trang/><soLuong/></tns:layDanhSachHoSo>
    -> <ns2:layDanhSachHoSoResponse><return><item>…</item>…</return></ns2:layDanhSachHoSoResponse>
  Window [tuNgay, denNgay) on lastModifiedAt, with zones; trang from 1, soLuong 1..100, no total: the last page
  is short. A null property is written as xsi:nil="true" (JAXB, nillable elements).
  Faults (HTTP 500, SOAP 1.1): the service's checked exception XacThucException for a wrong account, written as
  Metro writes a @WebFault: faultcode S:Server, faultstring its message, detail <ns2:XacThucException><message/>;
  S:Client for a request it cannot read. No sessions.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any

from lxml import etree

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "jaxws_metro"
HERE = Path(__file__).resolve().parent
SERVICE_PATH = "/motcua/HoSoService"
INTERNAL = "http://app01.motcua.local:8080"  # the application server's own name, unknown outside
TNS = "http://hoso.motcua.vn/"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
USER, PASSWORD = "lienthong_camgiang", "CG@metro-2019"
REFUSAL = "Tài khoản liên thông hoặc mật khẩu không đúng"
MAX_PAGE = 100
WSDL = Template((HERE / "HoSoService.wsdl").read_text(encoding="utf-8"))
XSD = (HERE / "hoso.xsd").read_bytes()
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

STATUS = {1: "NEW", 2: "RECEIVED", 3: "REJECTED", 4: "IN_PROGRESS", 5: "SUPPLEMENT_REQUIRED",
          6: "AWAITING_PAYMENT", 7: "WITHDRAWN", 8: "SUSPENDED", 9: "RESULT_READY", 10: "RETURNED"}  # fmt: skip
CHANNEL = {1: "DIRECT", 2: "ONLINE", 3: "POSTAL"}
APPLICANT = {1: "INDIVIDUAL", 2: "ORGANIZATION"}


def iso(value: str | None) -> str | None:
    if value is None:
        return None
    t = datetime.fromisoformat(value).astimezone(HCM)
    return f"{t:%Y-%m-%dT%H:%M:%S}+07:00"


def leaf(parent: etree._Element, name: str, value: Any) -> None:
    el = etree.SubElement(parent, name)
    if value is None:
        el.set(f"{{{XSI}}}nil", "true")
    else:
        el.text = str(value)


def group(parent: etree._Element, name: str, values: dict[str, Any]) -> None:
    el = etree.SubElement(parent, name)
    for key, value in values.items():
        leaf(el, key, value)


def render(parent: etree._Element, item: dict[str, Any]) -> None:
    d = etree.SubElement(parent, "item")
    leaf(d, "id", item["source_record_id"])
    leaf(d, "dossierNo", item["ma_ho_so"])
    group(d, "procedure", {"nationalCode": item["procedure_code"], "localCode": None,
                           "name": item["procedure_name"]})  # fmt: skip
    group(d, "sector", {"code": item["field_code"], "name": item["field_name"]})
    group(d, "receivingAgency", {"code": item["agency_code"], "name": item["agency_name"]})
    leaf(d, "channel", CHANNEL[item["channel"]])
    leaf(d, "status", STATUS[item["status"]])
    leaf(d, "summary", item["summary"])
    a = item["applicant"]
    applicant = etree.SubElement(d, "applicant")
    leaf(applicant, "applicantType", APPLICANT[a["type"]])
    leaf(applicant, "fullName", a["name"])
    group(applicant, "identification",
          {"type": "CITIZEN_ID" if a.get("id_type") == 1 else None, "number": a["id_number"]})  # fmt: skip
    leaf(applicant, "phone", a["phone"])
    leaf(applicant, "email", a.get("email"))
    leaf(applicant, "dateOfBirth", None if a.get("birth_date") is None else f"{a['birth_date']}+07:00")
    leaf(applicant, "address", a["address"])
    leaf(d, "submittedAt", iso(item.get("submitted_at")))
    leaf(d, "receivedAt", iso(item["received_at"]))
    leaf(d, "dueAt", iso(item["due_at"]))
    leaf(d, "completedAt", iso(item.get("finished_at")))
    leaf(d, "returnedAt", iso(item.get("returned_at")))
    leaf(d, "lastModifiedAt", iso(item["source_updated_at"]))
    for h in item["history"]:
        group(d, "processingStep", {"status": STATUS[h["status"]], "timestamp": iso(h["at"]),
                                    "handledBy": h["actor"], "comment": h["content"]})  # fmt: skip
    for f in item["fees"]:
        group(d, "fee", {"feeCode": f["code"], "feeName": f["name"], "amount": f["amount_vnd"]})
    for doc in item["documents"]:
        group(d, "document", {"title": doc["name"], "templateCode": doc["form_code"]})


class Fault(Exception):
    def __init__(self, code: str, text: str, reason: str, detail: bool = False) -> None:
        super().__init__(text)
        self.code, self.text, self.reason, self.detail = code, text, reason, detail


class Handler(VendorHandler):
    server_version = "GlassFish Server Open Source Edition  4.1.2"

    def send_soap(self, payload: etree._Element, status: int = 200) -> None:
        env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"S": SOAP11})
        etree.SubElement(env, f"{{{SOAP11}}}Body").append(payload)
        body = b'<?xml version="1.0" ?>' + etree.tostring(env, encoding="utf-8")
        self.send_body(status, body, "text/xml;charset=utf-8")

    def fault(self, fault: Fault) -> None:
        f = etree.Element(f"{{{SOAP11}}}Fault", nsmap={"S": SOAP11})
        etree.SubElement(f, "faultcode").text = f"S:{fault.code}"
        etree.SubElement(f, "faultstring").text = fault.text
        if fault.detail:
            info = etree.SubElement(etree.SubElement(f, "detail"), f"{{{TNS}}}XacThucException",
                                    nsmap={"ns2": TNS})  # fmt: skip
            etree.SubElement(info, "message").text = fault.text
        self.refuse(500, fault.reason, lambda: self.send_soap(f, 500))

    def vendor(self, method: str) -> None:
        if self.route != SERVICE_PATH:
            self.refuse(404, "not found", lambda: self.send_body(404, b"Not Found", "text/html"))
        elif method == "GET" and set(self.query) == {"wsdl"}:
            body = WSDL.substitute(address=INTERNAL + SERVICE_PATH, schema=f"{INTERNAL}{SERVICE_PATH}?xsd=1")
            self.send_body(200, body.encode("utf-8"), "text/xml;charset=utf-8")
        elif method == "GET" and self.param("xsd") == "1":
            self.send_body(200, XSD, "text/xml;charset=utf-8")
        elif method != "POST":
            self.refuse(405, "method", lambda: self.send_body(405, b"Method Not Allowed", "text/html"))
        else:
            try:
                self.soap()
            except Fault as fault:
                self.fault(fault)

    def soap(self) -> None:
        if (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() != "text/xml":
            raise Fault("Client", "Unsupported Content-Type", "content type")
        if self.headers.get("SOAPAction") is None:
            raise Fault("Client", "Missing SOAPAction", "soapaction")
        try:
            root = etree.fromstring(self.raw_body, PARSER)
        except etree.XMLSyntaxError as exc:
            raise Fault(
                "Client", f"Couldn't create SOAP message due to exception: {exc}", "not xml"
            ) from None
        if root.getroottree().docinfo.doctype:
            raise Fault("Client", "DTD is prohibited", "dtd")
        body = root.find(f"{{{SOAP11}}}Body")
        call = [c for c in body if isinstance(c.tag, str)] if body is not None else []
        if len(call) != 1 or call[0].tag != f"{{{TNS}}}layDanhSachHoSo":
            raise Fault("Client", "Cannot find dispatch method for the request", "operation")
        parts = {c.tag: c for c in call[0] if isinstance(c.tag, str)}
        expected = ["taiKhoan", "matKhau", "tuNgay", "denNgay", "trang", "soLuong"]
        if list(parts) != expected:  # rpc/literal: parts unqualified, in the parameterOrder
            raise Fault("Client", f"Unexpected parts {list(parts)}; expected {expected}", "parts")
        text = {name: (el.text or "").strip() for name, el in parts.items()}
        if text["taiKhoan"] != USER or text["matKhau"] != PASSWORD:
            raise Fault("Server", REFUSAL, "login", detail=True)
        try:
            start, end = (
                datetime.fromisoformat(text[n].replace("Z", "+00:00")) for n in ("tuNgay", "denNgay")
            )
            page, size = int(text["trang"]), int(text["soLuong"])
        except ValueError as exc:
            raise Fault("Client", f"javax.xml.bind.UnmarshalException: {exc}", "unmarshal") from None
        if start.tzinfo is None or end.tzinfo is None:
            raise Fault("Server", "tuNgay, denNgay phải có múi giờ", "zone")
        if page < 1 or not 1 <= size <= MAX_PAGE:
            raise Fault("Server", f"trang >= 1, soLuong 1..{MAX_PAGE}", "paging")
        found = sorted((i for i in self.truth if start <= updated(i) < end),
                       key=lambda i: (updated(i), int(i["source_record_id"])))  # fmt: skip
        response = etree.Element(f"{{{TNS}}}layDanhSachHoSoResponse", nsmap={"ns2": TNS, "xsi": XSI})
        result = etree.SubElement(response, "return")
        for item in found[(page - 1) * size : page * size]:
            render(result, item)
        self.send_soap(response)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
