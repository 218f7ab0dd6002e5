"""A .NET WCF service on wsHttpBinding with TransportWithMessageCredential: HTTPS, SOAP 1.2, WS-Addressing 1.0 and
WS-Security in every message (a wsu:Timestamp first, as the Strict layout wants, then a UsernameToken), data
contracts serialized by DataContractSerializer.

Contract (what the service's WSDL and policy say, and what this server enforces):
  GET  /DossierService.svc?wsdl    the WSDL (policy: TransportBinding with IncludeTimestamp and a Strict layout, a
                                   UsernameToken, UsingAddressing); its schemas imported from ?xsd=xsd0 and ?xsd=xsd1.
                                   Its service has two endpoints, as a WCF service configured with two has: first
                                   BasicHttpBinding_IDossierService at …/basic (SOAP 1.1, the agency's intranet only:
                                   404 "Endpoint not found." here), then WSHttpBinding_IDossierService
  POST /DossierService.svc         application/soap+xml; charset=utf-8; action="…/IDossierService/GetDossiers"
    Header: wsa:Action (the operation's), wsa:MessageID, wsa:To (the address in the WSDL), wsa:ReplyTo if any
            anonymous; o:Security with u:Timestamp FIRST (Created not in the future, Expires not passed, 5 minutes
            of clock skew) and o:UsernameToken (Username, Password as PasswordText)
    Body:   GetDossiers/query {FromDate, PageIndex (from 1), PageSize (1..100), ToDate}, in the data contract's
            namespace, members in alphabetical order as DataContractSerializer writes them
    -> GetDossiersResponse/GetDossiersResult {Items/DossierDto…, TotalCount}; the answer carries its own
       wsa:Action, wsa:RelatesTo and a Security header with a Timestamp (mustUnderstand="1", for the client to
       ignore as a reader of data). Times are DateTime of Kind Local: "+07:00"; a null member is i:nil="true";
       enums are member names; Amount is a decimal with SQL Server money's four places.
  Faults are WCF's, in English, SOAP 1.2 with HTTP 500: any security failure (a wrong password too) is
  s:Sender/a:InvalidSecurity "An error occurred when verifying security for the message." (WCF says no more);
  a missing or other Action a:ActionNotSupported (ContractFilter mismatch); another To a:DestinationUnreachable
  (AddressFilter mismatch); no MessageID a:MessageAddressingHeaderRequired. Served over HTTPS only (certs.py).
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any

from lxml import etree

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "wcf_wshttp"
SERVICE_PATH = "/DossierService.svc"
TNS = "http://tempuri.org/"
DC = "http://schemas.datacontract.org/2004/07/KimThanh.MotCua.Contracts"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ACTION = f"{TNS}IDossierService/GetDossiers"
ANONYMOUS = f"{WSA}/anonymous"

USER, PASSWORD = "kimthanh\\esb.lienthong", "Wcf#WsHttp-2025"
REFUSAL = "An error occurred when verifying security for the message."
SKEW = timedelta(minutes=5)  # WCF's MaxClockSkew
MAX_PAGE_SIZE = 100

STATUS = {1: "MoiTiepNhan", 2: "DangXuLy", 4: "ChoBoSung", 5: "DaCoKetQua", 6: "DaTraKetQua", 9: "TuChoi",
          10: "DaHuy"}  # fmt: skip
CHANNEL = {1: "TrucTiep", 2: "TrucTuyen", 3: "BuuChinh"}
KIND = {1: "CongDan", 2: "ToChuc"}

HERE = Path(__file__).resolve().parent
DOCUMENTS = {name: Template((HERE / file).read_text(encoding="utf-8"))
             for name, file in (("wsdl", "DossierService.wsdl"), ("xsd=xsd0", "xsd0.xsd"), ("xsd=xsd1", "xsd1.xsd"))}  # fmt: skip
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def local(iso: str | None) -> str | None:
    """DateTimeKind.Local as DataContractSerializer writes it: the offset, no fraction for whole seconds."""
    return None if iso is None else datetime.fromisoformat(iso).astimezone(HCM).isoformat()


def dc(name: str) -> str:
    return f"{{{DC}}}{name}"


def members(parent: etree._Element, values: dict[str, Any]) -> None:
    """Data members in alphabetical order; a null one written i:nil="true" (DataContractSerializer does)."""
    for name in sorted(values):
        value = values[name]
        el = etree.SubElement(parent, dc(name))
        if value is None:
            el.set(f"{{{XSI}}}nil", "true")
        elif isinstance(value, list):
            for item_name, item in value:
                members(etree.SubElement(el, dc(item_name)), item)
        elif isinstance(value, dict):
            members(el, value)
        else:
            el.text = str(value)


def dossier(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    return {
        "AgencyCode": item["agency_code"], "AgencyName": item["agency_name"],
        "Applicant": {"Address": a["address"], "BirthDate": f"{a['birth_date']}T00:00:00" if a.get("birth_date") else None,
                      "Email": a.get("email"), "FullName": a["name"], "IdNumber": a["id_number"],
                      "IdType": "CCCD" if a.get("id_type") == 1 else None, "Kind": KIND[a["type"]], "Phone": a["phone"]},
        "Channel": CHANNEL[item["channel"]], "CompletedAt": local(item.get("finished_at")),
        "Documents": [("DocumentDto", {"Name": d["name"], "TemplateCode": d["form_code"]}) for d in item["documents"]],
        "DossierCode": item["ma_ho_so"], "DueAt": local(item["due_at"]),
        "Fees": [("FeeDto", {"Amount": f"{f['amount_vnd']}.0000", "Code": f["code"], "Name": f["name"]}) for f in item["fees"]],
        "FieldCode": item["field_code"], "FieldName": item["field_name"], "Id": item["source_record_id"],
        "LastModified": local(item["source_updated_at"]), "ProcedureCode": item["procedure_code"],
        "ProcedureName": item["procedure_name"], "ReceivedAt": local(item["received_at"]),
        "ReturnedAt": local(item.get("returned_at")), "Status": STATUS[item["status"]],
        "Steps": [("StepDto", {"At": local(h["at"]), "Note": h["content"], "Officer": h["actor"],
                               "Status": STATUS[h["status"]]}) for h in item["history"]],
        "SubmittedAt": local(item.get("submitted_at")), "Summary": item["summary"],
    }  # fmt: skip


class Fault(Exception):
    def __init__(self, subcode: tuple[str, str], reason: str) -> None:
        super().__init__(reason)
        self.subcode, self.reason = subcode, reason


def security_failure() -> Fault:
    return Fault((WSSE, "InvalidSecurity"), REFUSAL)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def instant(text: str | None) -> datetime:
    value = datetime.fromisoformat((text or "").strip())
    if value.tzinfo is None:
        raise ValueError(text)
    return value


def child(parent: etree._Element | None, ns: str, name: str) -> etree._Element | None:
    return None if parent is None else parent.find(f"{{{ns}}}{name}")


class Handler(VendorHandler):
    def base(self) -> str:
        return f"https://{self.headers.get('Host')}{SERVICE_PATH}"

    def vendor(self, method: str) -> None:
        if self.route != SERVICE_PATH:
            self.send_body(404, b"<html><body>Endpoint not found.</body></html>", "text/html")
        elif method == "GET":
            query = self.path.partition("?")[2]
            document = DOCUMENTS.get(query)
            if document is None:
                self.send_body(400, b"<html><body>Metadata publishing: wsdl, xsd=xsd0 or xsd=xsd1</body></html>",
                               "text/html")  # fmt: skip
            else:
                self.send_body(200, document.substitute(base=self.base()).encode(), "text/xml; charset=UTF-8")
        elif method != "POST":
            self.send_body(405, b"Method not allowed.", "text/plain")
        elif not (self.headers.get("Content-Type") or "").startswith("application/soap+xml"):
            self.refuse(415, "media", lambda: self.send_body(415, b"Cannot process the message because the "
                        b"content type was not the expected type 'application/soap+xml; charset=utf-8'.", "text/plain"))  # fmt: skip
        else:
            message_id = None
            try:
                envelope = etree.fromstring(self.raw_body, PARSER)
                header = child(envelope, SOAP12, "Header")
                message_id = self.addressing(header)
                self.security(header)
                body = self.search(
                    child(child(child(envelope, SOAP12, "Body"), TNS, "GetDossiers"), TNS, "query")
                )
            except Fault as fault:
                self.fault(fault, message_id)
                return
            except (etree.XMLSyntaxError, ValueError, TypeError, AttributeError) as exc:
                self.fault(Fault((f"{TNS}", "DeserializationFailed"), f"The formatter threw an exception while "
                                 f"trying to deserialize the message: {exc}"), message_id)  # fmt: skip
                return
            self.answer(body, message_id)

    def addressing(self, header: etree._Element | None) -> str:
        action = child(header, WSA, "Action")
        if action is None or (action.text or "").strip() != ACTION:
            said = "" if action is None else (action.text or "").strip()
            raise Fault((WSA, "ActionNotSupported"), f"The message with Action '{said}' cannot be processed at "
                        "the receiver, due to a ContractFilter mismatch at the EndpointDispatcher.")  # fmt: skip
        to = child(header, WSA, "To")
        if to is None or (to.text or "").strip() != self.base():
            said = "" if to is None else (to.text or "").strip()
            raise Fault((WSA, "DestinationUnreachable"), f"The message with To '{said}' cannot be processed at "
                        "the receiver, due to an AddressFilter mismatch at the EndpointDispatcher.")  # fmt: skip
        reply_to = child(child(header, WSA, "ReplyTo"), WSA, "Address")
        if reply_to is not None and (reply_to.text or "").strip() != ANONYMOUS:
            raise Fault(
                (WSA, "InvalidAddressingHeader"), "A reply endpoint other than anonymous is not supported."
            )
        message_id = child(header, WSA, "MessageID")
        if message_id is None or not (message_id.text or "").strip():
            raise Fault((WSA, "MessageAddressingHeaderRequired"),
                        "A required header representing a Message Addressing Property is not present: MessageID")  # fmt: skip
        return (message_id.text or "").strip()

    def security(self, header: etree._Element | None) -> None:
        security = child(header, WSSE, "Security")
        parts = [] if security is None else [c for c in security if isinstance(c.tag, str)]
        if not parts or parts[0].tag != f"{{{WSU}}}Timestamp":  # the Strict layout: the Timestamp comes first
            raise security_failure()
        try:
            created = instant(child(parts[0], WSU, "Created").text)  # type: ignore[union-attr]
            expires = instant(child(parts[0], WSU, "Expires").text)  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            raise security_failure() from None
        now = datetime.now(UTC)
        if created > now + SKEW or expires < now - SKEW or expires <= created:
            raise security_failure()
        token = child(security, WSSE, "UsernameToken")
        name, password = child(token, WSSE, "Username"), child(token, WSSE, "Password")
        kind = "" if password is None else password.get("Type", "#PasswordText")
        if name is None or password is None or not kind.endswith("#PasswordText"):
            raise security_failure()
        if ((name.text or "").strip(), password.text or "") != (USER, PASSWORD):
            raise security_failure()

    def search(self, query: etree._Element | None) -> etree._Element:
        if query is None:
            raise ValueError("GetDossiers has no query")
        values = {
            el.tag.rpartition("}")[2]: (el.text or "").strip() for el in query if isinstance(el.tag, str)
        }
        names = [el.tag for el in query if isinstance(el.tag, str)]
        if names != [dc(n) for n in sorted(values)] or set(values) != {
            "FromDate",
            "PageIndex",
            "PageSize",
            "ToDate",
        }:
            raise ValueError(
                f"expecting the members FromDate, PageIndex, PageSize, ToDate of {DC}, in that order"
            )
        start, end = instant(values["FromDate"]), instant(values["ToDate"])
        index, size = int(values["PageIndex"]), int(values["PageSize"])
        if index < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            raise ValueError(f"PageIndex from 1, PageSize 1..{MAX_PAGE_SIZE}")
        found = sorted((i for i in self.truth if start <= updated(i) < end),
                       key=lambda i: (updated(i), int(i["source_record_id"])))  # fmt: skip
        response = etree.Element(f"{{{TNS}}}GetDossiersResponse", nsmap={None: TNS})
        result = etree.SubElement(response, f"{{{TNS}}}GetDossiersResult", nsmap={"a": DC, "i": XSI})
        members(result, {"Items": [("DossierDto", dossier(i)) for i in found[(index - 1) * size : index * size]],
                         "TotalCount": len(found)})  # fmt: skip
        return response

    def envelope(self, action: str, message_id: str | None, body: etree._Element) -> bytes:
        s, a = f"{{{SOAP12}}}", f"{{{WSA}}}"
        env = etree.Element(s + "Envelope", nsmap={"s": SOAP12, "a": WSA, "u": WSU})
        header = etree.SubElement(env, s + "Header")
        etree.SubElement(header, a + "Action", {s + "mustUnderstand": "1"}).text = action
        if message_id:
            etree.SubElement(header, a + "RelatesTo").text = message_id
        security = etree.SubElement(
            header, f"{{{WSSE}}}Security", {s + "mustUnderstand": "1"}, nsmap={"o": WSSE}
        )
        now = datetime.now(UTC)
        timestamp = etree.SubElement(security, f"{{{WSU}}}Timestamp", {f"{{{WSU}}}Id": "_0"})
        etree.SubElement(timestamp, f"{{{WSU}}}Created").text = stamp(now)
        etree.SubElement(timestamp, f"{{{WSU}}}Expires").text = stamp(now + SKEW)
        etree.SubElement(env, s + "Body").append(body)
        return etree.tostring(env, encoding="utf-8")

    def answer(self, body: etree._Element, message_id: str) -> None:
        data = self.envelope(f"{ACTION}Response", message_id, body)
        self.send_body(200, data, "application/soap+xml; charset=utf-8")

    def fault(self, fault: Fault, message_id: str | None) -> None:
        s = f"{{{SOAP12}}}"
        el = etree.Element(s + "Fault")
        code = etree.SubElement(el, s + "Code")
        etree.SubElement(code, s + "Value").text = "s:Sender"
        sub = etree.SubElement(
            etree.SubElement(code, s + "Subcode"), s + "Value", nsmap={"a": fault.subcode[0]}
        )
        sub.text = f"a:{fault.subcode[1]}"
        text = etree.SubElement(etree.SubElement(el, s + "Reason"), s + "Text")
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en-US")
        text.text = fault.reason
        data = self.envelope("http://www.w3.org/2005/08/addressing/soap/fault", message_id, el)
        self.refuse(
            500, fault.subcode[1], lambda: self.send_body(500, data, "application/soap+xml; charset=utf-8")
        )


def options(parser: Any) -> None:
    parser.add_argument("--certfile", required=True)
    parser.add_argument("--keyfile", required=True)


if __name__ == "__main__":
    opts = arguments(__doc__.splitlines()[0], options)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(opts.certfile, opts.keyfile)
    serve(VENDOR, Handler, opts, ssl_context=context)
