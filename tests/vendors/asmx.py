"""The host the ASMX vendors run on: an ASP.NET ASMX web service on IIS with the Vietnamese .NET language pack.

What the host does before a vendor's [WebMethod] runs, and how it answers (each vendor's server.py states it in
its contract, and its test_contract.py checks it):
  GET  <service>?WSDL (any case)   the vendor's WSDL, its address the Host the request came to
  GET  <service> otherwise         "request format" error, HTTP 500, text (the help page is removed in web.config)
  <service>/<anything>             the HttpGet/HttpPost protocols are off: "request format" error, HTTP 500, text
  another path                     IIS's 404 page
  POST <service>                   the Content-Type picks the SOAP version (text/xml: 1.1, application/soap+xml:
                                   1.2); another media type is a "request format" error (HTTP 500, text). Then, as
                                   Faults (HTTP 500, soap:Client / soap:Sender unless said otherwise): XML that is
                                   not well-formed or carries a DTD, an envelope of the other SOAP version
                                   (soap:VersionMismatch), a Body without exactly one element, a SOAPAction (1.1)
                                   or action= (1.2) that is not the operation's, a body element that is not the
                                   operation's, a mustUnderstand header the service does not declare
                                   (soap:MustUnderstand). Every refusal is counted.
The test helpers at the end are the client side both vendors' contract tests share.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from string import Template
from types import EllipsisType
from typing import TYPE_CHECKING, ClassVar
from xml.sax.saxutils import escape

import requests
from lxml import etree

from tests.vendors.common import VendorHandler

if TYPE_CHECKING:
    from onestop.simulators.process import SimulatorProcess

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"
MEDIA = {SOAP11: "text/xml", SOAP12: "application/soap+xml"}
XML_INT = re.compile(r"^\s*[+-]?\d{1,10}\s*$")  # XmlConvert.ToInt32
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class ClientFault(Exception):
    """A SoapException the service answers as a Fault (HTTP 500): soap:Client unless said otherwise; `detail` is
    the XML the vendor's code puts in the Fault's detail, "" for the framework's (an empty detail)."""

    def __init__(
        self, message: str, code: str = "Client", reason: str | None = None, detail: str = ""
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.reason, self.detail = message, code, reason or code, detail


def unreadable(cause: str) -> ClientFault:
    """XmlSerializer could not read the request (ASMX's words, in the Vietnamese language pack)."""
    return ClientFault(
        f"Máy chủ không đọc được yêu cầu. ---> Có lỗi trong tài liệu XML. ---> {cause}", reason="read"
    )


def elements(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def members(el: etree._Element, namespace: str, names: tuple[str, ...]) -> dict[str, etree._Element]:
    """What XmlSerializer reads of an element: its children in the service's namespace with a member's name (the
    first of each); anything else (unqualified, unknown) it skips, so a member sent unqualified is missing."""
    found: dict[str, etree._Element] = {}
    for child in elements(el):
        name = etree.QName(child)
        if name.namespace == namespace and name.localname in names and name.localname not in found:
            found[name.localname] = child
    return found


def text(el: etree._Element | None) -> str | None:
    """A string member: null when absent or xsi:nil."""
    if el is None or el.get(f"{{{XSI}}}nil") in ("true", "1"):
        return None
    return el.text or ""


def integer(el: etree._Element | None) -> int:
    """An int member: 0 when absent (the default of int), XmlConvert.ToInt32 otherwise."""
    if el is None:
        return 0
    value = el.text or ""
    if not XML_INT.match(value):
        raise unreadable("Chuỗi nhập vào không đúng định dạng.")
    return int(value)


class AsmxService(VendorHandler):
    """One ASMX service with one [WebMethod]: a vendor sets the class attributes and implements `operate`."""

    SERVICE_PATH: ClassVar[str]  # the .asmx file's path
    WSDL: ClassVar[Template]  # $address: the service's URL
    TNS: ClassVar[str]  # the service's namespace
    OPERATION: ClassVar[str]  # the [WebMethod]'s name
    HEADERS: ClassVar[tuple[str, ...]] = ()  # the [SoapHeader]s the service declares (Clark names)
    EXTRA: ClassVar[dict[str, str]]  # the headers IIS and ASP.NET add to every answer
    sys_version = ""

    def operate(self, version: str, request: etree._Element, headers: list[etree._Element]) -> None:
        """The [WebMethod]: answer `request` (the Body's element, the operation's) with `result`, or raise a
        ClientFault; `headers` are the Header's elements."""
        raise NotImplementedError

    # --- answers ---------------------------------------------------------------------------------------------
    def send_soap(self, version: str, payload: str, status: int = 200) -> None:
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<soap:Envelope xmlns:soap="{version}" xmlns:xsi="{XSI}" xmlns:xsd="{XSD}">'
            f"<soap:Body>{payload}</soap:Body></soap:Envelope>"
        ).encode()
        self.send_body(status, body, f"{MEDIA[version]}; charset=utf-8", self.EXTRA)

    def result(self, version: str, content: str) -> None:
        """The operation's answer: `content` (XML, as the serializer writes the return value) in its Result."""
        operation = self.OPERATION
        self.send_soap(
            version,
            f'<{operation}Response xmlns="{self.TNS}"><{operation}Result>{content}</{operation}Result>'
            f"</{operation}Response>",
        )

    def fault(self, version: str, fault: ClientFault) -> None:
        message = escape(fault.message)
        if version == SOAP11:
            payload = (
                f"<soap:Fault><faultcode>soap:{fault.code}</faultcode><faultstring>{message}</faultstring>"
                + (f"<detail>{fault.detail}</detail>" if fault.detail else "<detail />")
                + "</soap:Fault>"
            )
        else:
            code = {"Client": "Sender", "Server": "Receiver"}.get(fault.code, fault.code)
            payload = (
                f"<soap:Fault><soap:Code><soap:Value>soap:{code}</soap:Value></soap:Code><soap:Reason>"
                f'<soap:Text xml:lang="vi">{message}</soap:Text></soap:Reason>'
                + (f"<soap:Detail>{fault.detail}</soap:Detail>" if fault.detail else "<soap:Detail />")
                + "</soap:Fault>"
            )
        self.refuse(500, fault.reason, lambda: self.send_soap(version, payload, 500))

    def plain(self, status: int, message: str, reason: str) -> None:
        body = message.encode("utf-8")
        self.refuse(
            status, reason, lambda: self.send_body(status, body, "text/plain; charset=utf-8", self.EXTRA)
        )

    def send_iis_404(self) -> None:
        body = b"<html><body><h2>404 - File or directory not found.</h2></body></html>"
        self.refuse(404, "not found", lambda: self.send_body(404, body, "text/html"))

    # --- routing ---------------------------------------------------------------------------------------------
    def vendor(self, method: str) -> None:
        path = self.SERVICE_PATH
        route = self.route.lower()
        if route.startswith(path.lower() + "/"):  # the HttpGet/HttpPost protocols: off
            ending = self.route[len(path) :]
            self.plain(500, f"Định dạng yêu cầu không được nhận dạng cho URL kết thúc bất thường bằng '{ending}'.",
                       "protocol")  # fmt: skip
        elif route != path.lower():
            self.send_iis_404()
        elif method == "GET" and {k.lower() for k in self.query} == {"wsdl"}:
            address = f"http://{self.headers.get('Host') or '127.0.0.1'}{path}"
            wsdl = self.WSDL.substitute(address=address).encode("utf-8")
            self.send_body(200, wsdl, "text/xml; charset=utf-8", self.EXTRA)
        elif method != "POST":  # GET without ?WSDL: the Documentation protocol is removed in web.config
            self.plain(500, "Định dạng yêu cầu không được nhận dạng.", "method")
        else:
            self.soap()

    def soap(self) -> None:
        media, *params = [p.strip() for p in (self.headers.get("Content-Type") or "").split(";")]
        version = next((v for v, m in MEDIA.items() if m == media.lower()), None)
        if version is None:
            self.plain(500, f"Định dạng yêu cầu không hợp lệ: {media}.", "content type")
            return
        try:
            root = etree.fromstring(self.raw_body, PARSER)
        except etree.XMLSyntaxError as exc:
            self.fault(version, unreadable(f"Dữ liệu ở cấp gốc không hợp lệ ({exc.msg})."))
            return
        if root.getroottree().docinfo.doctype:
            self.fault(version, unreadable("Tài liệu XML này không được phép chứa DTD."))
            return
        try:
            self.call(version, root, params)
        except ClientFault as fault:
            self.fault(version, fault)

    def call(self, version: str, root: etree._Element, params: list[str]) -> None:
        if (
            root.tag in (f"{{{SOAP11}}}Envelope", f"{{{SOAP12}}}Envelope")
            and root.tag != f"{{{version}}}Envelope"
        ):
            other = etree.QName(root).namespace
            raise ClientFault(
                f"Có thể phiên bản SOAP không khớp: không gian tên Envelope {other} không được mong đợi. "
                f"Cần {version}.",
                code="VersionMismatch",
            )
        body = root.find(f"{{{version}}}Body") if root.tag == f"{{{version}}}Envelope" else None
        payload = elements(body) if body is not None else []
        if len(payload) != 1:
            raise unreadable("Không tìm thấy phần tử Body của thông điệp SOAP.")
        if version == SOAP11:
            action = (self.headers.get("SOAPAction") or "").strip().strip('"')
        else:
            action = next(
                (p.split("=", 1)[1].strip('"') for p in params if p.lower().startswith("action=")), ""
            )
        if action != f"{self.TNS}{self.OPERATION}":
            raise ClientFault(
                f"Máy chủ không nhận ra giá trị của tiêu đề HTTP SOAPAction: {action}.", reason="action"
            )
        name = etree.QName(payload[0])
        if (name.namespace, name.localname) != (self.TNS, self.OPERATION):
            raise unreadable(f"<{name.localname} xmlns='{name.namespace or ''}'> không được mong đợi.")
        header = root.find(f"{{{version}}}Header")
        blocks = elements(header) if header is not None else []
        for block in blocks:
            if block.get(f"{{{version}}}mustUnderstand") in ("1", "true") and block.tag not in self.HEADERS:
                raise ClientFault(
                    f"Tiêu đề SOAP {etree.QName(block).localname} không được hiểu.", code="MustUnderstand"
                )
        self.operate(version, payload[0], blocks)


# --- the contract tests' client side ---------------------------------------------------------------------------
XML = "text/xml; charset=utf-8"
SOAP12_XML = "application/soap+xml; charset=utf-8"


def envelope(body: str, header: str = "", version: str = SOAP11) -> bytes:
    """A request envelope as a client writes one: a Header only when there is one."""
    head = f"<soap:Header>{header}</soap:Header>" if header else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{version}">{head}'
        f"<soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


class Client:
    """POSTs to one service: SOAP 1.1 with a SOAPAction header, SOAP 1.2 with action= in the Content-Type; the
    action is the operation's unless given (None: none sent)."""

    def __init__(self, path: str, action: str) -> None:
        self.path, self.action = path, action

    def post(
        self,
        server: SimulatorProcess,
        data: bytes,
        content_type: str = XML,
        action: str | EllipsisType | None = ...,
    ) -> requests.Response:
        action = self.action if action is ... else action
        headers = {"Content-Type": content_type}
        if action is not None:
            headers["SOAPAction"] = f'"{action}"'
        return requests.post(f"{server.url}{self.path}", data=data, headers=headers, timeout=10)

    def post12(
        self, server: SimulatorProcess, data: bytes, action: str | EllipsisType | None = ...
    ) -> requests.Response:
        action = self.action if action is ... else action
        media = SOAP12_XML + (f'; action="{action}"' if action is not None else "")
        return self.post(server, data, media, action=None)


Send = Callable[["SimulatorProcess"], requests.Response]
Refusal = tuple[Send, int, tuple[str, ...]]  # how to send it, the HTTP status, words the answer holds


def host_refusals(
    client: Client, operation: str, envelope: Callable[..., bytes], not_xml: bytes
) -> dict[str, Refusal]:
    """The requests the host refuses before the operation runs (`envelope(version=…)` a well-formed call)."""
    path = client.path
    return {
        "GET without ?WSDL": (
            lambda s: requests.get(f"{s.url}{path}", timeout=10),
            500,
            ("Định dạng yêu cầu không được nhận dạng.",),
        ),
        "the HttpGet protocol": (
            lambda s: requests.get(f"{s.url}{path}/{operation}?trang=1", timeout=10),
            500,
            (f"kết thúc bất thường bằng '/{operation}'",),
        ),
        "another path": (
            lambda s: requests.post(f"{s.url}{path.removesuffix('.asmx')}.svc", data=envelope(), timeout=10),
            404,
            ("404 - File or directory not found.",),
        ),
        "JSON": (
            lambda s: requests.post(f"{s.url}{path}", json={"trang": 1}, timeout=10),
            500,
            ("Định dạng yêu cầu không hợp lệ: application/json.",),
        ),
        "not XML": (
            lambda s: client.post(s, not_xml),
            500,
            ("soap:Client", "Máy chủ không đọc được yêu cầu. ---&gt; Có lỗi trong tài liệu XML."),
        ),
        "a DTD": (
            lambda s: client.post(s, b'<!DOCTYPE x [<!ENTITY e "x">]>' + envelope().split(b"?>", 1)[1]),
            500,
            ("soap:Client", "không được phép chứa DTD"),
        ),
        "SOAP 1.2 envelope as text/xml": (
            lambda s: client.post(s, envelope(version=SOAP12)),
            500,
            ("soap:VersionMismatch", f"không gian tên Envelope {SOAP12} không được mong đợi"),
        ),
        "no SOAPAction": (
            lambda s: client.post(s, envelope(), action=None),
            500,
            ("soap:Client", "không nhận ra giá trị của tiêu đề HTTP SOAPAction: ."),
        ),
        "SOAP 1.2 without action": (
            lambda s: client.post12(s, envelope(version=SOAP12), action=None),
            500,
            ("<soap:Value>soap:Sender</soap:Value>", "không nhận ra giá trị của tiêu đề HTTP SOAPAction"),
        ),
    }
