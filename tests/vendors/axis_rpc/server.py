"""An Apache Axis 1.4 web service (Tomcat 5.5, Java 1.5, deployed from a Java class with Java2WSDL): SOAP 1.1,
rpc/encoded, every object a multi-reference value, credentials as the operation's first two parameters.

Contract (what the vendor's integration guide says, and what this server enforces):
  GET  /motcua/services/HoSoService?wsdl     the WSDL as Axis generates it: rpc/encoded, soapAction "", its schemas
                                             import http://schemas.xmlsoap.org/soap/encoding/ by namespace alone
                                             (no schemaLocation), arrays are soapenc:Array restrictions
                                             (ArrayOf_tns1_HoSo, …); soap:address is the URL it was asked on
  GET  /motcua/services/HoSoService          Axis's "Hi there, this is an AXIS service!" page (not a refusal)
  POST /motcua/services/HoSoService          text/xml; a SOAPAction header must be present (its value is not used)
    Body: <ns:layDanhSachHoSo xmlns:ns="http://service.motcua.egov.vn"> with the unqualified parameters
          tenDangNhap, matKhau (the account: credentials are parameters, no header, no session),
          tuNgay, denNgay (xsd:dateTime; a time without a zone is UTC, as Axis's CalendarDeserializer reads it;
          denNgay may be xsi:nil: no upper bound), trang (xsd:int, from 1), soBanGhi (xsd:int, 1..100)
    -> <ns1:layDanhSachHoSoResponse><layDanhSachHoSoReturn href="#id0"/></ns1:layDanhSachHoSoResponse> and,
       beside it in the Body, one <multiRef id="idN" soapenc:root="0" xsi:type="nsK:…"> per object (Axis's
       default sendMultiRefs=true), written in the order their ids were given (id0 first):
         id0: KetQuaTraCuu {danhSach: soapenc:Array of <item href="#idN"/> (HoSo), tongSo: the window's total}
         HoSo {flat properties; history/fees/documents: soapenc:Arrays of <item href> to BuocXuLy/LePhi/GiayTo}
       A GiayTo comes from the service's procedure catalogue (one bean per form, shared by every dossier of the
       procedure): Axis writes it once per answer and every dossier that lists it refers to the same id.
       Arrays are written in place (Axis does not multi-reference arrays), empty ones as <x …[0]/>.
       Every element carries xsi:type (xsd:string, xsd:int, xsd:long, xsd:dateTime, soapenc:Array, ns:Bean);
       a null property is <x xsi:type="…" xsi:nil="true"/>; properties in alphabetical order (the WSDL's).
       Calendars are written in UTC with milliseconds (2025-03-04T01:15:00.000Z); birthDate is a java.util.Date
       at local midnight, so it too is a UTC instant (1985-03-03T17:00:00.000Z).
    The window is half-open [tuNgay, denNgay) on updatedAt; rows ordered by (updatedAt, id).
  --inline: the server-config.wsdd's sendMultiRefs=false: the same objects written in place (with xsi:type).
  Faults are SOAP 1.1 Faults, HTTP 500, text/xml, <detail><ns1:hostname xmlns:ns1="http://xml.apache.org/axis/">
  (production mode: no stack trace). What the service's Java code throws is a soapenv:Server.userException whose
  faultstring is the exception's toString() ("class: message"):
    vn.egov.motcua.exception.AuthException: REFUSAL      wrong or nil tenDangNhap/matKhau (checked first)
    java.lang.IllegalArgumentException: …                trang < 1, soBanGhi outside 1..100, nil tuNgay,
                                                         tuNgay not before denNgay
  and Axis's own for what it cannot read or dispatch:
    ns1:Client.NoSOAPAction (Axis's namespace)   "no SOAPAction header!"
    soapenv:Client                               "No such operation 'X'" (another operation or namespace)
    soapenv:VersionMismatch                      "Version Mismatch" (an Envelope in another namespace: the
                                                 service is deployed with singleSOAPVersion 1.1)
    Server.userException (no prefix)             "No such operation 'layDanhSachHoSo'" (a parameter missing:
                                                 no operation's signature matches)
    soapenv:Server.userException                 org.xml.sax.SAXParseException (not XML), org.xml.sax.SAXException
                                                 (a DTD: "Processing instructions are not allowed within SOAP
                                                 messages"; not an Envelope: "Bad envelope tag:  X"),
                                                 java.lang.NumberFormatException (a parameter not of its type:
                                                 "For input string: …", "Invalid date/time")
  A POST to another service under /motcua/services/ is ns1:Server.NoService; another path is Tomcat's 404.
  Every fault and 404 is counted as a refusal. No sessions: --revoke-at has no effect.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta, timezone
from itertools import count
from pathlib import Path
from string import Template
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "axis_rpc"
SERVICES = "/motcua/services/"
SERVICE_PATH = "/motcua/services/HoSoService"
SERVICE_NS = "http://service.motcua.egov.vn"
MODEL_NS = "http://model.motcua.egov.vn"
OPERATION = "layDanhSachHoSo"
PARAMETERS = ("tenDangNhap", "matKhau", "tuNgay", "denNgay", "trang", "soBanGhi")
SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAPENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
AXIS_NS = "http://xml.apache.org/axis/"
MEDIA = "text/xml;charset=utf-8"

USER, PASSWORD = "lienthong_namsach", "NS@axis2006"
REFUSAL = "Sai tên đăng nhập hoặc mật khẩu"
AUTH_EXCEPTION = "vn.egov.motcua.exception.AuthException"
HOSTNAME = "srv-motcua01"
MAX_PAGE_SIZE = 100

WSDL = Template((Path(__file__).resolve().parent / "HoSoService.wsdl").read_text(encoding="utf-8"))
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
XSD_INT = re.compile(r"^[+-]?\d{1,10}$")

# the beans' property types (Java2WSDL: xsd:long for long, xsd:int for int, xsd:dateTime for Calendar and Date)
LONGS = frozenset({"id", "amount"})
INTS = frozenset({"status", "channel", "applicantType", "tongSo"})
TIMES = frozenset({"submittedAt", "receivedAt", "dueAt", "finishedAt", "returnedAt", "updatedAt", "at"})
ARRAYS = {"danhSach": "HoSo", "history": "BuocXuLy", "fees": "LePhi", "documents": "GiayTo"}


def utc_ms(iso: str) -> str:
    """A Calendar as Axis's CalendarSerializer writes it: UTC, milliseconds, Z."""
    t = datetime.fromisoformat(iso).astimezone(UTC)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"


