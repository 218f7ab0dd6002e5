"""A district system whose first page is one big answer (tens of megabytes), for the memory tests.

    python -m tests.connectors.big_page_server --kind soap|xml --bytes 60000000 [--attached N]
                                               [--tail fault|server-fault|broken]
    -> READY http://127.0.0.1:PORT

`soap`: the SOAP district simulator's WSDL (`GET /soap?wsdl`) and its LayDanhSachHoSo answer (`POST /soap`);
`xml`: the legacy ASP.NET simulator's answer (`GET /DichVu/DanhSachHoSo.aspx`). Records are the simulators'
own (same generator, same renderers), as many as fill `--bytes`, each with `--attached` bytes of a base64
attachment that no mapping reads (<DuLieuKem>: fewer, bigger records, a faster test of as many bytes); the
page says it is the only one (TongSo =
its records; lastPage 1), whatever page size was asked for. `--tail` spoils the end of the answer, after
every record: `fault` a soap:Client Fault beside the answer (SOAP) or a non-zero ErrorCode (XML),
`server-fault` a soap:Server Fault, `broken` a body that stops being XML. The page is rendered once into a
file at start and streamed from it. `GET /_stats` -> {"records": n, "bytes": n, "requests": n}.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO

from onestop.simulators.igate_data import DossierGenerator, GeneratorConfig
from onestop.simulators.legacy_xml import LegacySettings, LegacyShop
from onestop.simulators.soap_district import (
    ADDRESS_SLOT,
    OPERATION,
    SOAP_ENV,
    TNS,
    WSDL_TEMPLATE,
    render_record,
)

XML_PATH = "/DichVu/DanhSachHoSo.aspx"
SOAP_FAULT = (
    f'<soap:Fault xmlns:soap="{SOAP_ENV}"><faultcode>soap:{{code}}</faultcode>'
    "<faultstring>Lỗi sau danh sách: phiên truy vấn bị hủy</faultstring>"
    f'<detail><LoiDichVu xmlns="{TNS}"><MaLoi>HUY</MaLoi></LoiDichVu></detail></soap:Fault>'
)


def render(kind: str, size: int, tail: str | None, out: IO[bytes], attached: int = 0, seed: int = 3) -> int:
    """The page into `out`; returns how many records it holds."""
    config = GeneratorConfig(seed=seed, count=40_000, district="293", bad_rate=0.0)
    # A scanned form, base64, as some systems embed in every record: bytes that no mapping reads.
    extra = f"<DuLieuKem>{base64.b64encode(random.Random(seed).randbytes(attached * 3 // 4)).decode()}</DuLieuKem>"
    if kind == "soap":
        gen = DossierGenerator(config)
        clock = LegacySettings(config).initial_clock()

        def record(i: int) -> str | None:
            rec = gen.record(i, clock)
            return None if rec is None else render_record(rec, i, "293")

    else:
        shop = LegacyShop(LegacySettings(config, nfd_rate=0.0, tcvn3_rate=0.0, vni_rate=0.0, utf8_rate=0.0))
        clock = shop.settings.initial_clock()

        def record(i: int) -> str | None:
            built = shop.record(i, clock)
            return None if built is None else built[0]

    records = tempfile.TemporaryFile()  # noqa: SIM115 - the records first: the head carries their count
    written = count = i = 0
    while written < size and i < config.count:
        text = record(i)
        i += 1
        if text is None:
            continue
        if attached:
            text = text.removesuffix("</HoSo>") + extra + "</HoSo>"
        data = text.encode()
        records.write(data)
        written += len(data)
        count += 1
    if kind == "soap":
        head = (
            f'<?xml version="1.0" encoding="utf-8"?>\n<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
            f'<{OPERATION}Response xmlns="{TNS}"><TongSo>{count}</TongSo><Trang>1</Trang><DanhSachHoSo>'
        )
    else:
        head = (
            '<?xml version="1.0" encoding="utf-8"?><KetQua>'
            + ("" if tail == "fault" else "<ErrorCode>0</ErrorCode><ErrorMessage/>")
            + f"<TotalCount>{count}</TotalCount><currPage>1</currPage><lastPage>1</lastPage><DanhSach>"
        )
    out.write(head.encode())
    records.seek(0)
    shutil.copyfileobj(records, out, 1 << 20)
    records.close()
    if tail == "broken":
        out.write(b"<HoSo><Ma>cut")  # the answer stops mid-record: not XML
    elif kind == "soap":
        out.write(f"</DanhSachHoSo></{OPERATION}Response>".encode())
        if tail in ("fault", "server-fault"):
            out.write(SOAP_FAULT.format(code="Server" if tail == "server-fault" else "Client").encode())
        out.write(b"</soap:Body></soap:Envelope>")
    else:
        out.write(b"</DanhSach>")
        if tail == "fault":  # the error code comes after the records
            out.write(
                "<ErrorCode>500</ErrorCode><ErrorMessage>Lỗi truy vấn sau danh sách</ErrorMessage>".encode()
            )
        out.write(b"</KetQua>")
    return count


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--kind", choices=("soap", "xml"), required=True)
    p.add_argument(
        "--bytes", type=int, default=60_000_000, help="records rendered until the page is this big"
    )
    p.add_argument("--attached", type=int, default=0, help="bytes of base64 attachment in each record")
    p.add_argument("--tail", choices=("fault", "server-fault", "broken"), default=None)
    args = p.parse_args()
    page = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
    records = render(args.kind, args.bytes, args.tail, page, args.attached)
    size = page.tell()
    page.flush()  # the handlers pread its descriptor
    stats = {"records": records, "bytes": size, "requests": 0}
    lock = threading.Lock()
    wsdl = WSDL_TEMPLATE.read_text(encoding="utf-8")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def send(self, body: bytes, media: str = "text/xml; charset=utf-8", status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", media)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def page(self) -> None:
            with lock:
                stats["requests"] += 1
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            for at in range(0, size, 1 << 20):  # pread: requests may overlap
                self.wfile.write(os.pread(page.fileno(), 1 << 20, at))

        def do_GET(self) -> None:
            if self.path.startswith("/_stats"):
                with lock:
                    self.send(json.dumps(stats).encode(), "application/json")
            elif args.kind == "soap" and self.path.lower().startswith("/soap?wsdl"):
                address = f"http://{self.headers.get('Host')}/soap"
                self.send(wsdl.replace(ADDRESS_SLOT, address).encode())
            elif args.kind == "xml" and self.path.startswith(XML_PATH):
                self.page()
            else:
                self.send(b"not found", "text/plain", 404)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if args.kind == "soap" and self.path == "/soap":
                self.page()
            else:
                self.send(b"not found", "text/plain", 404)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"READY http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
