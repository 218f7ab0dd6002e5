"""An Apache CXF 3 dossier look-up service with MTOM and GZIP on (Hưng Yên): SOAP 1.2, document/literal, the
account in a SOAP header the WSDL declares, every answer (faults included) a multipart/related MTOM package.

Contract (what the vendor's integration guide says, and what this server enforces):
  GET  /hoso/TraCuuHoSo?wsdl     the WSDL (MTOM policy, soap12:header ThongTinXacThuc)
  POST /hoso/TraCuuHoSo          application/soap+xml (action, if any, empty)
    Header: <tns:ThongTinXacThuc><tns:tenDangNhap/><tns:matKhau/></tns:ThongTinXacThuc>
    Body:   <tns:timKiemHoSo><tns:tuThoiDiem/><tns:denThoiDiem/><tns:viTri/><tns:soLuong/></tns:timKiemHoSo>
    -> multipart/related; type="application/xop+xml"; start-info="application/soap+xml": the envelope is the root
       part (application/xop+xml; type="application/soap+xml"), the page's signature (chuKySo, base64Binary) an
       attachment it points at with <xop:Include href="cid:…"/>; records are <ns2:dossier> elements (the
       province's shared JAXB model, as soap12_wsse's) after <tns:tongSo>.
  With Accept-Encoding: gzip every answer is Content-Encoding: gzip (CXF's GZIPOutInterceptor).
  Window [tuThoiDiem, denThoiDiem) with zones; viTri from 0, soLuong 1..100.
  Faults: SOAP 1.2 with HTTP 500, MTOM-packaged as any answer: Code soap:Sender, a Subcode tns:XacThucThatBai
  (REFUSAL) or tns:ThamSoKhongHopLe, Reason/Text xml:lang="vi", Detail <tns:LoiDichVu><maLoi/><thongBao/>.
"""

from __future__ import annotations

import gzip
import uuid
from datetime import datetime
from pathlib import Path
from string import Template

from lxml import etree

from tests.vendors.common import VendorHandler, arguments, serve, updated
from tests.vendors.soap12_wsse.server import render

VENDOR = "cxf_mtom"
SERVICE_PATH = "/hoso/TraCuuHoSo"
TNS = "http://tracuu.motcua.hungyen.gov.vn/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
XOP = "http://www.w3.org/2004/08/xop/include"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
USER, PASSWORD = "esb_hungyen", "HY-mtom#2024"
REFUSAL = "Tên đăng nhập hoặc mật khẩu liên thông không chính xác."
MAX_PAGE = 100
WSDL = Template((Path(__file__).resolve().parent / "TraCuuHoSo.wsdl").read_text(encoding="utf-8"))
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def q(name: str) -> str:
    return f"{{{TNS}}}{name}"


class Fault(Exception):
    def __init__(self, subcode: str, reason: str, code: str) -> None:
        super().__init__(reason)
        self.subcode, self.reason, self.code = subcode, reason, code