def hoso(item: dict[str, Any]) -> dict[str, Any]:
    """One truth dossier as the service's HoSo bean (None: a null property)."""
    a = item["applicant"]
    birth = a.get("birth_date")
    return {
        "id": item["source_record_id"],
        "code": item["ma_ho_so"],
        "procedureCode": item["procedure_code"],
        "procedureName": item["procedure_name"],
        "fieldCode": item["field_code"],
        "fieldName": item["field_name"],
        "agencyCode": item["agency_code"],
        "agencyName": item["agency_name"],
        "channel": item["channel"],
        "status": item["status"],
        "summary": item["summary"],
        "applicantType": a["type"],
        "applicantName": a["name"],
        "idType": "CCCD" if a.get("id_type") == 1 else None,
        "idNumber": a["id_number"],
        "phone": a["phone"],
        "email": a.get("email"),
        "birthDate": None if birth is None else utc_ms(f"{birth}T00:00:00+07:00"),  # java.util.Date, midnight
        "address": a["address"],
        "submittedAt": item.get("submitted_at"),
        "receivedAt": item["received_at"],
        "dueAt": item["due_at"],
        "finishedAt": item.get("finished_at"),
        "returnedAt": item.get("returned_at"),
        "updatedAt": item["source_updated_at"],
        "history": [
            {"status": h["status"], "at": h["at"], "actor": h["actor"], "content": h["content"]}
            for h in item["history"]
        ],
        "fees": [{"name": f["name"], "code": f["code"], "amount": f["amount_vnd"]} for f in item["fees"]],
        "documents": [{"name": d["name"], "formCode": d["form_code"]} for d in item["documents"]],
    }


def scalar(name: str, value: Any) -> str:
    """A simple property with its xsi:type (sendXsiTypes=true), null as xsi:nil."""
    kind = (
        "xsd:long"
        if name in LONGS
        else "xsd:int"
        if name in INTS
        else "xsd:dateTime"
        if name in TIMES or name == "birthDate"
        else "xsd:string"
    )
    if value is None:
        return f'<{name} xsi:type="{kind}" xsi:nil="true"/>'
    if name in TIMES:
        value = utc_ms(value)
    return f'<{name} xsi:type="{kind}">{escape(str(value))}</{name}>'


