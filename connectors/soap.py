"""SOAP (document/literal) district systems: zeep writes each request from the served WSDL, we send it and
read the answer with lxml.

zeep never touches the network: the WSDL comes through our HttpClient (capped, retried, failures recorded)
and reaches zeep through a transport that serves that one document and refuses everything else. Requests
go out through the same HttpClient. Answers are read with connectors.safexml (no DTD, no entities, one
record element at a time), not with zeep's object layer, which is several times slower and builds the
whole page as objects.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import zeep
from lxml import etree
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from connectors.base import XML, RawRecord
from connectors.connection import Connection
from connectors.errors import AuthError, ConfigError, ConnectorError, ProtocolError, TransientError
from connectors.http import HttpClient
from connectors.safexml import first_text, iter_elements, parse_document, to_text
from connectors.spec.legacy import SoapSpec
from mappings.xmltree import element_to_dict

# The WS-Security fault codes (OASIS WSS 1.0 §12): a Fault naming one of them, as its faultcode (or a dotted
# refinement of it) or as a code in its detail, is an authentication failure.
AUTH_FAULT_CODES = frozenset(
    {
        "FailedAuthentication",
        "InvalidSecurity",
        "InvalidSecurityToken",
        "SecurityTokenUnavailable",
        "FailedCheck",
    }
)
_XML_MEDIA = ("text/xml", "application/soap+xml", "application/xml")


def zeep_settings() -> zeep.Settings:
    """For reading the WSDL: no DTD, no entities, no external documents, no huge trees (one per client:
    zeep's settings object is mutable)."""
    return zeep.Settings(
        strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )


class FetchedDocuments(Transport):
    """A zeep transport that serves documents we already fetched and refuses any other load or call."""

    def __init__(self, endpoint: str, documents: dict[str, bytes]) -> None:
        super().__init__()
        self.session.close()  # never used: nothing goes out through zeep
        self.endpoint, self.documents = endpoint, documents

    def load(self, url: str) -> bytes:
        try:
            return self.documents[url]
        except KeyError:
            raise ProtocolError(
                self.endpoint, f"wsdl: refers to {url}, which is not loaded (only the WSDL itself is)"
            ) from None

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise ProtocolError(self.endpoint, "zeep tried to send a request itself (only our client sends)")

    get = post = post_xml = _refuse


@dataclass(frozen=True)
class _Service:
    client: zeep.Client
    address: str  # where requests are POSTed (on the connection's host)
    soap_action: str


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


class SoapSource:
    """Reads one SOAP district system's records updated within a window, page by page."""

    def __init__(self, name: str, spec: SoapSpec, conn: Connection, client: HttpClient) -> None:
        self.name, self.spec, self.conn, self.client = name, spec, conn, client
        if spec.ws_security and not (conn.login and conn.password):
            raise ConfigError(
                f"source {name}: connection {conn.conn_id!r} needs a login and a password (WS-Security)"
            )
        self._service: _Service | None = None
        self._lock = threading.Lock()

    # --- the zeep client, built once from the served WSDL ----------------------------------------------------

    def service(self) -> _Service:
        with self._lock:
            if self._service is None:
                self._service = self._build()
            return self._service

    def _wsdl_url(self) -> str:
        wsdl = self.spec.wsdl
        return wsdl if wsdl.startswith(("http://", "https://")) else f"{self.client.base_url}{wsdl}"

    def _build(self) -> _Service:
        url = self._wsdl_url()
        body = self.client.request("GET", url, operation="wsdl")
        wsse = UsernameToken(self.conn.login, self.conn.password) if self.spec.ws_security else None
        try:
            client = zeep.Client(
                url, transport=FetchedDocuments(self.name, {url: body}), settings=zeep_settings(), wsse=wsse
            )
            port = next(p for s in client.wsdl.services.values() for p in s.ports.values())
            operation = port.binding.get(self.spec.operation)
        except ConnectorError as exc:
            raise self._failed("wsdl", exc) from exc
        except StopIteration:
            raise self._failed(
                "wsdl", ProtocolError(self.name, f"wsdl: {url} declares no service port")
            ) from None
        except Exception as exc:  # zeep's and lxml's own errors: an unusable WSDL, said plainly
            message = f"wsdl: cannot use {url}: {type(exc).__name__}: {exc}"
            raise self._failed("wsdl", ProtocolError(self.name, message)) from exc
        return _Service(
            client, self._post_address(port.binding_options["address"]), operation.soapaction or ""
        )

    def _post_address(self, address: str) -> str:
        """The WSDL's soap:address, kept on the connection's host: credentials go only where we were told.

        Systems behind a proxy often publish an internal host name; its path is taken relative to the
        connection's base URL, like the WSDL path itself.
        """
        base, where = urlsplit(self.client.base_url), urlsplit(address)
        if (where.scheme, where.netloc) == (base.scheme, base.netloc):
            return address
        return self.client.base_url + urlunsplit(("", "", where.path or "/", where.query, ""))

    # --- one call ------------------------------------------------------------------------------------------

    def _failed(self, operation: str, exc: ConnectorError) -> ConnectorError:
        """Report a failure found in an answer the HTTP client accepted (it reports its own), through the
        client's recorder so the attempts table sees Faults and refused answers like any failed call."""
        self.client._record(operation, exc)
        return exc

    def _call(self, operation: str, args: dict[str, Any]) -> tuple[list[RawRecord], int | None]:
        """POST one request; the page's records and the answer's total (None when it has none)."""
        svc = self.service()
        try:
            envelope = svc.client.create_message(svc.client.service, self.spec.operation, **args)
        except Exception as exc:  # zeep validates the arguments against the WSDL: the spec's names are wrong
            raise ConfigError(
                f"source {self.name}: {self.spec.operation} in the WSDL does not take {sorted(args)}: {exc}"
            ) from exc
        statuses: list[int] = []

        def let_faults_through(resp: requests.Response, *_: Any, **__: Any) -> requests.Response:
            # SOAP 1.1 sends a Fault with HTTP 500; our client would retry that as a server error and drop
            # the body. An XML answer is let through so the Fault's own words reach the administrator.
            statuses.append(resp.status_code)
            media = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if resp.status_code == 500 and media in _XML_MEDIA:
                resp.status_code = 200
            return resp

        body = self.client.request(
            "POST",
            svc.address,
            operation=operation,
            data=etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{svc.soap_action}"'},
            hooks={"response": let_faults_through},
        )
        try:
            return self._read(operation, body, http_status=statuses[-1] if statuses else None)
        except ConnectorError as exc:  # a Fault, a refused DTD, a malformed answer: into the attempts table
            raise self._failed(operation, exc) from exc

    def _read(
        self, operation: str, body: bytes, http_status: int | None
    ) -> tuple[list[RawRecord], int | None]:
        records = [
            RawRecord(element_to_dict(el), to_text(el), XML)
            for el in iter_elements(body, self.spec.record_element, self.name)
        ]
        if not records or http_status == 500:
            self._check_answer(operation, body, http_status)
        total = None
        if self.spec.total_element:
            text = first_text(body, self.spec.total_element, self.name)
            total = int(text) if text and text.strip().isdigit() else None
        return records, total

    def _check_answer(self, operation: str, body: bytes, http_status: int | None) -> None:
        """An answer without records: a Fault, something that is not this operation's answer, or empty."""
        root = parse_document(body, self.name)
        fault = root.find("{*}Body/{*}Fault")
        if fault is not None:
            raise self._fault_error(operation, fault, http_status)
        if http_status == 500:
            raise TransientError(self.name, f"{operation}: HTTP 500 without a SOAP Fault", http_status=500)
        body_el = root.find("{*}Body")
        answer = body_el[0] if body_el is not None and len(body_el) else root
        expected = f"{self.spec.operation}Response"
        if _local(answer.tag) != expected:
            raise ProtocolError(
                self.name, f"{operation}: expected a {expected} in a SOAP Body, found <{_local(answer.tag)}>"
            )

    def _fault_error(self, operation: str, fault: etree._Element, http_status: int | None) -> ConnectorError:
        # SOAP 1.1 (faultcode/faultstring) or 1.2 (Code/Value, Reason/Text).
        code = (fault.findtext("faultcode") or fault.findtext("{*}Code/{*}Value") or "?").strip()
        text = (fault.findtext("faultstring") or fault.findtext("{*}Reason/{*}Text") or "").strip()
        detail = fault.find("detail")
        if detail is None:
            detail = fault.find("{*}Detail")
        # Machine-readable codes in the detail are single tokens (MaLoi, errorCode, a WS-Security QName).
        detail_codes = [
            el.text.strip()
            for el in (detail.iter() if detail is not None else ())
            if isinstance(el.tag, str) and len(el) == 0 and el.text and len(el.text.split()) == 1
        ]
        named = set(code.rsplit(":", 1)[-1].split(".")) | {c.rsplit(":", 1)[-1] for c in detail_codes}
        message = f"{operation}: SOAP Fault {code}: {text or '(no faultstring)'}"
        if detail_codes:
            message += f" [{detail_codes[0]}]"
        kind = AuthError if named & AUTH_FAULT_CODES else ProtocolError
        return kind(self.name, message, http_status=http_status)

    # --- the Source protocol ----------------------------------------------------------------------------------

    def probe(self) -> str:
        """The WSDL and one authenticated page of one record: proves the URL, the credentials, the shape."""
        spec = self.spec
        records, total = self._call("probe", {spec.page_param: spec.base_page, spec.size_param: 1})
        svc = self.service()
        found = f"{total} record(s) in all" if total is not None else f"{len(records)} record(s) on page 1"
        return f"{self.name}: WSDL read, {spec.operation} at {svc.address} answered (authenticated): {found}"

    def pages(self, window_start: datetime | None, window_end: datetime | None) -> Iterator[list[RawRecord]]:
        spec = self.spec
        window: dict[str, Any] = {}
        if window_start is not None:
            window[spec.from_param] = window_start
        if window_end is not None:
            window[spec.to_param] = window_end
        page, seen = spec.base_page, 0
        while True:
            args = {**window, spec.page_param: page, spec.size_param: spec.page_size}
            records, total = self._call(f"page {page}", args)
            if records:
                yield records
            seen += len(records)
            if len(records) < spec.page_size or (total is not None and seen >= total):
                return
            page += 1
