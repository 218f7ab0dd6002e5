"""A .NET WCF one-stop service (basicHttpBinding, SOAP 1.1, document/literal, XmlSerializer): log in for a
session, then search with the session in a SOAP header; every dossier comes back as attributes.

Contract (what the vendor's integration guide says, and what this server enforces):
  GET  /DichVuMotCua.svc?wsdl     the WSDL; its schema is imported from ?xsd=xsd0 (as WCF publishes it);
                                  ?singleWsdl is the same description in one document
  POST /DichVuMotCua.svc          Content-Type text/xml; charset=utf-8,
                                  SOAPAction "http://tempuri.org/IDichVuMotCua/<operation>"
    DangNhap(userName, password)  -> DangNhapResult/SessionToken (a GUID), DangNhapResult/ExpiresAt (local time,
                                     no zone: 20 minutes after the login)
    TimKiemHoSo                   header <AuthHeader><SessionToken>…</SessionToken></AuthHeader>, body
      <request><Filter><FromDate/><ToDate/>[<AgencyCode/>]</Filter><Paging><PageIndex/><PageSize/></Paging></request>
      -> <TimKiemHoSoResult TotalRecords=".." PageIndex=".." PageSize=".."><Dossiers><Dossier Id=".." …>
           <Applicant …/><Steps><Step …/></Steps><Fees><Fee …/></Fees><Documents><Document …/></Documents>
         </Dossier>…</Dossiers></TimKiemHoSoResult>
  Every element is in http://tempuri.org/ (elementFormDefault qualified); attributes are unqualified.
  The window is half-open [FromDate, ToDate) on LastModified; ToDate may be xsi:nil (no upper bound). Times are
  local (Asia/Ho_Chi_Minh) without a zone, in the window and in the records; a window time with a zone is
  converted to local time, as .NET does. PageIndex counts from 0; PageSize 1..100; records are ordered by
  (LastModified, Id).
  Faults are SOAP 1.1 Faults with HTTP 500: the vendor's own faultcodes in http://tempuri.org/ with Vietnamese
  faultstrings and a <ServiceFault><ErrorCode/><ErrorMessage/></ServiceFault> detail:
    a:InvalidCredentials (1001, REFUSAL)   a:SessionExpired (1002)   a:AuthHeaderRequired (1003)
    a:InvalidRequest (2001)
  and WCF's own (English) for a wrong SOAPAction (a:ActionNotSupported) or a body of another operation
  (a:DeserializationFailed). Not text/xml -> 415, not XML or a DTD -> 400, not POST -> 405 (WCF's words).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any

from lxml import etree

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "soap_login"
SERVICE_PATH = "/DichVuMotCua.svc"
TNS = "http://tempuri.org/"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
WCF_ADDRESSING_NONE = "http://schemas.microsoft.com/ws/2005/05/addressing/none"
WCF_DISPATCHER = "http://schemas.microsoft.com/net/2005/12/windowscommunicationfoundation/dispatcher"
ACTION = {"DangNhap": f"{TNS}IDichVuMotCua/DangNhap", "TimKiemHoSo": f"{TNS}IDichVuMotCua/TimKiemHoSo"}

USER, PASSWORD = "lienthong_gialoc", "GL#MotCua@2025"
REFUSAL = "Đăng nhập không thành công: tài khoản hoặc mật khẩu không chính xác."
SESSION_EXPIRED = "Phiên làm việc đã hết hạn hoặc không tồn tại. Vui lòng đăng nhập lại."
AUTH_HEADER_REQUIRED = "Thiếu thông tin xác thực: yêu cầu phải có AuthHeader/SessionToken."
SESSION_TTL_S = 1200  # WCF's default session lifetime: 20 minutes
MAX_PAGE_SIZE = 100
LOCAL = "%Y-%m-%dT%H:%M:%S"

STATUS = {1: "MoiDangKy", 2: "DaTiepNhan", 3: "KhongTiepNhan", 4: "DangXuLy", 5: "YeuCauBoSung",
          6: "ChoThucHienNghiaVuTaiChinh", 7: "CongDanRutHoSo", 8: "DungXuLy", 9: "DaCoKetQua",
          10: "DaTraKetQua"}  # fmt: skip
CHANNEL = {1: "TrucTiep", 2: "TrucTuyen", 3: "BuuChinhCongIch"}
APPLICANT = {1: "CongDan", 2: "ToChuc"}

HERE = Path(__file__).resolve().parent
WSDL = Template((HERE / "DichVuMotCua.wsdl").read_text(encoding="utf-8"))
XSD = (HERE / "DichVuMotCua.xsd").read_text(encoding="utf-8")
XSD_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$")
XSD_INT = re.compile(r"^[+-]?\d{1,10}$")
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

_sessions: dict[str, float] = {}  # token -> monotonic expiry
_lock = threading.Lock()


def local(iso: str | None) -> str | None:
    """A truth time as this vendor writes it: local wall-clock time, no zone (DateTimeKind.Unspecified)."""
    return None if iso is None else datetime.fromisoformat(iso).astimezone(HCM).strftime(LOCAL)


def money(amount: int) -> str:
    return f"{amount}.0000"  # SQL Server money, as XmlSerializer writes a decimal read from it


def q(name: str) -> str:
    return f"{{{TNS}}}{name}"


def attrs(el: etree._Element, values: dict[str, Any]) -> None:
    """XmlSerializer leaves out a null attribute."""
    for name, value in values.items():
        if value is not None:
            el.set(name, str(value))


def render(parent: etree._Element, item: dict[str, Any]) -> None:
    dossier = etree.SubElement(parent, q("Dossier"))
    attrs(
        dossier,
        {
            "Id": item["source_record_id"],
            "Code": item["ma_ho_so"],
            "ProcedureCode": item["procedure_code"],
            "ProcedureName": item["procedure_name"],
            "FieldCode": item["field_code"],
            "FieldName": item["field_name"],
            "AgencyCode": item["agency_code"],
            "AgencyName": item["agency_name"],
            "Channel": CHANNEL[item["channel"]],
            "Status": STATUS[item["status"]],
            "Summary": item["summary"],
            "SubmittedDate": local(item.get("submitted_at")),
            "ReceivedDate": local(item["received_at"]),
            "AppointmentDate": local(item["due_at"]),
            "FinishedDate": local(item.get("finished_at")),
            "ReturnedDate": local(item.get("returned_at")),
            "LastModified": local(item["source_updated_at"]),
        },
    )
    a = item["applicant"]
    birth = a.get("birth_date")
    attrs(
        etree.SubElement(dossier, q("Applicant")),
        {
            "Type": APPLICANT[a["type"]],
            "Name": a["name"],
            "IdType": "CCCD" if a.get("id_type") == 1 else None,
            "IdNo": a["id_number"],
            "Phone": a["phone"],
            "Email": a.get("email"),
            "BirthDate": None if birth is None else f"{birth}T00:00:00",  # a DateTime holding a date
            "Address": a["address"],
        },
    )
    steps = etree.SubElement(dossier, q("Steps"))
    for h in item["history"]:
        step = etree.SubElement(steps, q("Step"))
        attrs(
            step,
            {
                "Status": STATUS[h["status"]],
                "Time": local(h["at"]),
                "Officer": h["actor"],
                "Note": h["content"],
            },
        )
    fees = etree.SubElement(dossier, q("Fees"))
    for f in item["fees"]:
        attrs(
            etree.SubElement(fees, q("Fee")),
            {"Code": f["code"], "Name": f["name"], "Amount": money(f["amount_vnd"])},
        )
    documents = etree.SubElement(dossier, q("Documents"))
    for d in item["documents"]:
        attrs(etree.SubElement(documents, q("Document")), {"Name": d["name"], "FormCode": d["form_code"]})


def parse_datetime(text: str | None) -> datetime:
    """xs:dateTime as .NET reads it: without a zone it is local time; with one it is converted to local time."""
    m = XSD_DATETIME.match((text or "").strip())
    if not m:
        raise ValueError(text)
    base, fraction, zone = m.groups()
    value = datetime.fromisoformat(base + (f".{fraction[:6]}" if fraction else ""))
    if zone is None:
        return value.replace(tzinfo=HCM)
    offset = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone)).tzinfo
    return value.replace(tzinfo=offset).astimezone(HCM)


def elements(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def is_nil(el: etree._Element) -> bool:
    return el.get(f"{{{XSI}}}nil") in ("true", "1")


class Invalid(Exception):
    """A request the service refuses with a:InvalidRequest (the message is the vendor's)."""


def children(
    el: etree._Element, allowed: tuple[str, ...], required: tuple[str, ...], where: str
) -> dict[str, Any]:
    """The element's children by local name: each in the service namespace, known, at most once."""
    found: dict[str, etree._Element] = {}
    for child in elements(el):
        name = etree.QName(child)
        if name.namespace != TNS:
            raise Invalid(
                f"Phần tử '{name.localname}' trong {where} không thuộc không gian tên {TNS}"
                f" (namespace '{name.namespace or ''}')"
            )
        if name.localname not in allowed:
            raise Invalid(f"Phần tử '{name.localname}' không được hỗ trợ trong {where}")
        if name.localname in found:
            raise Invalid(f"Phần tử '{name.localname}' xuất hiện nhiều lần trong {where}")
        found[name.localname] = child
    missing = [n for n in required if n not in found]
    if missing:
        raise Invalid(f"Thiếu phần tử {', '.join(missing)} trong {where}")
    return found


def integer(el: etree._Element, name: str) -> int:
    text = (el.text or "").strip()
    if not XSD_INT.match(text):
        raise Invalid(f"Giá trị '{text}' của {name} không phải số nguyên")
    return int(text)


class Handler(VendorHandler):
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    # --- answers ---------------------------------------------------------------------------------------------
    def send_xml(self, body: bytes, status: int = 200) -> None:
        self.send_body(status, body, "text/xml; charset=utf-8", {"X-Powered-By": "ASP.NET"})

    def envelope(self, payload: etree._Element) -> bytes:
        env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"s": SOAP11})
        etree.SubElement(env, f"{{{SOAP11}}}Body").append(payload)
        return etree.tostring(env, encoding="utf-8")

    def fault(
        self, code_ns: str, code: str, text: str, detail: int | None = None, reason: str | None = None
    ) -> None:
        """A SOAP 1.1 Fault (HTTP 500), counted as a refusal."""
        fault = etree.Element(f"{{{SOAP11}}}Fault", nsmap={"s": SOAP11})
        faultcode = etree.SubElement(fault, "faultcode", nsmap={"a": code_ns} if code_ns else None)
        faultcode.text = f"a:{code}" if code_ns else f"s:{code}"
        faultstring = etree.SubElement(fault, "faultstring")
        faultstring.set("{http://www.w3.org/XML/1998/namespace}lang", "vi-VN" if detail else "en-US")
        faultstring.text = text
        if detail is not None:
            info = etree.SubElement(
                etree.SubElement(fault, "detail"), q("ServiceFault"), nsmap={None: TNS, "i": XSI}
            )
            etree.SubElement(info, q("ErrorCode")).text = str(detail)
            etree.SubElement(info, q("ErrorMessage")).text = text
        body = self.envelope(fault)
        self.refuse(500, reason or code, lambda: self.send_xml(body, 500))

    def invalid(self, message: str) -> None:
        self.fault(TNS, "InvalidRequest", f"Yêu cầu không hợp lệ: {message}", 2001)

    def plain(self, status: int, text: str, reason: str, headers: dict[str, str] | None = None) -> None:
        body = text.encode("utf-8")
        self.refuse(status, reason, lambda: self.send_body(status, body, "text/html; charset=utf-8", headers))

    # --- routing ---------------------------------------------------------------------------------------------
    def vendor(self, method: str) -> None:
        if self.route.lower() != SERVICE_PATH.lower():
            self.plain(404, "<h2>The resource cannot be found.</h2>", "not found")
        elif method == "GET":
            self.metadata()
        elif method != "POST":
            self.plain(405, "<h2>Method Not Allowed</h2>", "method", {"Allow": "POST"})
        else:
            self.soap()

    def metadata(self) -> None:
        query = {k.lower(): v[0] for k, v in self.query.items()}
        address = f"http://{self.headers.get('Host') or '127.0.0.1'}{SERVICE_PATH}"
        if query == {"wsdl": ""}:
            imports = (
                f'<xsd:schema targetNamespace="{TNS}Imports">'
                f'<xsd:import schemaLocation="{address}?xsd=xsd0" namespace="{TNS}" /></xsd:schema>'
            )
            self.send_xml(WSDL.substitute(types=imports, address=address).encode("utf-8"))
        elif query == {"singlewsdl": ""}:
            schema = XSD.split("?>", 1)[1].strip()
            self.send_xml(WSDL.substitute(types=schema, address=address).encode("utf-8"))
        elif query == {"xsd": "xsd0"}:
            self.send_xml(XSD.encode("utf-8"))
        else:  # the help page is disabled (serviceDebug httpHelpPageEnabled="false")
            self.plain(405, "<h2>Method Not Allowed</h2>", "method", {"Allow": "POST"})

    def soap(self) -> None:
        content_type = self.headers.get("Content-Type") or ""
        if content_type.split(";")[0].strip().lower() != "text/xml":
            message = (
                f"Cannot process the message because the content type '{content_type}' was not the expected"
                " type 'text/xml; charset=utf-8'."
            )
            self.plain(415, message, "content type")
            return
        try:
            root = etree.fromstring(self.raw_body, PARSER)
        except etree.XMLSyntaxError:
            self.plain(400, "<h2>Bad Request</h2>", "not xml")
            return
        if root.getroottree().docinfo.doctype:
            self.plain(400, "For security reasons DTD is prohibited in this XML document.", "dtd")
            return
        if root.tag == f"{{{SOAP12}}}Envelope":
            self.fault("", "VersionMismatch", "The envelope version of the incoming message does not match"
                       " that of the encoder (Soap11 (http://schemas.xmlsoap.org/soap/envelope/)).")  # fmt: skip
            return
        body = root.find(f"{{{SOAP11}}}Body") if root.tag == f"{{{SOAP11}}}Envelope" else None
        payload = elements(body) if body is not None else []
        if len(payload) != 1:
            self.plain(400, "<h2>Bad Request</h2>", "not a soap request")
            return
        action = (self.headers.get("SOAPAction") or "").strip().strip('"')
        operation = next((op for op, a in ACTION.items() if a == action), None)
        if operation is None:
            self.fault(
                WCF_ADDRESSING_NONE,
                "ActionNotSupported",
                f"The message with Action '{action}' cannot be processed at the receiver, due to a"
                " ContractFilter mismatch at the EndpointDispatcher. This may be because of either a contract"
                " mismatch (mismatched Actions between sender and receiver) or a binding/security mismatch"
                " between the sender and the receiver.  Check that sender and receiver have the same contract"
                " and the same binding (including security requirements, e.g. Message, Transport, None).",
            )
            return
        name = etree.QName(payload[0])
        if (name.namespace, name.localname) != (TNS, operation):
            self.fault(
                WCF_DISPATCHER,
                "DeserializationFailed",
                "The formatter threw an exception while trying to deserialize the message: Error in"
                f" deserializing body of request message for operation '{operation}'. OperationFormatter"
                " encountered an invalid Message body. Expected to find node type 'Element' with name"
                f" '{operation}' and namespace '{TNS}'. Found node type 'Element' with name"
                f" '{name.localname}' and namespace '{name.namespace or ''}'",
            )
            return
        header = root.find(f"{{{SOAP11}}}Header")
        for block in elements(header) if header is not None else []:
            block_name = etree.QName(block)
            if block.get(f"{{{SOAP11}}}mustUnderstand") in ("1", "true") and block_name != etree.QName(
                q("AuthHeader")
            ):
                self.fault(
                    "",
                    "MustUnderstand",
                    f"The header '{block_name.localname}' from the namespace '{block_name.namespace or ''}' was"
                    " not understood by the recipient of this message, causing the message to not be processed."
                    "  This error typically indicates that the sender of this message has enabled a"
                    " communication protocol that the receiver cannot process.  Please ensure that the"
                    " configuration of the sender's binding is consistent with the binding of the receiver.",
                )
                return
        try:
            if operation == "DangNhap":
                self.login(payload[0])
            else:
                self.search(header, payload[0])
        except Invalid as exc:
            self.invalid(str(exc))

    # --- operations ------------------------------------------------------------------------------------------
    def login(self, request: etree._Element) -> None:
        found = children(request, ("userName", "password"), ("userName", "password"), "DangNhap")
        if (found["userName"].text or "") != USER or (found["password"].text or "") != PASSWORD:
            self.fault(TNS, "InvalidCredentials", REFUSAL, 1001)
            return
        token = str(uuid.uuid4())
        ttl = self.options.session_ttl
        with _lock:
            _sessions[token] = time.monotonic() + ttl
        expires = datetime.now(HCM) + timedelta(seconds=ttl)
        response = etree.Element(q("DangNhapResponse"), nsmap={None: TNS})
        result = etree.SubElement(response, q("DangNhapResult"), nsmap={"i": XSI})
        etree.SubElement(result, q("SessionToken")).text = token
        etree.SubElement(
            result, q("ExpiresAt")
        ).text = f"{expires:%Y-%m-%dT%H:%M:%S}.{expires.microsecond:06d}0"
        self.send_xml(self.envelope(response))

    def session_valid(self, header: etree._Element | None) -> bool | None:
        """True: a live session; False: refused already; None: no AuthHeader."""
        auth = header.find(q("AuthHeader")) if header is not None else None
        token_el = auth.find(q("SessionToken")) if auth is not None else None
        if token_el is None or not (token_el.text or "").strip():
            return None
        token = token_el.text.strip()
        with _lock:
            expiry = _sessions.get(token)
        if expiry is not None and self.revoke_due():
            with _lock:
                _sessions.clear()
            expiry = None
        if expiry is None or expiry < time.monotonic():
            self.fault(TNS, "SessionExpired", SESSION_EXPIRED, 1002)
            return False
        return True

    def search(self, header: etree._Element | None, request: etree._Element) -> None:
        valid = self.session_valid(header)
        if valid is None:
            self.fault(TNS, "AuthHeaderRequired", AUTH_HEADER_REQUIRED, 1003)
            return
        if not valid:
            return
        wrapper = children(request, ("request",), ("request",), "TimKiemHoSo")
        parts = children(wrapper["request"], ("Filter", "Paging"), ("Filter", "Paging"), "request")
        where = children(parts["Filter"], ("FromDate", "ToDate", "AgencyCode"), ("FromDate",), "Filter")
        paging = children(parts["Paging"], ("PageIndex", "PageSize"), ("PageIndex", "PageSize"), "Paging")
        try:
            start = parse_datetime(where["FromDate"].text)
            to = where.get("ToDate")
            end = None if to is None or is_nil(to) else parse_datetime(to.text)
        except ValueError as exc:
            raise Invalid(f"Giá trị '{exc}' không đúng định dạng ngày giờ (yyyy-MM-ddTHH:mm:ss)") from None
        if end is not None and end <= start:
            raise Invalid("FromDate phải nhỏ hơn ToDate")
        page, size = integer(paging["PageIndex"], "PageIndex"), integer(paging["PageSize"], "PageSize")
        if page < 0:
            raise Invalid("PageIndex phải lớn hơn hoặc bằng 0")
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise Invalid(f"PageSize phải từ 1 đến {MAX_PAGE_SIZE}")
        agency = (where["AgencyCode"].text or "").strip() if "AgencyCode" in where else ""
        found = sorted(
            (
                item
                for item in self.truth
                if start <= updated(item)
                and (end is None or updated(item) < end)
                and (not agency or item["agency_code"] == agency)
            ),
            key=lambda item: (updated(item), int(item["source_record_id"])),
        )
        response = etree.Element(q("TimKiemHoSoResponse"), nsmap={None: TNS})
        result = etree.SubElement(response, q("TimKiemHoSoResult"), nsmap={"i": XSI})
        attrs(result, {"TotalRecords": len(found), "PageIndex": page, "PageSize": size})
        dossiers = etree.SubElement(result, q("Dossiers"))
        for item in found[page * size : (page + 1) * size]:
            render(dossiers, item)
        self.send_xml(self.envelope(response))


def options(parser: Any) -> None:
    parser.add_argument(
        "--session-ttl", type=float, default=SESSION_TTL_S, help="session lifetime in seconds"
    )


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], options))