Scope = dict[str, str]  # namespace URI -> the prefix declared for it where an element is written


class Message:
    """One answer's serialization context, as Axis's SerializationContext keeps it: object ids in the order they
    are met, multiRefs written after the answer element in that order (a multiRef's properties may meet further
    objects: they follow), and a namespace declared only where no ancestor declares it (nsN, counted up)."""

    def __init__(self, multirefs: bool) -> None:
        self.multirefs = multirefs
        self.ids: dict[Any, str] = {}
        self.pending: list[tuple[str, str, dict[str, Any]]] = []
        self.prefixes = count(2)  # ns1 is the response element's

    def declare(self, scope: Scope, uri: str) -> tuple[Scope, str]:
        """The scope inside an element that uses `uri`, and the declaration it must write (or "")."""
        if uri in scope:
            return scope, ""
        prefix = "soapenc" if uri == SOAPENC else f"ns{next(self.prefixes)}"
        return {**scope, uri: prefix}, f' xmlns:{prefix}="{uri}"'

    def obj(self, name: str, bean: str, fields: dict[str, Any], scope: Scope, shared: Any = None) -> str:
        """A reference to a bean (or, without multiRefs, the bean in place). `shared`: the identity of a bean
        the service hands out more than once (a catalogue's); otherwise every bean is its own."""
        if not self.multirefs:
            inner, declared = self.declare(scope, MODEL_NS)
            kind = f"{inner[MODEL_NS]}:{bean}"
            return f'<{name} xsi:type="{kind}"{declared}>{self.properties(fields, inner)}</{name}>'
        key = shared if shared is not None else object()
        ident = self.ids.get(key)
        if ident is None:
            ident = self.ids[key] = f"id{len(self.ids)}"
            self.pending.append((ident, bean, fields))
        return f'<{name} href="#{ident}"/>'

    def properties(self, fields: dict[str, Any], scope: Scope) -> str:
        return "".join(self.value(k, fields[k], scope) for k in sorted(fields))

    def value(self, name: str, value: Any, scope: Scope) -> str:
        if name not in ARRAYS:
            return scalar(name, value)
        bean = ARRAYS[name]
        inner, model = self.declare(scope, MODEL_NS)
        inner, enc = self.declare(inner, SOAPENC)
        items = [
            self.obj(
                "item", bean, v, inner, ("GiayTo", v["formCode"], v["name"]) if bean == "GiayTo" else None
            )
            for v in value
        ]
        head = (
            f'<{name} soapenc:arrayType="{inner[MODEL_NS]}:{bean}[{len(items)}]" xsi:type="soapenc:Array"'
            f"{model}{enc}"
        )
        return f"{head}/>" if not items else f"{head}>{''.join(items)}</{name}>"

    def answer(self, name: str, bean: str, fields: dict[str, Any]) -> str:
        """The return value in the response element, then (with multiRefs) every multiRef beside it."""
        first = self.obj(name, bean, fields, {})
        out, done = [], 0
        while done < len(self.pending):
            ident, kind, values = self.pending[done]
            done += 1
            inner, model = self.declare({}, MODEL_NS)
            inner, enc = self.declare(inner, SOAPENC)
            out.append(
                f'<multiRef id="{ident}" soapenc:root="0" soapenv:encodingStyle="{SOAPENC}" '
                f'xsi:type="{inner[MODEL_NS]}:{kind}"{model}{enc}>{self.properties(values, inner)}</multiRef>'
            )
        return (
            f'<ns1:{OPERATION}Response soapenv:encodingStyle="{SOAPENC}" xmlns:ns1="{SERVICE_NS}">{first}'
            f"</ns1:{OPERATION}Response>{''.join(out)}"
        )


def envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns:xsd="{XSD}" xmlns:xsi="{XSI}">'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


class AxisFault(Exception):
    """A fault to answer: faultcode as written (with the namespace its prefix needs), faultstring, the reason
    counted in the stats."""

    def __init__(self, code: str, text: str, reason: str, code_ns: str | None = None) -> None:
        super().__init__(text)
        self.code, self.text, self.reason, self.code_ns = code, text, reason, code_ns


