"""SOAP district systems, declared in the registry (connectors.spec.soap): zeep writes each envelope from the
served WSDL, our HTTP client sends it, lxml reads the answer; paging, the window and error envelopes are those
of every paged system (connectors.paging).

zeep never touches the network: the WSDL and the schemas it imports come through our HttpClient (capped,
retried, failures recorded, DTDs refused) from the connection's host only, and requests go out through the
same client. Answers are read with connectors.safexml, not with zeep's object layer (several times slower, and
it builds the page as objects): the body, spooled by our client, is read whole in one streaming pass (a Fault
anywhere in it, or broken XML, fails the page before any record is handed over), then its records are read
again in chunks. zeep's own parser only ever reads the WSDL and its imports, after our parser has judged them
(DTD, entities, XInclude refused); its Settings forbid DTDs and entities as well.
"""

from __future__ import annotations

import base64
import email.policy
import io
import re
import threading
from dataclasses import dataclass
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import zeep
from lxml import etree
from zeep.transports import Transport
from zeep.wsdl.bindings.soap import Soap12Binding

from connectors.auth import Authenticator, host_authentication, require_credentials
from connectors.base import EXCERPT
from connectors.connection import Connection
from connectors.detail import DetailReader, Fetched
from connectors.embedded import Layered, innermost, value_at
from connectors.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    ProtocolError,
    RefusedAnswer,
    TransientError,
)
from connectors.http import Answer, HttpClient
from connectors.paging import ERRORS, Found, PagedSource, check_errors
from connectors.safexml import (
    Body,
    inline_references,
    read_document,
    refers_inside,
    refuse_dtd,
    scan_answer,
)
from connectors.spec.auth import AuthSpec
from connectors.spec.common import get_path
from connectors.spec.rest import ErrorRule
from connectors.spec.soap import SoapSpec
from connectors.templates import render
from connectors.wssecurity import SecurityHeader
from schemas.personal_data import quote_answer

# The WS-Security fault codes (OASIS WSS 1.0 §12): a Fault naming one of them means the credentials were refused.
WSS_FAULT_CODES = frozenset(
    {
        "FailedAuthentication",
        "InvalidSecurity",
        "InvalidSecurityToken",
        "SecurityTokenUnavailable",
        "FailedCheck",
    }
)
# SOAP's own "the server failed, not your message" codes (SOAP 1.1 §4.4.1, SOAP 1.2 §5.4.6): worth a retry.
SERVER_FAULT_CODES = frozenset({"Server", "Receiver"})
SOAP_ENCODING = "http://schemas.xmlsoap.org/soap/encoding/"  # rpc/encoded WSDLs import it (Axis 1, old .NET)
MAX_DOCUMENTS = 50  # a WSDL and what it imports; more is a loop or an attack
_XML_MEDIA = ("text/xml", "application/soap+xml", "application/xml")
_MTOM_MEDIA = "multipart/related"  # an MTOM/XOP package: the envelope is its root part


def zeep_settings() -> zeep.Settings:
    """For reading the WSDL: no DTD, no entities, no huge trees (one per client: zeep's settings object is
    mutable). Imports are allowed because our transport is the gate: same host, through our client."""
    return zeep.Settings(strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True)


class FetchedDocuments(Transport):
    """A zeep transport that loads the WSDL and its imports through our client, from one host only, and refuses
    to send anything (only our client sends)."""

    def __init__(self, endpoint: str, client: HttpClient, origin: tuple[str, str]) -> None:
        super().__init__()
        self.session.close()  # never used: nothing goes out through zeep
        self.endpoint, self.client, self.origin = endpoint, client, origin
        self.loaded: dict[str, bytes] = {}

    def load(self, url: str) -> bytes:
        if url in self.loaded:
            return self.loaded[url]
        if url.rstrip("/") == SOAP_ENCODING.rstrip("/"):  # imported by namespace alone: ours, never fetched
            return (Path(__file__).parent / "soap-encoding.xsd").read_bytes()
        where = urlsplit(url)
        fetched = url
        if (where.scheme, where.netloc) != self.origin:
            # A service behind a proxy names its application server's host in what it publishes (Metro's
            # schemaLocation="http://app01:8080/…?xsd=1", as in its soap:address): that path is read from the
            # system's own host, never from the host it names.
            fetched = urlunsplit((*self.origin, where.path or "/", where.query, ""))
        if len(self.loaded) >= MAX_DOCUMENTS:
            raise ProtocolError(self.endpoint, f"wsdl: imports more than {MAX_DOCUMENTS} documents: refused")
        try:
            body = self.client.request("GET", fetched, operation="wsdl")
        except ProtocolError as exc:
            if fetched == url:
                raise
            said = str(exc).removeprefix(f"{exc.endpoint}: ").removeprefix("wsdl: ")
            raise ProtocolError(
                self.endpoint,
                f"wsdl: refers to {url}, which is not on the system's host; read at {fetched} instead: {said}",
                http_status=exc.http_status,
            ) from exc
        refuse_dtd(body, self.endpoint)  # as the parser reports it: a DTD, XInclude, a PI naming a resource
        self.loaded[url] = body
        return body

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise ProtocolError(self.endpoint, "zeep tried to send a request itself (only our client sends)")

    get = post = post_xml = _refuse


