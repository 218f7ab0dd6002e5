"""The SOAP district simulator as a real process: its WSDL, its answers, its Faults and its hostile pages."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
import requests
import zeep
from lxml import etree
from zeep.wsse.username import UsernameToken

from onestop.simulators.igate_data import EVENT_WINDOW
from onestop.simulators.process import SimulatorProcess, start_simulator
from onestop.simulators.soap_district import BAD_REASONS, PASSWORD_TEXT, POISONS, STATUS_CODES

COUNT = 2000
TNS = "urn:motcua:hoso:v1"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSD = "http://www.w3.org/2001/XMLSchema"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
MA_HO_SO = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[GH]\d{2}-\d{6}-\d{4,5}$")
MA_TTHC = re.compile(r"^\d\.\d{6}\.\d{3}\.\d{2}\.\d{2}\.H23$")
ISO_VN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00$")
STATUS_OF = {code: canonical for canonical, code in STATUS_CODES.items()}
SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorProcess]:
    with start_simulator("soap_district", "--seed", "42", "--count", str(COUNT)) as s:
        yield s


@pytest.fixture(scope="module")
def twin() -> Iterator[SimulatorProcess]:
    with start_simulator("soap_district", "--seed", "42", "--count", str(COUNT)) as s:
        yield s


@pytest.fixture(scope="module")
def clean() -> Iterator[SimulatorProcess]:
    """No deliberately bad records: every answer must satisfy the WSDL's schema."""
    with start_simulator("soap_district", "--seed", "7", "--count", "600", "--bad-rate", "0") as s:
        yield s


def envelope(
    operation: str = "",
    user: str | None = "soap",
    password: str = "secret",
    password_type: str = PASSWORD_TEXT,
    **args: object,
) -> bytes:
    """A hand-written request (zeep refuses to write bad ones): WS-Security header unless user is None."""
    header = ""
    if user is not None:
        header = (
            f'<soap:Header><wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken>'
            f"<wsse:Username>{user}</wsse:Username>"
            f'<wsse:Password Type="{password_type}">{password}</wsse:Password>'
            "</wsse:UsernameToken></wsse:Security></soap:Header>"
        )
    body = operation or (
        f'<m:LayDanhSachHoSo xmlns:m="{TNS}">'
        + "".join(f"<m:{k}>{v}</m:{k}>" for k, v in args.items())
        + "</m:LayDanhSachHoSo>"
    )
    return f'<soap:Envelope xmlns:soap="{SOAP_ENV}">{header}<soap:Body>{body}</soap:Body></soap:Envelope>'.encode()


def post(sim: SimulatorProcess, body: bytes) -> requests.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{TNS}/LayDanhSachHoSo"'}
    return requests.post(f"{sim.url}/soap", data=body, headers=headers, timeout=60)


def answer(sim: SimulatorProcess, **args: object) -> etree._Element:
    """The LayDanhSachHoSoResponse element of a successful call."""
    resp = post(sim, envelope(**args))
    assert resp.status_code == 200, resp.text[:500]
    assert resp.headers["content-type"].startswith("text/xml")
    root = etree.fromstring(resp.content, SAFE)
    return root.find(f"{{{SOAP_ENV}}}Body/{{{TNS}}}LayDanhSachHoSoResponse")


def records(response: etree._Element) -> list[etree._Element]:
    return response.findall(f"{{{TNS}}}DanhSachHoSo/{{{TNS}}}HoSo")


def text(el: etree._Element, path: str) -> str | None:
    return el.findtext("/".join(f"{{{TNS}}}{p}" for p in path.split("/")))


def fetch_all(sim: SimulatorProcess, size: int = 500, **window: str) -> list[etree._Element]:
    out, page = [], 1
    while True:
        got = records(answer(sim, Trang=page, SoBanGhi=size, **window))
        out.extend(got)
        if len(got) < size:
            return out
        page += 1


