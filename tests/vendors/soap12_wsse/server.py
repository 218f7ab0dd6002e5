"""A Java JAX-WS (Apache CXF) dossier service: SOAP 1.2, document/literal, WS-Security UsernameToken on every call,
offset/limit paging, records as namespace-qualified elements with English camelCase names.

Contract (what the vendor's integration guide says, and what this server enforces):
  GET  /motcua-ws/services/DossierSync?wsdl     the WSDL (schema inline, SOAP 1.2 binding, soapAction "")
  POST /motcua-ws/services/DossierSync          Content-Type application/soap+xml; charset=UTF-8 (an `action`
                                                parameter, if any, must be empty)
    Header: <wsse:Security><wsse:UsernameToken><wsse:Username/><wsse:Password Type="…#PasswordText"/>
            </wsse:UsernameToken></wsse:Security>  (OASIS WSS 1.0; Nonce, wsu:Created and a wsu:Timestamp are
            optional but checked when sent: Created at most 5 minutes old, Expires not passed, a Nonce once)
    Body:   <tns:getDossiers><tns:criteria><tns:modifiedFrom/><tns:modifiedTo/>[<tns:agencyCode/>]</tns:criteria>
            <tns:offset/><tns:limit/></tns:getDossiers>          tns = http://ws.motcua.haiduong.gov.vn/
    -> <ns2:getDossiersResponse><ns2:result><ns2:totalCount/><ns2:offset/><ns2:limit/><ns2:dossier>…</ns2:dossier>…
  The window is half-open [modifiedFrom, modifiedTo) on lastModifiedAt, at most 90 days, both times with a zone;
  records are ordered by (lastModifiedAt, id); offset from 0, limit 1..100. Times are ISO 8601 with milliseconds
  and +07:00; dateOfBirth is an xs:date with +07:00 (as JAXB writes an XMLGregorianCalendar).
  Faults are SOAP 1.2 Faults with HTTP 500 (as CXF sends them): Code/Value soap:Sender, a Subcode and a
  Reason/Text xml:lang="vi":
    wsse:InvalidSecurity (no Security header or UsernameToken, replayed Nonce, a time in the future)
    wsse:UnsupportedSecurityToken (PasswordDigest; with --digest, PasswordText: then only a PasswordDigest with
    its Nonce and Created is taken)   wsse:MessageExpired (old Created, passed Expires)
    wsse:FailedAuthentication (REFUSAL)   tns:InvalidQuery   tns:QueryRangeExceeded (window over 90 days)
  with a <tns:DossierServiceFault><tns:errorCode/><tns:message/></tns:DossierServiceFault> detail for the
  vendor's own two; CXF's own (English, xml:lang="en") for a body it cannot unmarshal, an unknown wrapper or
  SOAPAction, an unknown mustUnderstand header, and a SOAP 1.1 envelope (soap:VersionMismatch). Not
  application/soap+xml -> 415, not XML or a DTD -> 400, not POST -> 405. No sessions: --revoke-at has no effect.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from datetime import datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any

from lxml import etree

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "soap12_wsse"
SERVICE_PATH = "/motcua-ws/services/DossierSync"
TNS = "http://ws.motcua.haiduong.gov.vn/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PASSWORD_TEXT = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
)
PASSWORD_DIGEST = PASSWORD_TEXT.replace("#PasswordText", "#PasswordDigest")
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

USER, PASSWORD = "esb.sotttt.haiduong", "Cxf-Wss!7Hd2025"
REFUSAL = "Xác thực WS-Security không thành công: tên đăng nhập hoặc mật khẩu không hợp lệ."
MAX_WINDOW = timedelta(days=90)
MAX_LIMIT = 100
CREATED_TTL = timedelta(minutes=5)  # WSS4J's default age of a UsernameToken's Created
FUTURE_SKEW = timedelta(seconds=60)

STATUS = {1: "NEW", 2: "RECEIVED", 3: "REJECTED", 4: "IN_PROGRESS", 5: "SUPPLEMENT_REQUIRED",
          6: "AWAITING_PAYMENT", 7: "WITHDRAWN", 8: "SUSPENDED", 9: "RESULT_READY", 10: "RETURNED"}  # fmt: skip
CHANNEL = {1: "DIRECT", 2: "ONLINE", 3: "POSTAL"}
APPLICANT = {1: "INDIVIDUAL", 2: "ORGANIZATION"}

WSDL = Template((Path(__file__).resolve().parent / "DossierSyncService.wsdl").read_text(encoding="utf-8"))
XSD_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$")
XSD_INT = re.compile(r"^[+-]?\d{1,10}$")
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)

_nonces: set[str] = set()
_lock = threading.Lock()


def iso(value: str | None) -> str | None:
    """A truth time as JAXB writes it: milliseconds and the +07:00 offset."""
    if value is None:
        return None
    t = datetime.fromisoformat(value).astimezone(HCM)
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}+07:00"


def q(name: str) -> str:
    return f"{{{TNS}}}{name}"


def leaf(parent: etree._Element, name: str, value: Any) -> etree._Element | None:
    """A child element; JAXB leaves out a null property."""
    if value is None:
        return None
    el = etree.SubElement(parent, q(name))
    el.text = str(value)
    return el


def group(parent: etree._Element, name: str, values: dict[str, Any]) -> None:
    el = etree.SubElement(parent, q(name))
    for key, value in values.items():
        leaf(el, key, value)


def render(parent: etree._Element, item: dict[str, Any]) -> None:
    d = etree.SubElement(parent, q("dossier"))
    leaf(d, "id", item["source_record_id"])
    leaf(d, "dossierNo", item["ma_ho_so"])
    group(
        d,
        "procedure",
        {
            "nationalCode": item["procedure_code"],
            "localCode": f"{item['procedure_code']}.000.00.00.H23",
            "name": item["procedure_name"],
        },
    )
    group(d, "sector", {"code": item["field_code"], "name": item["field_name"]})
    group(d, "receivingAgency", {"code": item["agency_code"], "name": item["agency_name"]})
    leaf(d, "channel", CHANNEL[item["channel"]])
    leaf(d, "status", STATUS[item["status"]])
    leaf(d, "summary", item["summary"])
    a = item["applicant"]
    applicant = etree.SubElement(d, q("applicant"))
    leaf(applicant, "applicantType", APPLICANT[a["type"]])
    leaf(applicant, "fullName", a["name"])
    group(
        applicant,
        "identification",
        {"type": "CITIZEN_ID" if a.get("id_type") == 1 else None, "number": a["id_number"]},
    )
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
        group(
            d,
            "processingStep",
            {
                "status": STATUS[h["status"]],
                "timestamp": iso(h["at"]),
                "handledBy": h["actor"],
                "comment": h["content"],
            },
        )
    for f in item["fees"]:
        group(d, "fee", {"feeCode": f["code"], "feeName": f["name"], "amount": f["amount_vnd"]})
    for doc in item["documents"]:
        group(d, "document", {"title": doc["name"], "templateCode": doc["form_code"]})


def parse_datetime(text: str | None) -> tuple[datetime, bool]:
    """xs:dateTime -> (the time, whether it had a zone); ValueError when it is not one. Zone-less = local."""
    m = XSD_DATETIME.match((text or "").strip())
    if not m:
        raise ValueError(text)
    base, fraction, zone = m.groups()
    value = datetime.fromisoformat(base + (f".{fraction[:6]}" if fraction else ""))
    if zone is None:
        return value.replace(tzinfo=HCM), False
    return value.replace(
        tzinfo=datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone)).tzinfo
    ), True


def elements(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


class Fault(Exception):
    """A SOAP 1.2 Fault to answer: code (soap:Sender …), subcode QName or None, reason, its language, detail."""

    def __init__(
        self,
        reason: str,
        subcode: tuple[str, str, str] | None = None,
        lang: str = "vi",
        error_code: str | None = None,
        code: str = "Sender",
    ) -> None:
        super().__init__(reason)
        self.reason, self.subcode, self.lang, self.error_code, self.code = (
            reason,
            subcode,
            lang,
            error_code,
            code,
        )


def wsse_fault(name: str, reason: str) -> Fault:
    return Fault(reason, ("wsse", WSSE, name))


def invalid_query(reason: str) -> Fault:
    return Fault(reason, ("ns2", TNS, "InvalidQuery"), error_code="INVALID_QUERY")


def unmarshalling(reason: str) -> Fault:
    return Fault(f"Unmarshalling Error: {reason} ", lang="en")


class Handler(VendorHandler):
    server_version = "Apache-Coyote/1.1"
    sys_version = ""

    def send_soap(self, envelope: etree._Element, status: int = 200) -> None:
        body = etree.tostring(envelope, encoding="utf-8")
        self.send_body(status, body, "application/soap+xml;charset=UTF-8")

    def envelope(self, payload: etree._Element) -> etree._Element:
        env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12})
        etree.SubElement(env, f"{{{SOAP12}}}Body").append(payload)
        return env

    def fault(self, fault: Fault, upgrade: bool = False) -> None:
        f = etree.Element(f"{{{SOAP12}}}Fault", nsmap={"soap": SOAP12})
        code = etree.SubElement(f, f"{{{SOAP12}}}Code")
        etree.SubElement(code, f"{{{SOAP12}}}Value").text = f"soap:{fault.code}"
        if fault.subcode is not None:
            prefix, ns, name = fault.subcode
            sub = etree.SubElement(code, f"{{{SOAP12}}}Subcode")
            etree.SubElement(sub, f"{{{SOAP12}}}Value", nsmap={prefix: ns}).text = f"{prefix}:{name}"
        text = etree.SubElement(etree.SubElement(f, f"{{{SOAP12}}}Reason"), f"{{{SOAP12}}}Text")
        text.set(XML_LANG, fault.lang)
        text.text = fault.reason
        if fault.error_code is not None:
            detail = etree.SubElement(f, f"{{{SOAP12}}}Detail")
            info = etree.SubElement(detail, q("DossierServiceFault"), nsmap={"ns2": TNS})
            leaf(info, "errorCode", fault.error_code)
            leaf(info, "message", fault.reason)
        env = self.envelope(f)
        if upgrade:
            header = etree.Element(f"{{{SOAP12}}}Header")
            supported = etree.SubElement(
                etree.SubElement(header, f"{{{SOAP12}}}Upgrade"), f"{{{SOAP12}}}SupportedEnvelope"
            )
            supported.set("qname", "soap:Envelope")
            env.insert(0, header)
        reason = fault.subcode[2] if fault.subcode else fault.code
        self.refuse(500, reason, lambda: self.send_soap(env, 500))

    def plain(self, status: int, text: str, reason: str, headers: dict[str, str] | None = None) -> None:
        body = text.encode("utf-8")
        self.refuse(status, reason, lambda: self.send_body(status, body, "text/html;charset=utf-8", headers))

    # --- routing ---------------------------------------------------------------------------------------------
    def vendor(self, method: str) -> None:
        if self.route != SERVICE_PATH:
            self.plain(404, "<html><body>No service was found.</body></html>", "not found")
        elif method == "GET" and set(self.query) == {"wsdl"} and self.param("wsdl") == "":
            address = f"http://{self.headers.get('Host') or '127.0.0.1'}{SERVICE_PATH}"
            self.send_body(200, WSDL.substitute(address=address).encode("utf-8"), "text/xml;charset=UTF-8")
        elif method != "POST":
            self.plain(
                405, "<html><body>HTTP 405 Method Not Allowed</body></html>", "method", {"Allow": "POST"}
            )
        else:
            try:
                self.soap()
            except Fault as fault:
                self.fault(fault)

    def soap(self) -> None:
        media, *params = [p.strip() for p in (self.headers.get("Content-Type") or "").split(";")]
        if media.lower() != "application/soap+xml":
            self.plain(
                415,
                f"Unsupported Media Type: '{media}', this SOAP 1.2 endpoint expects application/soap+xml",
                "content type",
            )
            return
        action = next((p.split("=", 1)[1].strip('"') for p in params if p.lower().startswith("action=")), "")
        try:
            root = etree.fromstring(self.raw_body, PARSER)
        except etree.XMLSyntaxError as exc:
            self.plain(400, f"Error reading XMLStreamReader: {exc}", "not xml")
            return
        if root.getroottree().docinfo.doctype:
            self.plain(
                400, "Error reading XMLStreamReader: Received event DTD, instead of START_ELEMENT", "dtd"
            )
            return
        if root.tag == f"{{{SOAP11}}}Envelope":
            self.fault(Fault("Invalid SOAP version.", lang="en", code="VersionMismatch"), upgrade=True)
            return
        body = root.find(f"{{{SOAP12}}}Body") if root.tag == f"{{{SOAP12}}}Envelope" else None
        payload = elements(body) if body is not None else []
        if len(payload) != 1:
            self.plain(400, "Error reading XMLStreamReader: not a SOAP 1.2 request", "not a soap request")
            return
        header = root.find(f"{{{SOAP12}}}Header")
        blocks = elements(header) if header is not None else []
        for block in blocks:
            name = etree.QName(block)
            if name.namespace != WSSE and block.get(f"{{{SOAP12}}}mustUnderstand") in ("true", "1"):
                raise Fault(f"MustUnderstand headers: [{{{name.namespace}}}{name.localname}] are not understood.",
                            lang="en", code="MustUnderstand")  # fmt: skip
        if action:
            raise Fault(f"The given SOAPAction {action} does not match an operation.", lang="en")
        name = etree.QName(payload[0])
        if name.text != q("getDossiers"):
            raise Fault(
                f"Unexpected wrapper element {name.text} found.   Expected {q('getDossiers')}.", lang="en"
            )
        self.authenticate(next((b for b in blocks if b.tag == f"{{{WSSE}}}Security"), None))
        self.get_dossiers(payload[0])

    # --- WS-Security -----------------------------------------------------------------------------------------
    def authenticate(self, security: etree._Element | None) -> None:
        if security is None:
            raise wsse_fault("InvalidSecurity", "Yêu cầu thiếu tiêu đề bảo mật WS-Security (wsse:Security).")
        now = datetime.now(HCM)
        stamp = security.find(f"{{{WSU}}}Timestamp")
        if stamp is not None:
            created, expires = self.stamp_time(stamp, "Created"), self.stamp_time(stamp, "Expires")
            if created is not None and created > now + FUTURE_SKEW:
                raise wsse_fault("InvalidSecurity", "Thời điểm tạo thông điệp (wsu:Created) nằm ở tương lai.")
            if expires is not None and expires <= now:
                raise wsse_fault(
                    "MessageExpired", "Thông điệp đã hết hạn (wsu:Timestamp/wsu:Expires đã qua)."
                )
        token = security.find(f"{{{WSSE}}}UsernameToken")
        if token is None:
            raise wsse_fault("InvalidSecurity", "Tiêu đề wsse:Security không có wsse:UsernameToken.")
        user, password = token.find(f"{{{WSSE}}}Username"), token.find(f"{{{WSSE}}}Password")
        if user is None or password is None:
            raise wsse_fault("InvalidSecurity", "wsse:UsernameToken phải có wsse:Username và wsse:Password.")
        wanted = PASSWORD_DIGEST if self.options.digest else PASSWORD_TEXT
        if password.get("Type", PASSWORD_TEXT) != wanted:
            kind = "PasswordDigest" if self.options.digest else "PasswordText"
            raise wsse_fault("UnsupportedSecurityToken", f"Hệ thống chỉ chấp nhận mật khẩu dạng {kind}.")
        created = self.stamp_time(token, "Created")
        if created is not None and created > now + FUTURE_SKEW:
            raise wsse_fault("InvalidSecurity", "Thời điểm tạo UsernameToken (wsu:Created) nằm ở tương lai.")
        if created is not None and created < now - CREATED_TTL:
            raise wsse_fault("MessageExpired", "UsernameToken đã hết hạn (wsu:Created cách đây quá 5 phút).")
        nonce = token.find(f"{{{WSSE}}}Nonce")
        if nonce is not None and nonce.text:
            with _lock:
                replayed = nonce.text in _nonces
                _nonces.add(nonce.text)
            if replayed:
                raise wsse_fault("InvalidSecurity", "Phát hiện yêu cầu phát lại: wsse:Nonce đã được sử dụng.")
        expected = PASSWORD
        if self.options.digest:  # WSS 1.0: Base64(SHA-1(nonce + created + password)), both sent beside it
            stamp = token.find(f"{{{WSU}}}Created")
            if nonce is None or not nonce.text or stamp is None or not stamp.text:
                raise wsse_fault("InvalidSecurity", "PasswordDigest cần wsse:Nonce và wsu:Created.")
            raw = base64.b64decode(nonce.text) + stamp.text.encode() + PASSWORD.encode()
            expected = base64.b64encode(hashlib.sha1(raw).digest()).decode()
        if (user.text or "").strip() != USER or (password.text or "") != expected:
            raise wsse_fault("FailedAuthentication", REFUSAL)

    @staticmethod
    def stamp_time(el: etree._Element, name: str) -> datetime | None:
        child = el.find(f"{{{WSU}}}{name}")
        if child is None:
            return None
        try:
            value, zoned = parse_datetime(child.text)
        except ValueError:
            zoned = False
        if not zoned:
            raise wsse_fault("InvalidSecurity", f"wsu:{name} phải là thời điểm xs:dateTime có múi giờ (UTC).")
        return value

    # --- the operation ---------------------------------------------------------------------------------------
    def get_dossiers(self, request: etree._Element) -> None:
        args = self.unmarshal(request, ("criteria", "offset", "limit"))
        criteria = (
            self.unmarshal(args["criteria"], ("modifiedFrom", "modifiedTo", "agencyCode"))
            if "criteria" in args
            else {}
        )
        for name, where in (
            ("criteria", args),
            ("offset", args),
            ("limit", args),
            ("modifiedFrom", criteria),
            ("modifiedTo", criteria),
        ):
            if name not in where:
                raise invalid_query(f"Thiếu tham số bắt buộc: {name}.")
        window = []
        for name in ("modifiedFrom", "modifiedTo"):
            try:
                value, zoned = parse_datetime(criteria[name].text)
            except ValueError:
                raise unmarshalling(f'Unparseable date: "{criteria[name].text}"') from None
            if not zoned:
                raise invalid_query(f"{name} phải có múi giờ, ví dụ 2025-01-01T00:00:00+07:00.")
            window.append(value)
        start, end = window
        offset, limit = self.integer(args["offset"]), self.integer(args["limit"])
        if end <= start:
            raise invalid_query("modifiedFrom phải trước modifiedTo.")
        if end - start > MAX_WINDOW:
            raise Fault(
                "Khoảng thời gian truy vấn vượt quá 90 ngày cho phép. Vui lòng chia nhỏ khoảng thời gian.",
                ("ns2", TNS, "QueryRangeExceeded"),
                error_code="QUERY_RANGE_EXCEEDED",
            )
        if offset < 0:
            raise invalid_query("offset phải lớn hơn hoặc bằng 0.")
        if not 1 <= limit <= MAX_LIMIT:
            raise invalid_query(f"limit phải từ 1 đến {MAX_LIMIT}.")
        agency = (criteria["agencyCode"].text or "").strip() if "agencyCode" in criteria else ""
        found = sorted(
            (
                item
                for item in self.truth
                if start <= updated(item) < end and (not agency or item["agency_code"] == agency)
            ),
            key=lambda item: (updated(item), int(item["source_record_id"])),
        )
        response = etree.Element(q("getDossiersResponse"), nsmap={"ns2": TNS})
        result = etree.SubElement(response, q("result"))
        leaf(result, "totalCount", len(found))
        leaf(result, "offset", offset)
        leaf(result, "limit", limit)
        for item in found[offset : offset + limit]:
            render(result, item)
        self.send_soap(self.envelope(response))

    @staticmethod
    def unmarshal(el: etree._Element, allowed: tuple[str, ...]) -> dict[str, etree._Element]:
        """JAXB's reading of a sequence: known, namespace-qualified elements, each once."""
        found: dict[str, etree._Element] = {}
        expected = ",".join(f"<{{{TNS}}}{n}>" for n in allowed)
        for child in elements(el):
            name = etree.QName(child)
            if name.namespace != TNS or name.localname not in allowed or name.localname in found:
                raise unmarshalling(
                    f'unexpected element (uri:"{name.namespace or ""}", local:"{name.localname}").'
                    f" Expected elements are {expected}"
                )
            found[name.localname] = child
        return found

    @staticmethod
    def integer(el: etree._Element) -> int:
        text = (el.text or "").strip()
        if not XSD_INT.match(text):
            raise unmarshalling(f'For input string: "{text}"')
        return int(text)


def options(parser: Any) -> None:
    parser.add_argument(
        "--digest", action="store_true", help="require PasswordDigest, as WSS4J's passwordType=PasswordDigest"
    )


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], options))