@dataclass(frozen=True)
class _Service:
    client: zeep.Client
    proxy: Any  # zeep's service proxy of the chosen port
    address: str  # where requests are POSTed (on the connection's host)
    soap12: bool
    actions: dict[str, str]  # operation -> SOAPAction


def _local(code: str) -> str:
    return code.strip().rsplit(":", 1)[-1]


def _texts(value: Any) -> list[str]:
    """Every text inside a value of element_to_dict (a leaf's text, a `#text`), in document order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def fault_codes(fault: dict[str, Any]) -> tuple[str, list[str], str]:
    """A Fault (as a dict) read as SOAP 1.1 or 1.2: (its codes as shown, every code it names by local name,
    its text)."""
    codes = [get_path(fault, "faultcode") or get_path(fault, "Code.Value") or "?"]
    sub = get_path(fault, "Code.Subcode")
    while isinstance(sub, dict):  # SOAP 1.2 nests Subcodes
        if isinstance(sub.get("Value"), str):
            codes.append(sub["Value"])
        sub = sub.get("Subcode")
    text = get_path(fault, "faultstring") or get_path(fault, "Reason.Text")
    if isinstance(text, list):  # one Text per language: the first (a Vietnamese system writes Vietnamese)
        text = text[0]
    if isinstance(text, dict):
        text = text.get("#text")
    detail = fault.get("detail", fault.get("Detail"))
    if isinstance(detail, dict):  # Apache Axis 1 names its server in the detail: a host, not a code
        detail = {k: v for k, v in detail.items() if k != "hostname"}
    # Machine-readable codes in the detail are single tokens (MaLoi, errorCode, a WS-Security QName), and the
    # name of the fault element the WSDL declares (JAX-WS writes a @WebFault exception as <ns2:AuthException>).
    tokens = [t.strip() for t in _texts(detail) if len(t.split()) == 1]
    elements = [k for k in detail if k[:1] not in ("@", "#")] if isinstance(detail, dict) else []
    named = [_local(str(c)) for c in (*codes, *tokens)] + elements
    named += (
        str(codes[0]).rsplit(":", 1)[-1].split(".")
    )  # SOAP 1.1's dotted refinements: Client.Authentication
    shown = " ".join(map(str, codes))
    said = (str(text).strip() if text else "") + (f" [{tokens[0]}]" if tokens else "")
    return shown, named, said.strip()


class SoapSource(PagedSource):
    """Reads one SOAP district system's records updated within a window, page by page."""

    spec: SoapSpec

    def __init__(self, name: str, spec: SoapSpec, conn: Connection, client: HttpClient, tz: ZoneInfo) -> None:
        self.name, self.spec, self.conn, self.client, self.tz = name, spec, conn, client, tz
        if spec.ws_security or spec.login or spec.http_auth != "none":
            what = (
                "WS-Security"
                if spec.ws_security
                else f"the {spec.login.operation} login"  # type: ignore[union-attr]
                if spec.login
                else f"HTTP {spec.http_auth} authentication"
            )
            needed = {"login", "password"}
        else:  # only what the request or its headers send: an API key alone is a password without a login
            what, needed = "sent with every call", set(spec.credentials)
        require_credentials(conn, what, needed, source=name)
        self.authenticator = Authenticator(
            AuthSpec(), conn, client, login=self._login if spec.login else None
        )
        if spec.http_auth != "none":
            host_authentication(client, conn, spec.http_auth)
        self._service: _Service | None = None
        self._lock = threading.Lock()
        if spec.detail is not None:
            self.details = DetailReader(name, spec.detail, self._detail)

    # --- the zeep client, built once from the served WSDL ----------------------------------------------------

    def service(self) -> _Service:
        with self._lock:
            if self._service is None:
                self._service = self._build()
            return self._service

    def _build(self) -> _Service:
        wsdl = self.spec.wsdl
        url = wsdl if wsdl.startswith(("http://", "https://")) else f"{self.client.base_url}{wsdl}"
        where = urlsplit(url)
        spec = self.spec
        wsse = (
            SecurityHeader(
                self.conn.login,
                self.conn.password,
                token=spec.ws_security,
                timestamp=spec.ws_timestamp,
                digest=spec.ws_password == "digest",
            )
            if spec.ws_security or spec.ws_timestamp
            else None
        )
        transport = FetchedDocuments(self.name, self.client, (where.scheme, where.netloc))
        try:
            # The client is made for the chosen port: zeep writes WS-Addressing's To from its default service's
            # binding, which would otherwise be the WSDL's first port, whatever port the calls go through.
            settings = zeep_settings()
            document = zeep.wsdl.Document(url, transport, settings=settings)
            service, port = self._port(document)
            client = zeep.Client(
                document,
                transport=transport,
                settings=settings,
                wsse=wsse,
                service_name=service.name,
                port_name=port.name,
            )
        except (ConnectorError, ConfigError):
            raise
        except Exception as exc:  # zeep's and lxml's own errors: an unusable WSDL, said plainly
            raise ProtocolError(self.name, f"wsdl: cannot use {url}: {type(exc).__name__}: {exc}") from exc
        operations = [self.spec.operation] + ([self.spec.login.operation] if self.spec.login else [])
        actions = {op: port.binding.get(op).soapaction or "" for op in operations}
        return _Service(
            client,
            client.service,
            self.client.on_own_host(port.binding_options["address"]),  # the WSDL's soap:address
            isinstance(port.binding, Soap12Binding),
            actions,
        )

    def _port(self, document: zeep.wsdl.Document) -> tuple[Any, Any]:
        """The port named in the spec, else the first whose binding has the operation(s)."""
        wanted = [self.spec.operation] + ([self.spec.login.operation] if self.spec.login else [])
        seen = []
        for service in document.services.values():
            for port in service.ports.values():
                names = set(port.binding.all())
                seen.append(f"{port.name}: {sorted(names)}")
                if (self.spec.port in (None, port.name)) and all(op in names for op in wanted):
                    return service, port
        raise ConfigError(
            f"source {self.name}: no port of the WSDL has {wanted}"
            + (f" (port {self.spec.port!r})" if self.spec.port else "")
            + f"; it has {'; '.join(seen) or 'no ports'}"
        )

    def _headers(self, svc: _Service, values: dict[str, Any]) -> list[Any]:
        """The SOAP header elements, built from the WSDL's schemas (so zeep writes them qualified, in order)."""
        if not self.spec.headers:
            return []
        known = {el.qname.localname: el for el in svc.client.wsdl.types.elements}
        out = []
        for name, template in self.spec.headers.items():
            element = known.get(name)
            if element is None:
                raise ConfigError(
                    f"source {self.name}: header element {name!r} is not declared in the WSDL's schemas "
                    f"(its elements: {sorted(known)[:30]})"
                )
            value = render(template, values)
            if value is None:  # its placeholder has no value yet (a continuation token before the first page)
                continue
            if isinstance(value, dict):
                out.append(element(**value))
            else:  # a simple-typed header (an API key, a session id): zeep makes no element of it, so it writes one
                holder = etree.Element("headers")
                element.render(holder, value)
                out.append(holder[0])
        return out

    # --- one call ------------------------------------------------------------------------------------------

    def call(
        self,
        operation: str,
        request: dict[str, Any],
        values: dict[str, Any],
        what: str,
        records: str = "",
        errors: list[ErrorRule] | None = None,
    ) -> tuple[Any, Answer, Found]:
        """POST `operation` with the templates rendered from `values`: (its answer element as a dict without the
        records, the HTTP answer, the records at `records`, to be read in chunks). A page's answer that writes
        its data as text (`embedded`) is read whole and that document read in turn (PagedSource.unwrap)."""
        svc = self.service()
        arguments = render(request, values) or {}
        try:
            envelope = svc.client.create_message(
                svc.proxy, operation, **arguments, _soapheaders=self._headers(svc, values) or None
            )
        except ConfigError:
            raise
        except Exception as exc:  # zeep validates the arguments against the WSDL: the spec's names are wrong
            raise ConfigError(  # the names only: a login's values are credentials
                f"source {self.name}: {operation} in the WSDL does not take {_names(arguments)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        action = svc.actions.get(operation, "")
        if svc.soap12:
            media = "application/soap+xml; charset=utf-8" + (f'; action="{action}"' if action else "")
            headers = {"Content-Type": media}
        else:
            headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}
        document, answer, found = self.client.call(
            "POST",
            svc.address,
            operation=what,
            read=lambda a: self._read(
                what, a, records, unwrap=bool(records) and self.spec.embedded is not None, errors=errors
            ),
            accept=_fault_status,
            data=etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
            headers=headers,
        )
        return document, answer, found

    def _read(
        self,
        what: str,
        answer: Answer,
        records: str,
        unwrap: bool = False,
        errors: list[ErrorRule] | None = None,
    ) -> tuple[Any, Answer, Found]:
        """The answer element, read whole in one streaming pass (its records dropped as they are parsed, to be
        read again in chunks); a Fault wherever it stands, or something that is not an answer, raised as what
        it means before any record is handed over."""
        found: Found = None
        body_read: Body = answer.stream()
        encoding, head = self.spec.charset, answer.head(1 << 16)
        if _MTOM_MEDIA in (answer.headers.get("Content-Type") or "").lower():  # MTOM (WCF, CXF)
            envelope_part = _mtom_envelope(self.name, answer)
            body_read, head = io.BytesIO(envelope_part), envelope_part[: 1 << 16]
        # rpc/encoded (Apache Axis 1): values written beside the answer element, referenced from it
        if refers_inside(head):
            body_read, encoding = io.BytesIO(inline_references(body_read, self.name, encoding)), None
        if records and not unwrap:
            envelope, found = scan_answer(body_read, f"Body.*.{records}", self.name, encoding)
            found.base = ("Body", "*")  # the registry's paths (records.nest) are below the answer element
        else:  # a login's answer (small), or one whose data is written inside it as text: read whole
            envelope = read_document(body_read, self.name, encoding)
        body = envelope.get("Body")
        charset = self.spec.charset or answer.charset
        if not isinstance(body, dict) or not body:
            raise RefusedAnswer(
                self.name,
                f"{what}: not a SOAP answer (no Body): {quote_answer(answer.head(4096), 512, charset)}",
                excerpt=answer.head(EXCERPT),
                http_status=answer.status,
                charset=charset,
            )
        fault = _fault_in(body)
        if fault is not None:  # even beside records, even deep inside them, even in HTTP 200: a Fault it is
            raise self._fault(what, fault, answer)
        if answer.status >= 400:
            kind = TransientError if answer.status >= 500 else ProtocolError
            raise kind(
                self.name, f"{what}: HTTP {answer.status} without a SOAP Fault", http_status=answer.status
            )
        document = next(iter(body.values()))
        if errors is None:
            self.check(what, document)
        else:  # another operation's own error envelopes (a detail's)
            check_errors(self.name, errors, what, document)
        if unwrap:
            document, found = self.unwrap(what, document)
        if isinstance(header := envelope.get("Header"), dict) and header:  # paths it alone holds: a WCF token
            document = Layered(header, document)
        return document, answer, found

    def _fault(self, what: str, fault: Any, answer: Answer) -> ConnectorError:
        code, named, text = fault_codes(fault if isinstance(fault, dict) else {})
        message = f"{what}: SOAP Fault {code}: {quote_answer(text) if text else '(no text)'}"
        means = next(
            (
                rule.means
                for rule in self.spec.faults
                if set(rule.code) & set(named) and (rule.contains is None or rule.contains in (text or ""))
            ),
            None,
        )
        if means is None:
            means = (
                "auth"
                if WSS_FAULT_CODES & set(named)
                else "transient"
                if SERVER_FAULT_CODES & set(named)
                else "error"
            )
        if means == "error":  # the page is refused: its beginning is kept for the administrator
            charset = self.spec.charset or answer.charset
            return RefusedAnswer(
                self.name, message, excerpt=answer.head(EXCERPT), http_status=answer.status, charset=charset
            )
        return ERRORS[means](self.name, message, http_status=answer.status)

    # --- paging and the session --------------------------------------------------------------------------------

    def _login(self) -> tuple[str, float | None]:
        login = self.spec.login
        assert login is not None
        values = {"login": self.conn.login or "", "password": self.conn.password or ""}
        document, answer, _ = self.call(login.operation, login.request, values, "login")
        token = value_at(document, login.token_path)  # the answer element's, else its SOAP Header's
        if not isinstance(token, str | int) or not str(token).strip():
            raise AuthError(
                self.name,
                f"login: no session token at {login.token_path!r} in the answer: {quote_answer(answer.head(8192), 1024)}",
            )
        return str(token).strip(), login.ttl.total_seconds() if login.ttl else None

    def _detail(self, values: dict[str, Any]) -> Fetched:
        """One listed record's detail operation (`detail`), with the session, credentials and headers a page's
        call carries; its own error envelopes, not the page's."""
        detail = self.spec.detail
        assert detail is not None

        def once() -> Fetched:
            sent = {**values, "login": self.conn.login, "password": self.conn.password}
            if self.spec.login is not None:
                sent["token"] = self.authenticator.token()
            document, _answer, _ = self.call(
                detail.operation, detail.request, sent, "detail", errors=detail.errors
            )
            return Fetched(innermost(document), [])

        return self.authenticator.renewing(once)

    def _fetch(self, values: dict[str, Any], next_url: str | None) -> tuple[str, str, Any, Answer, Found]:
        """One page; a session the system ends mid-sync (a fault meaning auth) is renewed once."""

        def once() -> tuple[str, str, Any, Answer, Found]:
            if self.spec.login is not None:
                values["token"] = self.authenticator.token()
            if self.spec.credentials:
                values.update(login=self.conn.login, password=self.conn.password)
            document, answer, raw = self.call(
                self.spec.operation, self.spec.request, values, "page", self.spec.records.path
            )
            return "POST", answer.url, document, answer, raw

        return self.authenticator.renewing(once)


