"""A district one-stop system speaking SOAP 1.1 document/literal with WS-Security UsernameToken.

    python -m onestop.simulators.soap_district --port 0 --seed 42 --count 2000 --district 293 [options]

`GET /soap?wsdl` (or `/soap.wsdl`) serves a real WSDL (soap_district.wsdl, schema embedded, soap:address =
the URL it was fetched from); `POST /soap` answers operation LayDanhSachHoSo(TuNgay?, DenNgay?, Trang,
SoBanGhi): the records whose last update lies in [TuNgay, DenNgay], ordered by (NgayCapNhat, Id), pages from
1, with TongSo. The content is igate_data's generator (same seed, same dossiers) re-shaped into this vendor's
Vietnamese PascalCase elements and code tables:

    TrangThai           MN mới nộp (1) · TN đã tiếp nhận (2) · TC từ chối tiếp nhận (3) · XL đang xử lý (4)
                        BS chờ bổ sung (5) · NV chờ nghĩa vụ tài chính (6) · RH rút hồ sơ (7) · DX dừng xử lý (8)
                        CK có kết quả (9) · DT đã trả kết quả (10); a bad record's unknown status is KX
    KenhThucHien        1 trực tuyến · 2 trực tiếp · 3 bưu chính công ích   (canonical: 2 · 1 · 3)
    HinhThucNhanKetQua  1 tại bộ phận một cửa · 2 qua bưu chính          (canonical: 0 · 1)
    LoaiDoiTuong        Công dân · Doanh nghiệp · Cơ quan nhà nước · Tổ chức khác   (canonical: 1 · 2 · 3 · 4)
    LoaiGiayTo          1 CCCD · 2 CMND

Every Fault has faultcode soap:Client (soap:Server for our own bugs), a Vietnamese faultstring and a
detail <LoiDichVu><MaLoi/><MoTa/></LoiDichVu>. MaLoi is a WS-Security fault name for authentication
(InvalidSecurity: no/unsupported token; FailedAuthentication: wrong user or password), else THAM_SO (bad
arguments), THAO_TAC (unknown operation), YEU_CAU (not a SOAP request). Faults go out with HTTP 500 as
SOAP 1.1 says (`--fault-status 200` imitates vendors that answer them inside HTTP 200).

Deliberately bad records (--bad-rate) break the vendor's own schema exactly as igate's do: no MaHoSo, no
MaTTHC, an impossible NgayTiepNhan, or TrangThai KX. `--poison-page N --poison MODE` turns page N's answer
hostile (a DTD, a billion-laughs bomb, external entities, or a body streamed past 64 MiB).
"""

from __future__ import annotations

import argparse
import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from fastapi import FastAPI, Request
from lxml import etree
from starlette.responses import Response, StreamingResponse

from onestop.simulators import _common as common
from onestop.simulators.igate_calendar import parse_iso
from onestop.simulators.igate_data import DossierGenerator, QueryCache, index_in_background
from onestop.simulators.igate_records import UNKNOWN_VENDOR_STATUS, VENDOR_STATUS_TO_CANONICAL

TNS = "urn:motcua:hoso:v1"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
)
OPERATION = "LayDanhSachHoSo"
SOAP_ACTION = f"{TNS}/{OPERATION}"
WSDL_TEMPLATE = Path(__file__).with_suffix(".wsdl")
ADDRESS_SLOT = "{{SOAP_ADDRESS}}"
XML_TYPE = "text/xml; charset=utf-8"
MAX_REQUEST_BYTES = 1 << 20
OVERSIZE_BYTES = 65 << 20  # padding of the `oversize` poison: past the connectors' 64 MiB cap
CHUNK_RECORDS = 200  # records rendered per streamed chunk

# This vendor's code tables, from the canonical codes igate_data works in (see the module docstring).
STATUS_CODES: dict[int, str] = {
    1: "MN",
    2: "TN",
    3: "TC",
    4: "XL",
    5: "BS",
    6: "NV",
    7: "RH",
    8: "DX",
    9: "CK",
    10: "DT",
}
UNKNOWN_STATUS_CODE = "KX"
CHANNEL_FROM_IGATE: dict[int, int] = {0: 2, 1: 1, 2: 3}  # iGate applyMethod (0 counter, 1 online, 2 postal)
APPLICANT_TYPES: dict[int, str] = {1: "Công dân", 2: "Doanh nghiệp", 3: "Cơ quan nhà nước", 4: "Tổ chức khác"}
ID_TYPES: dict[str, int] = {"CCCD": 1, "CMND": 2}
# igate_data's defect names, in this dialect's words (what /_sim/truth reports as `bad`).
BAD_REASONS: dict[str, str] = {
    "missing_code": "missing_MaHoSo",
    "missing_nationCode": "missing_MaTTHC",
    "impossible_date": "impossible_date",
    "unknown_status": "unknown_status",
}
POISONS = ("dtd", "entity-bomb", "external-entity", "oversize")