def truth(sim: SimulatorProcess) -> list[dict]:
    resp = requests.get(f"{sim.url}/_sim/truth", timeout=60)
    resp.raise_for_status()
    return [json.loads(line) for line in resp.text.splitlines() if line]


def stats(sim: SimulatorProcess) -> dict[str, int]:
    return requests.get(f"{sim.url}/_sim/stats", timeout=10).json()


def schema_of(sim: SimulatorProcess) -> etree.XMLSchema:
    wsdl = etree.fromstring(requests.get(f"{sim.url}/soap?wsdl", timeout=10).content, SAFE)
    return etree.XMLSchema(wsdl.find(f".//{{{XSD}}}schema"))


def fault(resp: requests.Response) -> tuple[str, str, str]:
    """(faultcode, faultstring, MaLoi) of a Fault answer."""
    root = etree.fromstring(resp.content, SAFE)
    f = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert f is not None, resp.text[:500]
    return (
        f.findtext("faultcode"),
        f.findtext("faultstring"),
        f.findtext(f"detail/{{{TNS}}}LoiDichVu/{{{TNS}}}MaLoi"),
    )


def ts(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_the_wsdl_is_served_with_the_address_it_was_fetched_from(sim: SimulatorProcess) -> None:
    before = stats(sim)["wsdl_served"]
    a = requests.get(f"{sim.url}/soap?wsdl", timeout=10)
    b = requests.get(f"{sim.url}/soap.wsdl", timeout=10)
    assert a.status_code == b.status_code == 200 and a.content == b.content
    assert stats(sim)["wsdl_served"] == before + 2
    wsdl = etree.fromstring(a.content, SAFE)
    assert wsdl.get("targetNamespace") == TNS
    assert wsdl.find(f".//{{{WSDL_SOAP}}}address").get("location") == f"{sim.url}/soap"
    assert wsdl.find(f".//{{{WSDL_SOAP}}}operation").get("soapAction") == f"{TNS}/LayDanhSachHoSo"
    assert wsdl.find(f".//{{{WSDL_SOAP}}}binding").get("style") == "document"
    schema = wsdl.find(f".//{{{XSD}}}schema")
    assert schema.get("targetNamespace") == TNS
    etree.XMLSchema(schema)  # a real schema: lxml compiles it
    # Under another host name (a proxy), the address follows the request.
    other = requests.get(f"{sim.url}/soap?wsdl", headers={"Host": "motcua.example:8080"}, timeout=10)
    assert b'location="http://motcua.example:8080/soap"' in other.content


def test_a_stock_zeep_client_built_from_the_wsdl_reads_typed_pages(clean: SimulatorProcess) -> None:
    client = zeep.Client(f"{clean.url}/soap?wsdl", wsse=UsernameToken("soap", "secret"))
    result = client.service.LayDanhSachHoSo(Trang=2, SoBanGhi=25)
    assert (result.TongSo, result.Trang, len(result.DanhSachHoSo.HoSo)) == (600, 2, 25)
    first = result.DanhSachHoSo.HoSo[0]
    assert first.KenhThucHien in (1, 2, 3) and first.TrangThai in STATUS_OF
    assert first.NgayCapNhat.utcoffset() == timedelta(hours=7)
    assert first.LichSuXuLy.BuocXuLy[-1].ThoiDiem == first.NgayCapNhat
    with pytest.raises(zeep.exceptions.Fault, match="Sai tên đăng nhập hoặc mật khẩu"):
        zeep.Client(f"{clean.url}/soap?wsdl", wsse=UsernameToken("soap", "x")).service.LayDanhSachHoSo(
            Trang=1, SoBanGhi=1
        )


def test_every_answer_page_validates_against_the_embedded_schema(clean: SimulatorProcess) -> None:
    schema = schema_of(clean)
    window = {"TuNgay": "2025-01-01T00:00:00+07:00", "DenNgay": "2025-12-31T23:59:59+07:00"}
    for args in ({}, window):
        seen, page = [], 1
        while True:
            response = answer(clean, Trang=page, SoBanGhi=250, **args)
            assert schema.validate(response), schema.error_log
            got = records(response)
            seen += [r.get("Id") for r in got]
            if len(got) < 250:
                break
            page += 1
        assert len(seen) == len(set(seen)) == 600
    assert schema.validate(answer(clean, Trang=99, SoBanGhi=250)), "an empty page is valid too"


def test_only_the_deliberately_bad_records_break_the_schema(sim: SimulatorProcess) -> None:
    """The vendor's own schema is strict; its bad records break it, each in the way truth says."""
    schema = schema_of(sim)
    bad = {r["id"]: r["bad"] for r in truth(sim) if r["bad"]}
    assert set(bad.values()) == set(BAD_REASONS.values())
    broken: dict[str, str] = {}
    for rec in fetch_all(sim, size=1000):
        single = etree.fromstring(
            f'<LayDanhSachHoSoResponse xmlns="{TNS}"><TongSo>1</TongSo><Trang>1</Trang><DanhSachHoSo>'.encode()
            + etree.tostring(rec)
            + b"</DanhSachHoSo></LayDanhSachHoSoResponse>"
        )
        if not schema.validate(single):
            broken[rec.get("Id")] = str(schema.error_log.last_error.message)
    assert set(broken) == set(bad)
    expected = {  # what libxml2 says about each kind of defect
        "missing_MaHoSo": "Expected is ( {urn:motcua:hoso:v1}MaHoSo )",
        "missing_MaTTHC": "{urn:motcua:hoso:v1}MaTTHC ).",
        "impossible_date": "NgayTiepNhan': '2025-02-30T08:00:00+07:00' is not a valid value",
        "unknown_status": "The value 'KX' is not an element of the set",
    }
    for rid, reason in bad.items():
        assert expected[reason] in broken[rid], broken[rid]


def test_paging_from_1_to_the_end_with_a_total(sim: SimulatorProcess) -> None:
    seen, page = [], 1
    while True:
        response = answer(sim, Trang=page, SoBanGhi=300)
        assert text(response, "TongSo") == str(COUNT) and text(response, "Trang") == str(page)
        got = records(response)
        seen.extend(got)
        if len(got) < 300:
            break
        page += 1
    assert page == 7 and len(seen) == COUNT == len({r.get("Id") for r in seen})
    keys = [(ts(text(r, "NgayCapNhat")), r.get("Id")) for r in seen]
    assert keys == sorted(keys), "ordered by last update, then Id"
    after = answer(sim, Trang=page + 1, SoBanGhi=300)
    assert records(after) == [] and text(after, "TongSo") == str(COUNT)


def test_the_window_on_last_update_is_inclusive_and_matches_truth(sim: SimulatorProcess) -> None:
    rows = truth(sim)
    lo, hi = "2025-03-03T00:00:00+07:00", "2025-03-07T23:59:59+07:00"
    expected = {r["id"] for r in rows if ts(lo) <= ts(r["updatedDate"]) <= ts(hi)}
    got = fetch_all(sim, size=100, TuNgay=lo, DenNgay=hi)
    assert expected and {r.get("Id") for r in got} == expected
    assert text(answer(sim, Trang=1, SoBanGhi=1, TuNgay=lo, DenNgay=hi), "TongSo") == str(len(expected))
    # UTC and no offset (= +07:00) name the same instants.
    utc = fetch_all(sim, size=100, TuNgay="2025-03-02T17:00:00Z", DenNgay="2025-03-07T16:59:59Z")
    naive = fetch_all(sim, size=100, TuNgay=lo[:19], DenNgay=hi[:19])
    assert [r.get("Id") for r in utc] == [r.get("Id") for r in naive] == [r.get("Id") for r in got]
    instant = text(got[0], "NgayCapNhat")
    assert got[0].get("Id") in {r.get("Id") for r in fetch_all(sim, TuNgay=instant, DenNgay=instant)}
    since = fetch_all(sim, TuNgay="2025-06-01T00:00:00+07:00")
    assert {r.get("Id") for r in since} == {
        r["id"] for r in rows if ts(r["updatedDate"]) >= ts("2025-06-01T00:00:00+07:00")
    }


def test_the_same_seed_gives_byte_identical_pages(sim: SimulatorProcess, twin: SimulatorProcess) -> None:
    for args in (
        {"Trang": 3, "SoBanGhi": 100},
        {"Trang": 1, "SoBanGhi": 50, "TuNgay": "2025-04-01T08:00:00"},
    ):
        a, b = post(sim, envelope(**args)), post(twin, envelope(**args))
        assert a.status_code == b.status_code == 200
        assert a.content == b.content and a.content.count(b"<HoSo ") == args["SoBanGhi"]
    assert truth(sim) == truth(twin)


def test_records_have_the_vendor_shape_and_agree_with_truth(sim: SimulatorProcess) -> None:
    expected = {r["id"]: r for r in truth(sim)}
    recs = fetch_all(sim, size=1000)
    assert {r.get("Id") for r in recs} == set(expected)
    channels, types, backward = set(), set(), 0
    for rec in recs:
        t = expected[rec.get("Id")]
        assert text(rec, "NgayCapNhat") == t["updatedDate"]
        steps = rec.findall(f"{{{TNS}}}LichSuXuLy/{{{TNS}}}BuocXuLy")
        assert 1 <= len(steps) <= 15 and text(steps[-1], "ThoiDiem") == t["updatedDate"]
        if t["bad"] == "missing_MaHoSo":
            assert text(rec, "MaHoSo") is None
        else:
            code = text(rec, "MaHoSo")
            assert code == t["code"] and MA_HO_SO.match(code)
        if t["bad"] == "missing_MaTTHC":
            assert text(rec, "MaTTHC") is None
        else:
            assert MA_TTHC.match(text(rec, "MaTTHC")), text(rec, "MaTTHC")
            assert text(rec, "MaTTHC").endswith(text(rec, "CoQuanTiepNhan/Ma"))
        status = text(rec, "TrangThai")
        assert status == "KX" if t["bad"] == "unknown_status" else STATUS_OF[status] == t["status"]
        if t["bad"] == "impossible_date":
            assert text(rec, "NgayTiepNhan")[4:10] == "-02-30"
        for tag in ("NgayNop", "NgayTiepNhan", "NgayHenTra", "NgayKetThuc", "NgayTra", "NgayTuChoi"):
            value = text(rec, tag)
            if value is not None and t["bad"] != "impossible_date":
                assert ISO_VN.match(value), (tag, value)
        channel = int(text(rec, "KenhThucHien"))
        channels.add(channel)
        online = text(rec, "MaHoSoLienThong")
        assert (online is not None) == (channel == 1), "only online dossiers carry the portal's code"
        assert STATUS_OF[text(steps[0], "TrangThai")] == (1 if channel == 1 else 2)
        statuses = [STATUS_OF[text(s, "TrangThai")] for s in steps]
        backward += any(a == 10 and b == 4 for a, b in pairwise(statuses))
        times = [ts(text(s, "ThoiDiem")) for s in steps]
        assert times == sorted(times) and times[-1] - times[0] <= EVENT_WINDOW
        assert text(rec, "HinhThucNhanKetQua") in ("1", "2") and text(rec, "MucDo") in ("2", "3", "4")
        types.add(text(rec, "ChuHoSo/LoaiDoiTuong"))
        assert unicodedata.is_normalized("NFC", text(rec, "ChuHoSo/HoTen"))
        id_type, number = text(rec, "ChuHoSo/LoaiGiayTo"), text(rec, "ChuHoSo/SoGiayTo")
        assert re.fullmatch(r"030\d{9}" if id_type == "1" else r"\d{9}", number)
        assert re.fullmatch(r"0[35789]\d{8}", text(rec, "ChuHoSo/SoDienThoai"))
        assert text(rec, "ChuHoSo/DiaChi/MaTinh") == "30" and re.fullmatch(
            r"\d{5}", text(rec, "ChuHoSo/DiaChi/MaXa")
        )
        assert text(rec, "ChuHoSo/DiaChi/ChiTiet").endswith(", Tỉnh Hải Dương")
        files = rec.findall(f"{{{TNS}}}TaiLieuNop/{{{TNS}}}TepTin")
        assert files and all(
            text(f, "DuongDan").startswith("http://motcua-288.local/TaiLieu/") for f in files
        )
    assert channels == {1, 2, 3}
    assert types <= {"Công dân", "Doanh nghiệp", "Cơ quan nhà nước", "Tổ chức khác"} and len(types) >= 3
    assert 0 < backward < 0.05 * COUNT


@pytest.mark.parametrize(
    ("request_args", "message", "code"),
    [
        ({"user": None}, "Thiếu thông tin xác thực WS-Security", "InvalidSecurity"),
        ({"password": "sai"}, "Sai tên đăng nhập hoặc mật khẩu", "FailedAuthentication"),
        ({"user": "admin"}, "Sai tên đăng nhập hoặc mật khẩu", "FailedAuthentication"),
        ({"password_type": PASSWORD_TEXT.replace("Text", "Digest")}, "PasswordText", "InvalidSecurity"),
    ],
)
def test_ws_security_username_token_is_required(
    sim: SimulatorProcess, request_args: dict, message: str, code: str
) -> None:
    before = stats(sim)
    resp = post(sim, envelope(Trang=1, SoBanGhi=1, **request_args))
    assert resp.status_code == 500, "SOAP 1.1: a Fault travels with HTTP 500"
    faultcode, faultstring, error = fault(resp)
    assert faultcode == "soap:Client" and message in faultstring and error == code
    after = stats(sim)
    assert (
        after["unauthorized"] == before["unauthorized"] + 1
        and after["records_served"] == before["records_served"]
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (envelope(Trang=0, SoBanGhi=10), "Trang phải từ 1 trở lên"),
        (envelope(Trang="một", SoBanGhi=10), "Trang phải là số nguyên"),
        (envelope(SoBanGhi=10), "Thiếu tham số Trang"),
        (envelope(Trang=1, SoBanGhi=0), "SoBanGhi phải từ 1 đến 1000"),
        (envelope(Trang=1, SoBanGhi=1001), "SoBanGhi phải từ 1 đến 1000"),
        (envelope(Trang=1, SoBanGhi=10, TuNgay="hôm qua"), "TuNgay không đúng định dạng xs:dateTime"),
        (envelope(Trang=1, SoBanGhi=10, TuNgay="2025-02-30T00:00:00"), "TuNgay không đúng định dạng"),
        (
            envelope(Trang=1, SoBanGhi=10, TuNgay="2025-03-02T00:00:00", DenNgay="2025-03-01T00:00:00"),
            "DenNgay trước TuNgay",
        ),
        (envelope(operation=f'<m:XoaHoSo xmlns:m="{TNS}"/>'), "Không hỗ trợ thao tác XoaHoSo"),
        (b"<not-xml", "Yêu cầu không phải XML hợp lệ"),
        (b'<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>', "Yêu cầu chứa DTD"),
    ],
)
def test_bad_arguments_are_soap_client_faults(sim: SimulatorProcess, body: bytes, message: str) -> None:
    resp = post(sim, body)
    assert resp.status_code == 500
    faultcode, faultstring, code = fault(resp)
    assert faultcode == "soap:Client" and message in faultstring, faultstring
    assert code in ("THAM_SO", "THAO_TAC", "YEU_CAU")