def user_exception(exception: str, message: str, reason: str) -> AxisFault:
    """What the service (or a deserializer) threw, as Axis wraps it: Server.userException, toString()."""
    return AxisFault("soapenv:Server.userException", f"{exception}: {message}", reason)


def fault_body(fault: AxisFault) -> bytes:
    code_ns = f' xmlns:ns1="{fault.code_ns}"' if fault.code_ns else ""
    return envelope(
        f"<soapenv:Fault><faultcode{code_ns}>{fault.code}</faultcode>"
        f"<faultstring>{escape(fault.text)}</faultstring>"
        f'<detail><ns1:hostname xmlns:ns1="{AXIS_NS}">{HOSTNAME}</ns1:hostname></detail></soapenv:Fault>'
    )


def calendar(text: str) -> datetime:
    """xsd:dateTime as Axis's CalendarDeserializer reads it (no zone: UTC); NumberFormatException's words."""
    source = text.strip().lstrip("+")
    if len(source) < 19:
        raise ValueError("Invalid date/time")
    if source[4] != "-" or source[7] != "-" or source[10] != "T":
        raise ValueError("Invalid date")
    if source[13] != ":" or source[16] != ":":
        raise ValueError("Invalid time")
    try:
        base = datetime.fromisoformat(source[:19]).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f'java.text.ParseException: Unparseable date: "{source[:19]}.000Z"') from None
    rest = source[19:]
    millis = re.match(r"^\.(\d+)", rest)
    if millis:
        rest = rest[millis.end() :]
        base = base.replace(microsecond=int((millis.group(1) + "000")[:3]) * 1000)
    if rest in ("", "Z"):
        return base
    zone = re.fullmatch(r"([+-])(\d{2}):(\d{2})Z?", rest)
    if not zone:
        raise ValueError("Invalid timezone")
    sign, hours, minutes = zone.groups()
    offset = (int(hours) * 60 + int(minutes)) * (1 if sign == "+" else -1)
    return base.replace(tzinfo=timezone(timedelta(minutes=offset)))


def nil(el: etree._Element) -> bool:
    return el.get(f"{{{XSI}}}nil") in ("true", "1")