_REQUEST_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class SoapSettings(common.SimulatorSettings):
    username: str = "soap"
    password: str = "secret"
    max_page_size: int = 1000
    fault_status: int = 500
    poison_page: int | None = None
    poison: str | None = None


@dataclass
class _State:
    gen: DossierGenerator
    cache: QueryCache
    clock: int
    wsdl: str
    stats: dict[str, int] = field(
        default_factory=lambda: {
            "requests": 0,
            "faults": 0,
            "unauthorized": 0,
            "records_served": 0,
            "wsdl_served": 0,
            "xxe_fetches": 0,
        }
    )


class SoapFault(Exception):
    """A Fault to answer: faultcode, a Vietnamese faultstring, and the machine-readable MaLoi."""

    def __init__(self, message: str, error_code: str, faultcode: str = "soap:Client") -> None:
        super().__init__(message)
        self.message, self.error_code, self.faultcode = message, error_code, faultcode


@dataclass(frozen=True)
class Query:
    lo: float | None
    hi: float | None
    page: int
    size: int


# --- records ---------------------------------------------------------------------------------------------


def _el(tag: str, value: Any) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>"


def render_record(rec: dict[str, Any], index: int, district: str) -> str:
    """One igate_data record re-shaped as this vendor's <HoSo> (element order = the WSDL's sequence)."""
    out = [f"<HoSo Id={quoteattr(rec['id'])}>"]
    if "code" in rec:
        out.append(_el("MaHoSo", rec["code"]))
    method = rec["applyMethod"]["id"]
    if method == 1:  # online dossiers also carry the code the national portal gave them
        out.append(_el("MaHoSoLienThong", f"DVCQG-{rec['appliedDate'][2:10].replace('-', '')}-{index:06d}"))
    proc = rec["procedure"]
    if "nationCode" in proc:  # a catalogue entry without its national code: the vendor leaves MaTTHC out
        out.append(_el("MaTTHC", proc["code"]))
    out += [
        _el("TenTTHC", proc["name"]),
        _el("MaLinhVuc", rec["sector"]["code"]),
        _el("TenLinhVuc", rec["sector"]["name"]),
        "<CoQuanTiepNhan>",
        _el("Ma", rec["agency"]["code"]),
        _el("Ten", rec["agency"]["name"]),
        "</CoQuanTiepNhan>",
        _el("KenhThucHien", CHANNEL_FROM_IGATE[method]),
        _el("HinhThucNhanKetQua", rec["receivingKind"] + 1),
        _el("MucDo", rec["serviceLevel"]),
    ]
    app, addr = rec["applicant"], rec["applicant"]["address"]
    out += [
        "<ChuHoSo>",
        _el("HoTen", app["fullname"]),
        _el("LoaiDoiTuong", APPLICANT_TYPES[app["type"]]),
        _el("LoaiGiayTo", ID_TYPES[app["identityType"]]),
        _el("SoGiayTo", app["identityNumber"]),
        _el("NgaySinh", app["birthday"]),
        _el("SoDienThoai", app["phone"]),
    ]
    if "email" in app:
        out.append(_el("Email", app["email"]))
    full_address = ", ".join(
        (addr["address"], addr["ward"]["name"], addr["district"]["name"], addr["province"]["name"])
    )
    out += [
        "<DiaChi>",
        _el("ChiTiet", full_address),
        _el("MaXa", addr["ward"]["code"]),
        _el("MaHuyen", addr["district"]["code"]),
        _el("MaTinh", addr["province"]["code"]),
        "</DiaChi></ChuHoSo>",
        _el("TrichYeu", rec["summary"]),
        _el("NgayNop", rec["appliedDate"]),
    ]
    for key, tag in (
        ("acceptedDate", "NgayTiepNhan"),
        ("appointmentDate", "NgayHenTra"),
        ("completedDate", "NgayKetThuc"),
        ("returnedDate", "NgayTra"),
        ("cancelledDate", "NgayTuChoi"),
    ):
        if key in rec:
            out.append(_el(tag, rec[key]))
    status = rec["dossierStatus"]["id"]
    out.append(
        _el(
            "TrangThai",
            UNKNOWN_STATUS_CODE
            if status == UNKNOWN_VENDOR_STATUS
            else STATUS_CODES[VENDOR_STATUS_TO_CANONICAL[status]],
        )
    )
    out += [_el("NgayCapNhat", rec["updatedDate"]), "<LichSuXuLy>"]
    for step in rec["history"]:
        out += [
            "<BuocXuLy>",
            _el("TrangThai", STATUS_CODES[VENDOR_STATUS_TO_CANONICAL[step["status"]]]),
            _el("ThoiDiem", step["createdDate"]),
            _el("NguoiXuLy", step["user"]["fullname"]),
            _el("ChucVu", step["position"]),
            _el("PhongBan", step["department"]),
            _el("NoiDung", step["content"]),
            "</BuocXuLy>",
        ]
    out.append("</LichSuXuLy><TaiLieuNop>")
    for doc in rec["attachments"]:
        file_id = doc["url"].rsplit("/", 1)[-1]
        out += [
            "<TepTin>",
            _el("TenTep", doc["filename"]),
            _el("MaThanhPhan", doc["formCode"]),
            _el("DuongDan", f"http://motcua-{district}.local/TaiLieu/{file_id}"),
            _el("KichThuoc", doc["size"]),
            "</TepTin>",
        ]
    out.append("</TaiLieuNop>")
    if rec["fees"]:
        out.append("<LePhi>")
        for fee in rec["fees"]:
            out += [
                "<Khoan>",
                _el("Ma", fee["code"]),
                _el("Ten", fee["name"]),
                _el("SoTien", fee["amount"]),
                _el("HinhThucThu", fee["method"]),
                _el("Loai", fee["type"]),
                "</Khoan>",
            ]
        out.append("</LePhi>")
    if "note" in rec:
        out.append(_el("GhiChu", rec["note"]))
    out.append("</HoSo>")
    return "".join(out)