@pytest.fixture(scope="module", params=POISONS)
def poisoned(request: pytest.FixtureRequest) -> Iterator[tuple[str, SimulatorProcess]]:
    args = ("--seed", "5", "--count", "300", "--poison-page", "2", "--poison", request.param)
    with start_simulator("soap_district", *args) as s:
        yield request.param, s


def test_a_poisoned_page_is_hostile_and_the_others_are_not(poisoned: tuple[str, SimulatorProcess]) -> None:
    mode, sim = poisoned
    assert len(records(answer(sim, Trang=1, SoBanGhi=100))) == 100
    assert len(records(answer(sim, Trang=3, SoBanGhi=100))) == 100
    if mode == "oversize":
        peak_before = peak_memory(sim)
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        body = envelope(Trang=2, SoBanGhi=100)
        with requests.post(f"{sim.url}/soap", data=body, headers=headers, stream=True, timeout=60) as resp:
            assert resp.status_code == 200 and "content-length" not in resp.headers  # streamed
            size = sum(len(chunk) for chunk in resp.iter_content(1 << 20))  # counted, never held
        assert size > 64 << 20
        assert peak_memory(sim) - peak_before < 16 << 20, "the simulator streamed the padding, never held it"
        return
    resp = post(sim, envelope(Trang=2, SoBanGhi=100))
    assert resp.status_code == 200
    head = resp.content[:2000]
    assert resp.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE soap:Envelope [')
    if mode == "dtd":
        assert b'<!ENTITY ghichu "' in head and b"<TrichYeu>&ghichu; " in resp.content
    elif mode == "entity-bomb":
        assert b'<!ENTITY lol9 "&lol8;&lol8;' in head and b"<TrichYeu>&lol9; " in resp.content
    else:
        assert b'<!ENTITY xxe SYSTEM "file:///etc/passwd">' in head
        assert f'<!ENTITY canary SYSTEM "{sim.url}/_sim/xxe">'.encode() in head
        assert b"<TrichYeu>&xxe;&canary; " in resp.content
    assert stats(sim)["xxe_fetches"] == 0


def peak_memory(sim: SimulatorProcess) -> int:
    """The process's resident-memory high-water mark (Linux VmHWM), in bytes."""
    with open(f"/proc/{sim.proc.pid}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def test_clock_health_stats_and_a_clean_exit(sim: SimulatorProcess) -> None:
    original = requests.get(f"{sim.url}/_sim/clock", timeout=10).json()["clock"]
    assert original == "2025-06-21T17:00:00+07:00"
    try:
        moved = requests.post(f"{sim.url}/_sim/clock", json={"set": "2025-02-14T12:00:00"}, timeout=10).json()
        assert moved == {"clock": "2025-02-14T12:00:00+07:00"}
        early = truth(sim)
        assert 0 < len(early) < COUNT and text(answer(sim, Trang=1, SoBanGhi=1), "TongSo") == str(len(early))
        assert requests.post(f"{sim.url}/_sim/clock", json={"advance": 1}, timeout=10).status_code == 400
    finally:
        requests.post(f"{sim.url}/_sim/clock", json={"set": original}, timeout=10).raise_for_status()
    assert requests.get(f"{sim.url}/health", timeout=10).json() == {"ok": True}
    assert set(stats(sim)) == {
        "requests",
        "faults",
        "unauthorized",
        "records_served",
        "wsdl_served",
        "xxe_fetches",
    }
    assert requests.get(f"{sim.url}/soap", timeout=10).status_code == 400
    other = start_simulator("soap_district", "--count", "10", "--username", "u", "--password", "p")
    try:
        assert post(other, envelope(Trang=1, SoBanGhi=5, user="u", password="p")).status_code == 200
    finally:
        assert other.stop() == 0, "SIGTERM ends the process with exit code 0"