class Handler(VendorHandler):
    server_version = "Apache-CXF/3.4.10"

    def send_gzip(self, status: int, body: bytes, media: str) -> None:
        if "gzip" in (self.headers.get("Accept-Encoding") or ""):
            self.send_body(status, gzip.compress(body), media, {"Content-Encoding": "gzip"})
        else:
            self.send_body(status, body, media)

    def send_mtom(self, payload: etree._Element, status: int = 200, attachment: bytes | None = None) -> None:
        env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12})
        etree.SubElement(env, f"{{{SOAP12}}}Body").append(payload)
        boundary, root_id = f"uuid:{uuid.uuid4()}", "root.message@cxf.apache.org"
        parts = [
            (f"Content-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"\r\n"
             f"Content-Transfer-Encoding: binary\r\nContent-ID: <{root_id}>\r\n\r\n").encode()
            + etree.tostring(env, xml_declaration=True, encoding="UTF-8")
        ]  # fmt: skip
        if attachment is not None:
            cid = f"{uuid.uuid4()}-1@tracuu.motcua.hungyen.gov.vn"
            include = etree.SubElement(
                payload.find(f".//{q('chuKySo')}"), f"{{{XOP}}}Include", nsmap={"xop": XOP}
            )
            include.set("href", f"cid:{cid}")
            parts[0] = (
                parts[0].split(b"\r\n\r\n", 1)[0]
                + b"\r\n\r\n"
                + etree.tostring(env, xml_declaration=True, encoding="UTF-8")
            )
            parts.append(
                (f"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n"
                 f"Content-ID: <{cid}>\r\n\r\n").encode() + attachment
            )  # fmt: skip
        body = b"".join(b"\r\n--" + boundary.encode() + b"\r\n" + p for p in parts)
        body += b"\r\n--" + boundary.encode() + b"--"
        media = (f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
                 f'start="<{root_id}>"; start-info="application/soap+xml"')  # fmt: skip
        self.send_gzip(status, body, media)

    def fault(self, fault: Fault) -> None:
        f = etree.Element(f"{{{SOAP12}}}Fault", nsmap={"soap": SOAP12, "ns2": TNS})
        code = etree.SubElement(f, f"{{{SOAP12}}}Code")
        etree.SubElement(code, f"{{{SOAP12}}}Value").text = "soap:Sender"
        sub = etree.SubElement(code, f"{{{SOAP12}}}Subcode")
        etree.SubElement(sub, f"{{{SOAP12}}}Value").text = f"ns2:{fault.subcode}"
        text = etree.SubElement(etree.SubElement(f, f"{{{SOAP12}}}Reason"), f"{{{SOAP12}}}Text")
        text.set(XML_LANG, "vi")
        text.text = fault.reason
        info = etree.SubElement(etree.SubElement(f, f"{{{SOAP12}}}Detail"), q("LoiDichVu"))
        etree.SubElement(info, q("maLoi")).text = fault.code
        etree.SubElement(info, q("thongBao")).text = fault.reason
        self.refuse(500, fault.subcode, lambda: self.send_mtom(f, 500))

    def plain(self, status: int, text: str, reason: str) -> None:
        self.refuse(status, reason, lambda: self.send_body(status, text.encode(), "text/html;charset=utf-8"))

    def vendor(self, method: str) -> None:
        if self.route != SERVICE_PATH:
            self.plain(404, "No service was found.", "not found")
        elif method == "GET" and set(self.query) == {"wsdl"}:
            address = f"http://{self.headers.get('Host')}{SERVICE_PATH}"
            self.send_gzip(200, WSDL.substitute(address=address).encode("utf-8"), "text/xml;charset=UTF-8")
        elif method != "POST":
            self.plain(405, "Method Not Allowed", "method")
        else:
            try:
                self.soap()
            except Fault as fault:
                self.fault(fault)

    def soap(self) -> None:
        media = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media != "application/soap+xml":
            self.plain(415, f"Unsupported Media Type: {media}", "content type")
            return
        try:
            root = etree.fromstring(self.raw_body, PARSER)
        except etree.XMLSyntaxError as exc:
            self.plain(400, f"Error reading XMLStreamReader: {exc}", "not xml")
            return
        header, body = root.find(f"{{{SOAP12}}}Header"), root.find(f"{{{SOAP12}}}Body")
        auth = header.find(q("ThongTinXacThuc")) if header is not None else None
        if auth is None:
            raise Fault("XacThucThatBai", "Thiếu thông tin xác thực (ThongTinXacThuc).", "AUTH-400")
        if (auth.findtext(q("tenDangNhap")) or "") != USER or (auth.findtext(q("matKhau")) or "") != PASSWORD:
            raise Fault("XacThucThatBai", REFUSAL, "AUTH-401")
        call = body.find(q("timKiemHoSo")) if body is not None else None
        if call is None:
            raise Fault("ThamSoKhongHopLe", "Không tìm thấy thao tác timKiemHoSo.", "REQ-400")
        try:
            start = datetime.fromisoformat(call.findtext(q("tuThoiDiem")) or "")
            end = datetime.fromisoformat(call.findtext(q("denThoiDiem")) or "")
            offset, size = int(call.findtext(q("viTri")) or ""), int(call.findtext(q("soLuong")) or "")
        except ValueError as exc:
            raise Fault("ThamSoKhongHopLe", f"Tham số không hợp lệ: {exc}", "REQ-400") from None
        if start.tzinfo is None or end.tzinfo is None or offset < 0 or not 1 <= size <= MAX_PAGE:
            raise Fault("ThamSoKhongHopLe", "Tham số không hợp lệ.", "REQ-400")
        found = sorted((i for i in self.truth if start <= updated(i) < end),
                       key=lambda i: (updated(i), int(i["source_record_id"])))  # fmt: skip
        response = etree.Element(q("timKiemHoSoResponse"), nsmap={"tns": TNS})
        result = etree.SubElement(response, q("ketQua"))
        etree.SubElement(result, q("tongSo")).text = str(len(found))
        etree.SubElement(result, q("chuKySo"))
        for item in found[offset : offset + size]:
            render(result, item)
        self.send_mtom(response, attachment=b"\x30\x82\x01\x0a" + uuid.uuid4().bytes)  # a PKCS#7 signature


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