# --- requests --------------------------------------------------------------------------------------------


def _child(parent: etree._Element | None, namespace: str, name: str) -> etree._Element | None:
    return None if parent is None else parent.find(f"{{{namespace}}}{name}")


def _check_credentials(header: etree._Element | None, settings: SoapSettings) -> None:
    token = _child(_child(header, WSSE, "Security"), WSSE, "UsernameToken")
    if token is None:
        raise SoapFault(
            "Thiếu thông tin xác thực WS-Security (wsse:Security/UsernameToken)", "InvalidSecurity"
        )
    user, password = _child(token, WSSE, "Username"), _child(token, WSSE, "Password")
    if user is None or password is None:
        raise SoapFault("UsernameToken thiếu Username hoặc Password", "InvalidSecurity")
    if password.get("Type", PASSWORD_TEXT) != PASSWORD_TEXT:
        raise SoapFault("Chỉ chấp nhận mật khẩu dạng PasswordText", "InvalidSecurity")
    good = hmac.compare_digest((user.text or "").encode(), settings.username.encode())
    good &= hmac.compare_digest((password.text or "").encode(), settings.password.encode())
    if not good:
        raise SoapFault("Sai tên đăng nhập hoặc mật khẩu", "FailedAuthentication")


def _int_arg(op: etree._Element, name: str) -> int:
    el = _child(op, TNS, name)
    if el is None:
        raise SoapFault(f"Thiếu tham số {name}", "THAM_SO")
    try:
        return int((el.text or "").strip())
    except ValueError:
        raise SoapFault(f"{name} phải là số nguyên: {el.text!r}", "THAM_SO") from None


def _time_arg(op: etree._Element, name: str) -> float | None:
    el = _child(op, TNS, name)
    if el is None or not (el.text or "").strip():
        return None
    try:
        return parse_iso(el.text or "")
    except ValueError:
        raise SoapFault(f"{name} không đúng định dạng xs:dateTime: {el.text!r}", "THAM_SO") from None