class Handler(VendorHandler):
    server_version = "Apache-Coyote/1.1"
    sys_version = ""

    def send_fault(self, fault: AxisFault) -> None:
        self.refuse(500, fault.reason, lambda: self.send_body(500, fault_body(fault), MEDIA))

    def vendor(self, method: str) -> None:
        if self.route == SERVICE_PATH:
            if method == "GET" and "wsdl" in {k.lower() for k in self.query}:
                address = f"http://{self.headers.get('Host') or '127.0.0.1'}{SERVICE_PATH}"
                self.send_body(200, WSDL.substitute(address=address).encode("utf-8"), MEDIA)
            elif method == "GET":
                page = (
                    "<h1>HoSoService</h1><p>Hi there, this is an AXIS service!</p>"
                    "<i>Perhaps there will be a form for invoking the service here...</i>"
                )
                self.send_body(200, page.encode(), "text/html;charset=utf-8")
            else:
                try:
                    self.soap()
                except AxisFault as fault:
                    self.send_fault(fault)
        elif method == "POST" and self.route.startswith(SERVICES):
            target = self.route[len(SERVICES) :]
            text = f"The AXIS engine could not find a target service to invoke!  targetService is {target}"
            self.send_fault(AxisFault("ns1:Server.NoService", text, "no service", AXIS_NS))
        else:
            body = (
                f"<html><head><title>Apache Tomcat/5.5.23 - Error report</title></head><body><h1>HTTP Status 404 - "
                f"{escape(self.route)}</h1><p>The requested resource ({escape(self.route)}) is not available.</p>"
                "</body></html>"
            ).encode()
            self.refuse(404, "not found", lambda: self.send_body(404, body, "text/html;charset=utf-8"))

    # --- the request, as Axis reads and dispatches it -----------------------------------------------------------
    def soap(self) -> None:
        if self.headers.get("SOAPAction") is None:  # AxisServlet, before it reads the message
            raise AxisFault("ns1:Client.NoSOAPAction", "no SOAPAction header!", "no SOAPAction", AXIS_NS)
        root = self.parse()
        name = etree.QName(root)
        if name.localname != "Envelope":
            raise user_exception(
                "org.xml.sax.SAXException", f"Bad envelope tag:  {name.localname}", "not soap"
            )
        if name.namespace != SOAPENV:
            raise AxisFault("soapenv:VersionMismatch", "Version Mismatch", "version")
        body = root.find(f"{{{SOAPENV}}}Body")
        call = next((c for c in (body if body is not None else []) if isinstance(c.tag, str)), None)
        if call is None:
            raise user_exception("java.lang.Exception", "Body not found.", "no body")
        called = etree.QName(call)
        if (called.namespace, called.localname) != (SERVICE_NS, OPERATION):
            raise AxisFault("soapenv:Client", f"No such operation '{called.localname}'", "operation")
        given = {etree.QName(c).localname: c for c in call if isinstance(c.tag, str)}
        if any(p not in given for p in PARAMETERS):  # RPCElement: no operation's parameters match
            raise AxisFault("Server.userException", f"No such operation '{OPERATION}'", "parameters")
        values = {p: self.deserialize(p, given[p]) for p in PARAMETERS}
        self.lay_danh_sach_ho_so(**values)

    def parse(self) -> etree._Element:
        raw = self.raw_body
        try:
            root = etree.fromstring(raw, PARSER)
        except etree.XMLSyntaxError:
            head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
            message = (
                "Premature end of file."
                if not head
                else "Content is not allowed in prolog."
                if not head.startswith(b"<")
                else "XML document structures must start and end within the same entity."
            )
            raise user_exception("org.xml.sax.SAXParseException", message, "not xml") from None
        if root.getroottree().docinfo.doctype:
            raise user_exception(
                "org.xml.sax.SAXException",
                "Processing instructions are not allowed within SOAP messages",
                "dtd",
            )
        return root

    def deserialize(self, name: str, el: etree._Element) -> Any:
        """A parameter by its declared type (xsd:string, xsd:dateTime, xsd:int): None when xsi:nil."""
        if nil(el):
            return None
        text = el.text or ""
        if name in ("tuNgay", "denNgay"):
            try:
                return calendar(text)
            except ValueError as exc:
                raise user_exception("java.lang.NumberFormatException", str(exc), "type") from None
        if name in ("trang", "soBanGhi"):
            if not XSD_INT.match(text.strip()):
                raise user_exception(
                    "java.lang.NumberFormatException", f'For input string: "{text}"', "type"
                ) from None
            return int(text)
        return text

    # --- the service's Java method ----------------------------------------------------------------------------
    def lay_danh_sach_ho_so(
        self,
        tenDangNhap: str | None,
        matKhau: str | None,
        tuNgay: datetime | None,
        denNgay: datetime | None,
        trang: int | None,
        soBanGhi: int | None,
    ) -> None:
        if (tenDangNhap, matKhau) != (USER, PASSWORD):
            raise user_exception(AUTH_EXCEPTION, REFUSAL, "login")

        def illegal(message: str) -> AxisFault:
            return user_exception("java.lang.IllegalArgumentException", message, "argument")

        if tuNgay is None:
            raise illegal("Thiếu tham số tuNgay")
        if denNgay is not None and tuNgay >= denNgay:
            raise illegal("tuNgay phải trước denNgay")
        if trang is None or trang < 1:
            raise illegal("trang phải lớn hơn hoặc bằng 1")
        if soBanGhi is None or not 1 <= soBanGhi <= MAX_PAGE_SIZE:
            raise illegal(f"soBanGhi phải từ 1 đến {MAX_PAGE_SIZE}")
        found = sorted(
            (i for i in self.truth if tuNgay <= updated(i) and (denNgay is None or updated(i) < denNgay)),
            key=lambda i: (updated(i), int(i["source_record_id"])),
        )
        page = found[(trang - 1) * soBanGhi : trang * soBanGhi]
        message = Message(multirefs=not self.options.inline)
        fields = {"tongSo": len(found), "danhSach": [hoso(i) for i in page]}
        body = message.answer(f"{OPERATION}Return", "KetQuaTraCuu", fields)
        self.send_body(200, envelope(body), MEDIA)


def extra(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--inline",
        action="store_true",
        help="sendMultiRefs=false: objects written in place, not as multiRefs",
    )


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], extra))