def _mtom_envelope(endpoint: str, answer: Answer) -> bytes:
    """The SOAP envelope of an MTOM answer (multipart/related, XOP): its root part, with every attachment an
    element points at (`<xop:Include href="cid:…"/>`) written back in place as base64, as the service would
    have sent it without MTOM (the XOP infoset, W3C XOP §3.2)."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + answer.headers["Content-Type"].encode("latin-1") + b"\r\n\r\n" + answer.body
    )
    parts = list(message.iter_parts()) if message.is_multipart() else []
    start = (message.get_param("start") or "").strip("<>")
    root = next((p for p in parts if _content_id(p) == start), None)
    root = root or (parts[0] if parts else None)
    envelope = root.get_payload(decode=True) if root is not None else None
    if not isinstance(envelope, bytes) or not envelope.strip():
        raise RefusedAnswer(endpoint, "an MTOM answer (multipart/related) without its SOAP envelope part")
    if _XOP_NAMESPACE not in envelope:
        return envelope
    attachments = {_content_id(p): p for p in parts if p is not root}

    def inline(found: re.Match[bytes]) -> bytes:
        cid = unquote(found[1].decode("ascii", "replace"))
        part = attachments.get(cid)
        data = part.get_payload(decode=True) if part is not None else None
        if not isinstance(data, bytes):
            raise RefusedAnswer(
                endpoint, f"an MTOM answer refers to attachment cid:{cid}, which it does not hold"
            )
        return base64.b64encode(data)

    inlined = _XOP_INCLUDE.sub(inline, envelope)
    if _ANY_INCLUDE.search(inlined) is not None:
        raise RefusedAnswer(endpoint, "an MTOM answer has an xop:Include without a cid: reference")
    return inlined


_XOP_NAMESPACE = b"http://www.w3.org/2004/08/xop/include"
_XOP_INCLUDE = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?Include\b[^>]*?\bhref\s*=\s*[\"']cid:([^\"']+)[\"'][^>]*?"
    rb"(?:/>|>\s*</(?:[A-Za-z_][\w.-]*:)?Include\s*>)"
)
_ANY_INCLUDE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?Include\b")


def _content_id(part: Any) -> str:
    return unquote((part.get("Content-ID") or "").strip().strip("<>"))


def _names(value: Any) -> Any:
    """A request's element names, nested, without their values."""
    if isinstance(value, dict):
        return {k: _names(v) for k, v in value.items()}
    return "…"


def _fault_in(value: Any, depth: int = 0) -> Any:
    """The first Fault element anywhere in an answer's Body (as a dict; the records are not in it), or None."""
    if isinstance(value, dict):
        if "Fault" in value:
            return value["Fault"]
        items = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return None
    if depth > 64:
        return None
    return next((f for f in (_fault_in(v, depth + 1) for v in items) if f is not None), None)


def _fault_status(answer: Answer) -> bool:
    """SOAP sends Faults with HTTP 500 (1.1) or 400/500 (1.2): an XML answer, or an MTOM package holding one
    (CXF and WCF with MTOM on package their Faults as every answer), is let through so that the Fault's own words
    reach the administrator."""
    media = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return answer.status in (400, 500) and media in (*_XML_MEDIA, _MTOM_MEDIA)