def parse_request(body: bytes, settings: SoapSettings, soap_action: str | None) -> Query:
    """A LayDanhSachHoSo request -> Query, or a SoapFault saying what is wrong (credentials first)."""
    if len(body) > MAX_REQUEST_BYTES:
        raise SoapFault("Yêu cầu quá lớn", "YEU_CAU")
    try:
        root = etree.fromstring(body, _REQUEST_PARSER)
    except etree.XMLSyntaxError as exc:
        raise SoapFault(f"Yêu cầu không phải XML hợp lệ: {exc}", "YEU_CAU") from None
    if root.getroottree().docinfo.doctype:
        raise SoapFault("Yêu cầu chứa DTD: không được phép", "YEU_CAU")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        if etree.QName(root).localname == "Envelope":
            raise SoapFault("Chỉ hỗ trợ SOAP 1.1", "YEU_CAU", faultcode="soap:VersionMismatch")
        raise SoapFault("Yêu cầu không phải SOAP Envelope", "YEU_CAU")
    _check_credentials(_child(root, SOAP_ENV, "Header"), settings)
    payload = _child(root, SOAP_ENV, "Body")
    op = payload[0] if payload is not None and len(payload) else None
    if op is None or op.tag != f"{{{TNS}}}{OPERATION}":
        name = etree.QName(op).localname if op is not None else "(trống)"
        raise SoapFault(f"Không hỗ trợ thao tác {name}", "THAO_TAC")
    if soap_action and soap_action.strip('"') not in (SOAP_ACTION, ""):
        raise SoapFault(f"SOAPAction {soap_action} không khớp thao tác {OPERATION}", "THAO_TAC")
    page, size = _int_arg(op, "Trang"), _int_arg(op, "SoBanGhi")
    if page < 1:
        raise SoapFault(f"Trang phải từ 1 trở lên (nhận {page})", "THAM_SO")
    if not 1 <= size <= settings.max_page_size:
        raise SoapFault(f"SoBanGhi phải từ 1 đến {settings.max_page_size} (nhận {size})", "THAM_SO")
    lo, hi = _time_arg(op, "TuNgay"), _time_arg(op, "DenNgay")
    if lo is not None and hi is not None and hi < lo:
        raise SoapFault("DenNgay trước TuNgay", "THAM_SO")
    return Query(lo, hi, page, size)


# --- answers ---------------------------------------------------------------------------------------------


def fault_envelope(fault: SoapFault) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
        f"<soap:Fault><faultcode>{fault.faultcode}</faultcode>"
        f"<faultstring>{escape(fault.message)}</faultstring><detail>"
        f'<LoiDichVu xmlns="{TNS}">{_el("MaLoi", fault.error_code)}{_el("MoTa", fault.message)}</LoiDichVu>'
        "</detail></soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


def _prolog(poison: str | None, base_url: str) -> tuple[str, str]:
    """(DOCTYPE, entity reference to plant in the first record) of a poisoned page."""
    if poison == "dtd":
        return '<!DOCTYPE soap:Envelope [\n<!ENTITY ghichu "Nội dung lấy từ thực thể DTD">\n]>\n', "&ghichu;"
    if poison == "entity-bomb":
        # The classic billion laughs: lol9 expands to 10^9 copies of "lol" (3 GB) from a few hundred bytes.
        names = ["lol", *(f"lol{k}" for k in range(1, 10))]
        lines = ['<!ENTITY lol "lol">']
        lines += [f'<!ENTITY {name} "{f"&{prev};" * 10}">' for prev, name in pairwise(names)]
        return "<!DOCTYPE soap:Envelope [\n" + "\n".join(lines) + "\n]>\n", "&lol9;"
    if poison == "external-entity":
        # The file a classic XXE steals, and a canary URL on this simulator that counts any fetch.
        return (
            "<!DOCTYPE soap:Envelope [\n"
            '<!ENTITY xxe SYSTEM "file:///etc/passwd">\n'
            f'<!ENTITY canary SYSTEM "{base_url}/_sim/xxe">\n]>\n',
            "&xxe;&canary;",
        )
    return "", ""


def page_chunks(
    state: _State, settings: SoapSettings, query: Query, indices: Sequence[int], clock: int, base_url: str
) -> Iterator[bytes]:
    """The answer to one page, rendered CHUNK_RECORDS at a time (a 20,000-record page is never one string).

    Runs in Starlette's thread pool: it reads the generator (pure) and the matching indices handed to it,
    never the query cache, which belongs to the event loop.
    """
    gen = state.gen
    chosen = indices[(query.page - 1) * query.size : query.page * query.size]
    poison = settings.poison if query.page == settings.poison_page else None
    doctype, reference = _prolog(poison, base_url)
    yield (
        f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
        f'<{OPERATION}Response xmlns="{TNS}"><TongSo>{len(indices)}</TongSo><Trang>{query.page}</Trang>'
        "<DanhSachHoSo>"
    ).encode()
    district = gen.config.district
    for start in range(0, len(chosen), CHUNK_RECORDS):
        parts = []
        for i in chosen[start : start + CHUNK_RECORDS]:
            text = render_record(gen.record(i, clock), i, district)  # type: ignore[arg-type]
            if reference and start == 0 and not parts:
                text = text.replace("<TrichYeu>", f"<TrichYeu>{reference} ", 1)
            parts.append(text)
        state.stats["records_served"] += len(parts)
        yield "".join(parts).encode()
    if poison == "oversize":
        yield b"<!-- "
        pad = b"x" * (1 << 20)
        for _ in range(OVERSIZE_BYTES >> 20):
            yield pad  # the same 1 MiB object each time: the simulator never holds the padding either
        yield b" -->"
    yield f"</DanhSachHoSo></{OPERATION}Response></soap:Body></soap:Envelope>".encode()


