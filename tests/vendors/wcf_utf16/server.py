"""A .NET WCF dossier service on a customBinding that writes UTF-16 (Huyện Tứ Kỳ): textMessageEncoding
messageVersion="Soap11" writeEncoding="utf-16", every answer (faults included) UTF-16 with its byte-order mark.

Contract (what the vendor's integration guide says, and what this server enforces):
  GET  /HoSo.svc?wsdl     one service, two ports: WSHttpBinding_IHoSo (SOAP 1.2, the intranet's endpoint
                          /HoSo.svc/noibo, not published outside: 404 through the proxy) listed first, and
                          CustomBinding_IHoSo (SOAP 1.1, /HoSo.svc); both soap:address name the IIS server's own host
  POST /HoSo.svc          text/xml (utf-8 or utf-16), SOAPAction "http://tempuri.org/IHoSo/LayDanhSachHoSo"
    Body: <LayDanhSachHoSo><xacThuc><TaiKhoan/><MatKhau/></xacThuc><tuNgay/><denNgay/><trangSo/><kichThuoc/>
    -> text/xml; charset=utf-16, FF FE, <?xml version="1.0" encoding="utf-16"?>,
       <LayDanhSachHoSoResponse><LayDanhSachHoSoResult TongSo="…"><Dossiers><Dossier …/>… (soap_login's records:
       attributes, local times without a zone)
  Window [tuNgay, denNgay) as local wall time; trangSo from 1, kichThuoc 1..100.
  Faults (HTTP 500, UTF-16 too): FaultException<LoiNghiepVu>: faultcode s:Client, faultstring xml:lang="vi-VN",
  detail <LoiNghiepVu><MaLoi>SAI_TAI_KHOAN</MaLoi><ThongBao/></LoiNghiepVu> for a wrong account (REFUSAL).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from lxml import etree

from schemas.dossier import HCM
from tests.vendors.common import VendorHandler, arguments, serve, updated
from tests.vendors.soap_login.server import render

VENDOR = "wcf_utf16"
SERVICE_PATH = "/HoSo.svc"
TNS = "http://tempuri.org/"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
ACTION = f"{TNS}IHoSo/LayDanhSachHoSo"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
USER, PASSWORD = "tuky\\lienthong", "TK@utf16-2023"
REFUSAL = "Tài khoản hoặc mật khẩu kết nối liên thông không đúng. Vui lòng liên hệ quản trị hệ thống."
MAX_PAGE = 100
WSDL = (Path(__file__).resolve().parent / "HoSo.wsdl").read_bytes()
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def q(name: str) -> str:
    return f"{{{TNS}}}{name}"


def utf16(root: etree._Element) -> bytes:
    """As WCF's TextMessageEncoder writes with writeEncoding utf-16: a byte-order mark, then UTF-16LE."""
    text = '<?xml version="1.0" encoding="utf-16"?>' + etree.tostring(root, encoding="unicode")
    return text.encode("utf-16")  # BOM FF FE + little-endian


class Fault(Exception):
    def __init__(self, code: str, reason: str, status: str = "Client") -> None:
        super().__init__(reason)
        self.code, self.reason, self.status = code, reason, status


class Handler(VendorHandler):
    server_version = "Microsoft-IIS/8.5"

    def send_soap(self, payload: etree._Element, status: int = 200) -> None:
        env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"s": SOAP11})
        etree.SubElement(env, f"{{{SOAP11}}}Body").append(payload)
        self.send_body(status, utf16(env), "text/xml; charset=utf-16")

    def fault(self, fault: Fault) -> None:
        f = etree.Element(f"{{{SOAP11}}}Fault", nsmap={"s": SOAP11})
        etree.SubElement(f, "faultcode").text = f"s:{fault.status}"
        reason = etree.SubElement(f, "faultstring")
        reason.set(XML_LANG, "vi-VN")
        reason.text = fault.reason
        info = etree.SubElement(etree.SubElement(f, "detail"), q("LoiNghiepVu"), nsmap={None: TNS})
        etree.SubElement(info, q("MaLoi")).text = fault.code
        etree.SubElement(info, q("ThongBao")).text = fault.reason
        self.refuse(500, fault.code, lambda: self.send_soap(f, 500))

    def vendor(self, method: str) -> None:
        if self.route != SERVICE_PATH:  # the intranet's /HoSo.svc/noibo is not published through the proxy
            self.refuse(404, "not found", lambda: self.send_body(404, b"<h2>404 - File or directory not found.</h2>",
                                                                  "text/html"))  # fmt: skip
        elif method == "GET" and set(self.query) == {"wsdl"}:
            self.send_body(200, WSDL, "text/xml; charset=UTF-8")
        elif method != "POST":
            self.refuse(405, "method", lambda: self.send_body(405, b"Method Not Allowed", "text/html"))
        else:
            try:
                self.soap()
            except Fault as fault:
                self.fault(fault)

    def soap(self) -> None:
        if (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() != "text/xml":
            self.refuse(415, "content type", lambda: self.send_body(415, b"", "text/html"))
            return
        if (self.headers.get("SOAPAction") or "").strip('"') != ACTION:
            raise Fault("ActionNotSupported", f"The message with Action '{self.headers.get('SOAPAction')}' "
                        "cannot be processed at the receiver.")  # fmt: skip
        try:
            root = etree.fromstring(self.raw_body, PARSER)
        except etree.XMLSyntaxError as exc:
            raise Fault("InvalidMessage", f"The message is not well-formed: {exc}") from None
        call = root.find(f"{{{SOAP11}}}Body/{q('LayDanhSachHoSo')}")
        if call is None:
            raise Fault("InvalidMessage", "Không tìm thấy LayDanhSachHoSo.")
        if (call.findtext(f"{q('xacThuc')}/{q('TaiKhoan')}") or "") != USER or (
            call.findtext(f"{q('xacThuc')}/{q('MatKhau')}") or ""
        ) != PASSWORD:
            raise Fault("SAI_TAI_KHOAN", REFUSAL)
        try:
            start = datetime.fromisoformat(call.findtext(q("tuNgay")) or "")
            end = datetime.fromisoformat(call.findtext(q("denNgay")) or "")
            page, size = int(call.findtext(q("trangSo")) or ""), int(call.findtext(q("kichThuoc")) or "")
        except ValueError as exc:
            raise Fault("THAM_SO", f"Tham số không hợp lệ: {exc}") from None
        start, end = (t.astimezone(HCM) if t.tzinfo else t.replace(tzinfo=HCM) for t in (start, end))
        if page < 1 or not 1 <= size <= MAX_PAGE:
            raise Fault("THAM_SO", "trangSo >= 1, kichThuoc 1..100.")
        found = sorted((i for i in self.truth if start <= updated(i) < end),
                       key=lambda i: (updated(i), int(i["source_record_id"])))  # fmt: skip
        response = etree.Element(q("LayDanhSachHoSoResponse"), nsmap={None: TNS})
        result = etree.SubElement(response, q("LayDanhSachHoSoResult"))
        result.set("TongSo", str(len(found)))
        dossiers = etree.SubElement(result, q("Dossiers"))
        for item in found[(page - 1) * size : page * size]:
            render(dossiers, item)
        self.send_soap(response)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