def _clock_error(exc: common.ClockError) -> str:
    """This simulator words a refused clock request its own way."""
    return f"bad clock request: {exc.__cause__ or exc}"


def create_app(settings: SoapSettings) -> FastAPI:
    gen = DossierGenerator(settings.generator)
    index_in_background(gen)
    wsdl = WSDL_TEMPLATE.read_text(encoding="utf-8")
    state = _State(gen=gen, cache=QueryCache(gen), clock=settings.initial_clock(), wsdl=wsdl)
    app = FastAPI(title="SOAP district simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = state

    def base_url(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    def serve_wsdl(request: Request) -> Response:
        state.stats["wsdl_served"] += 1
        address = escape(f"{base_url(request)}/soap", {'"': "&quot;"})
        return Response(state.wsdl.replace(ADDRESS_SLOT, address).encode(), media_type=XML_TYPE)

    @app.get("/soap")
    async def soap_get(request: Request) -> Response:
        if "wsdl" in {k.lower() for k in request.query_params}:
            return serve_wsdl(request)
        return Response("Dịch vụ SOAP: mô tả tại ?wsdl\n", status_code=400, media_type="text/plain")

    @app.get("/soap.wsdl")
    async def soap_wsdl(request: Request) -> Response:
        return serve_wsdl(request)

    @app.post("/soap")
    async def soap_post(request: Request) -> Response:
        state.stats["requests"] += 1
        await common.pause(settings.latency_ms)
        try:
            query = parse_request(await request.body(), settings, request.headers.get("soapaction"))
        except SoapFault as fault:
            state.stats["faults"] += 1
            if fault.error_code in ("InvalidSecurity", "FailedAuthentication"):
                state.stats["unauthorized"] += 1
            return Response(fault_envelope(fault), status_code=settings.fault_status, media_type=XML_TYPE)
        clock_now = state.clock
        indices = state.cache.get(query.lo, query.hi, clock_now)
        chunks = page_chunks(state, settings, query, indices, clock_now, base_url(request))
        return StreamingResponse(chunks, media_type=XML_TYPE)

    @app.get("/_sim/xxe")
    async def xxe() -> Response:
        state.stats["xxe_fetches"] += 1  # a parser that resolved the external entity would land here
        return Response("canary\n", media_type="text/plain")

    def truth_row(i: int, clock: int) -> dict[str, Any] | None:
        row = gen.truth(i, clock)
        if row is not None:
            row["bad"] = BAD_REASONS.get(row["bad"]) if row["bad"] else None
        return row

    common.add_sim_routes(app, state, gen, truth_row=truth_row, clock_error=_clock_error)
    return app


def build_parser() -> argparse.ArgumentParser:
    p = common.new_parser("onestop.simulators.soap_district", __doc__)
    common.add_dossier_options(p)
    p.add_argument("--username", default="soap", help="expected in the WS-Security UsernameToken")
    p.add_argument("--password", default="secret")
    common.add_clock_options(p, latency_help="ms added to each SOAP request")
    p.add_argument("--max-page-size", type=int, default=1000, help="largest SoBanGhi answered (else a Fault)")
    p.add_argument(
        "--fault-status", type=int, choices=(500, 200), default=500, help="HTTP status of SOAP Faults"
    )
    p.add_argument("--poison-page", type=int, default=None, help="the page (Trang) whose answer is hostile")
    p.add_argument("--poison", choices=POISONS, default=None, help="how page --poison-page is hostile")
    return p


def _complaint(args: argparse.Namespace) -> str | None:
    if (args.poison is None) != (args.poison_page is None):
        return "--poison and --poison-page go together"
    if args.max_page_size < 1:
        return "--max-page-size must be >= 1"
    return None


def main(argv: list[str] | None = None) -> None:
    common.run(build_parser(), argv, SoapSettings, create_app, complaint=_complaint)


if __name__ == "__main__":
    main()
