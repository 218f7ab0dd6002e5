"""The ASMX DichVuHoSo service holds its contract (see server.py): zeep reads its WSDL (a SOAP 1.1 and a SOAP 1.2 port)
and writes requests both ports answer; hand-written envelopes with the XacThuc header page through every truth
dossier; the result is a DataSet's XML written as escaped text (a utf-16 declaration inside a UTF-8 envelope) and
every served <HoSo> maps to the truth through vn_dataset.yaml; wrong or missing credentials answer the <Loi> row
(HTTP 200, no Fault); what a connector could get wrong is refused in the vendor's own words and counted. Then the
product: a sync sends the credentials in the header of every call and reads the embedded DataSet page by page,
and a preview masks the password that every envelope carries."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
import zeep
from lxml import etree
from typer.testing import CliRunner

from connectors.safexml import PARSER_OPTIONS
from onestop import pipeline
from onestop.cli import app
from onestop.simulators.process import SimulatorProcess
from tests.vendors import asmx, harness
from tests.vendors.asmx import SOAP11, SOAP12, SOAP12_XML, XML, Client, Send
from tests.vendors.asmx_dataset.server import (
    ACTION,
    LOGIN_ERROR,
    OPERATION,
    PASSWORD,
    REFUSAL,
    SERVICE_PATH,
    TNS,
    USER,
)

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 100
UTF16_DECLARATION = '<?xml version="1.0" encoding="utf-16"?>'
SAFE = etree.XMLParser(**PARSER_OPTIONS)  # the product's safe parsing
# the embedded text declares utf-16 (its StringWriter's): read as what it is now, UTF-8 text
EMBEDDED = etree.XMLParser(encoding="utf-8", **PARSER_OPTIONS)
# the WSDL is one document: strict schema reading, no DTD, no entities, nothing imported
STRICT = zeep.Settings(
    strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True
)


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorProcess]:
    with harness.start_server("asmx_dataset") as running:
        yield running


def stats(server: SimulatorProcess) -> dict[str, Any]:
    return harness.control(server.url, "stats")


def xac_thuc(user: str = USER, password: str = PASSWORD, xmlns: str = f'xmlns="{TNS}"') -> str:
    return f"<XacThuc {xmlns}><TenDangNhap>{user}</TenDangNhap><MatKhau>{password}</MatKhau></XacThuc>"


def call_body(
    start: str = "01/01/2025 00:00:00",
    end: str = "01/01/2026 00:00:00",
    page: int | str = 1,
    size: int | str = PAGE_SIZE,
) -> str:
    return (
        f'<{OPERATION} xmlns="{TNS}"><tuNgay>{start}</tuNgay><denNgay>{end}</denNgay>'
        f"<trang>{page}</trang><soDong>{size}</soDong></{OPERATION}>"
    )


def envelope(body: str | None = None, header: str | None = None, version: str = SOAP11) -> bytes:
    return asmx.envelope(
        call_body() if body is None else body, xac_thuc() if header is None else header, version
    )


CLIENT = Client(SERVICE_PATH, ACTION)
post, post12 = CLIENT.post, CLIENT.post12


def result_text(resp: requests.Response) -> str:
    """LayDanhSachHoSoResult's text: the DataSet's XML as a string."""
    node = etree.fromstring(resp.content, SAFE).find(f".//{{{TNS}}}{OPERATION}Result")
    assert node is not None and node.text, resp.text
    return node.text


def dataset(text: str) -> etree._Element:
    """The DataSet document written in the result (<NewDataSet>)."""
    assert text.startswith(UTF16_DECLARATION + "\n")  # CR LF as sent; the envelope's parser reads it as LF
    return etree.fromstring(text.encode("utf-8"), EMBEDDED)


def fault(resp: requests.Response) -> tuple[str, str]:
    """(faultcode, faultstring) of a SOAP 1.1 Fault answer."""
    node = etree.fromstring(resp.content, SAFE).find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    assert node is not None, resp.text
    return node.findtext("faultcode"), node.findtext("faultstring")


def read_all(server: SimulatorProcess) -> list[etree._Element]:
    """Every page of the whole window until an empty one, hand-written envelopes: the <NewDataSet> documents."""
    pages = []
    while True:
        resp = post(server, envelope(call_body(page=len(pages) + 1)))
        assert resp.status_code == 200 and resp.headers["Content-Type"] == XML, resp.text
        page = dataset(result_text(resp))
        if not page.findall("HoSo"):
            assert page.findtext("PhanTrang/TongSoBanGhi") == str(harness.COUNT)  # past the end: the total
            return pages
        pages.append(page)


@pytest.fixture(scope="module")
def reading(server: SimulatorProcess) -> tuple[list[etree._Element], int]:
    """The pages of a whole read, and how many requests the server refused during it."""
    before = stats(server)["refused"]
    pages = read_all(server)
    return pages, stats(server)["refused"] - before


@pytest.fixture(scope="module")
def pages(reading: tuple[list[etree._Element], int]) -> list[etree._Element]:
    return reading[0]


def dossiers(pages: list[etree._Element]) -> list[etree._Element]:
    return [d for page in pages for d in page.findall("HoSo")]


# --- the happy path ------------------------------------------------------------------------------------------
def test_the_credentials_in_the_header_page_through_every_truth_dossier(
    server: SimulatorProcess, reading: tuple[list[etree._Element], int]
) -> None:
    pages, refused = reading
    items = harness.control(server.url, "truth")
    served = dossiers(pages)
    assert [len(p.findall("HoSo")) for p in pages] == [100, 100, 50] and len(items) == harness.COUNT
    assert [p.findtext("PhanTrang/TongSoBanGhi") for p in pages] == [str(harness.COUNT)] * 3
    assert [p.findtext("PhanTrang/Trang") for p in pages] == ["1", "2", "3"]
    assert sorted(d.findtext("HoSoID") for d in served) == sorted(i["source_record_id"] for i in items)
    updated = [d.findtext("NgayCapNhat") for d in served]
    assert updated == sorted(updated)
    assert all(
        u.endswith("+07:00") for u in updated
    )  # a DataSet's DateTime: local time and the server's offset
    assert refused == 0


def test_the_result_is_the_datasets_xml_escaped_as_text_in_a_utf8_envelope(server: SimulatorProcess) -> None:
    resp = post(server, envelope(call_body(size=1)))
    assert resp.status_code == 200 and resp.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    # escaped markup (no CDATA, quotes as they are), the StringWriter's utf-16 declaration, CR LF, two-space indents
    assert (
        b'<LayDanhSachHoSoResult>&lt;?xml version="1.0" encoding="utf-16"?&gt;\r\n&lt;NewDataSet&gt;\r\n'
        b"  &lt;HoSo&gt;\r\n    &lt;HoSoID&gt;" in resp.content
    )
    assert b"<![CDATA[" not in resp.content and "Hải Dương".encode() in resp.content  # UTF-8, not escaped
    root = dataset(result_text(resp))
    row = root.find("HoSo")
    assert [child.tag for child in root] == ["HoSo", "PhanTrang"]
    history = row.findall("QuaTrinhXuLy")  # nested child rows, each repeating the foreign key
    assert history and all(h.findtext("HoSoID") == row.findtext("HoSoID") for h in history)
    assert [h.findtext("STT") for h in history] == [str(i) for i in range(1, len(history) + 1)]
    with pytest.raises(ValueError, match="encoding declaration"):  # the declaration is no longer true
        etree.fromstring(result_text(resp), SAFE)


def test_every_served_dossier_maps_to_the_truth(
    server: SimulatorProcess, pages: list[etree._Element]
) -> None:
    result = harness.served_against_truth(
        server.url, HERE / "vn_dataset.yaml", "vendor_asmx_dataset", dossiers(pages)
    )
    assert not result.missing and result.fields > 250 * 30
    assert result.mismatches == []


# --- zeep: the WSDL is ASMX's, both ports answer ---------------------------------------------------------------
def test_the_wsdl_is_asmxs_two_ports_document_literal_with_a_string_result(server: SimulatorProcess) -> None:
    client = zeep.Client(f"{server.url}{SERVICE_PATH}?WSDL", settings=STRICT)
    ports = client.wsdl.services["DichVuHoSo"].ports
    assert list(ports) == ["DichVuHoSoSoap", "DichVuHoSoSoap12"]
    assert {p.binding_options["address"] for p in ports.values()} == {f"{server.url}{SERVICE_PATH}"}
    for port in ports.values():
        operation = port.binding.get(OPERATION)
        assert operation.soapaction == ACTION and operation.style == "document"
        header = operation.input.header.type.elements  # the binding's soap:header: the SoapHeader member
        assert [(part, el.qname.text) for part, el in header] == [("ThongTinXacThuc", f"{{{TNS}}}XacThuc")]
        assert "tuNgay: xsd:string, denNgay: xsd:string, trang: xsd:int, soDong: xsd:int" in (
            operation.input.signature(as_output=False)
        )
    result = client.get_element(f"{{{TNS}}}{OPERATION}Response").type.elements[0][1]
    assert result.name == f"{OPERATION}Result" and result.type.name == "string"
    assert client.get_element(f"{{{TNS}}}XacThuc")  # the SoapHeader class, declared as an element
    assert requests.get(f"{server.url}{SERVICE_PATH}?wsdl", timeout=10).status_code == 200  # ASMX: any case


@pytest.mark.parametrize(("port", "media"), [("DichVuHoSoSoap", XML), ("DichVuHoSoSoap12", SOAP12_XML)])
def test_zeep_builds_requests_from_the_wsdl_that_both_ports_answer(
    server: SimulatorProcess, port: str, media: str
) -> None:
    client = zeep.Client(f"{server.url}{SERVICE_PATH}?WSDL", settings=STRICT)
    service = client.bind("DichVuHoSo", port)
    binding = service._binding
    header = client.get_element(f"{{{TNS}}}XacThuc")(TenDangNhap=USER, MatKhau=PASSWORD)
    arguments = {"tuNgay": "01/01/2025 00:00:00", "denNgay": "01/01/2026 00:00:00", "trang": 2, "soDong": 60}
    message = client.create_message(service, OPERATION, **arguments, _soapheaders=[header])
    soap = SOAP11 if port == "DichVuHoSoSoap" else SOAP12
    assert message.tag == f"{{{soap}}}Envelope"
    before = stats(server)["refused"]

    send = post if soap == SOAP11 else post12
    answer = send(server, etree.tostring(message))
    assert answer.status_code == 200 and answer.headers["Content-Type"] == media
    text = binding.process_reply(client, binding.get(OPERATION), answer)  # zeep reads it by the schema: a str
    assert isinstance(text, str) and text.startswith(UTF16_DECLARATION)
    page = dataset(text)
    assert len(page.findall("HoSo")) == 60 and page.findtext("PhanTrang/TongSoBanGhi") == str(harness.COUNT)

    wrong = client.get_element(f"{{{TNS}}}XacThuc")(TenDangNhap=USER, MatKhau="sai-mat-khau-0000")
    message = client.create_message(service, OPERATION, **arguments, _soapheaders=[wrong])
    text = binding.process_reply(client, binding.get(OPERATION), send(server, etree.tostring(message)))
    assert dataset(text).findtext("Loi/ThongBao") == REFUSAL  # no Fault: zeep hands the string over
    assert stats(server)["refused"] == before + 1


# --- refusals ------------------------------------------------------------------------------------------------
WRONG_CREDENTIALS: dict[str, Callable[[SimulatorProcess], requests.Response]] = {
    "wrong password": lambda s: post(s, envelope(header=xac_thuc(password="sai-mat-khau-0000"))),
    "wrong user": lambda s: post(s, envelope(header=xac_thuc(user="lienthong_namsach"))),
    "password in another case": lambda s: post(s, envelope(header=xac_thuc(password=PASSWORD.lower()))),
    "no XacThuc header": lambda s: post(s, envelope(header="")),
    "unqualified TenDangNhap/MatKhau": lambda s: post(
        s,
        envelope(
            header=f'<x:XacThuc xmlns:x="{TNS}"><TenDangNhap>{USER}</TenDangNhap>'
            f"<MatKhau>{PASSWORD}</MatKhau></x:XacThuc>"
        ),
    ),
    "credentials in the body": lambda s: post(
        s, envelope(call_body().replace("</LayDanhSachHoSo>", f"{xac_thuc()}</LayDanhSachHoSo>"), header="")
    ),
    "SOAP 1.2, wrong password": lambda s: post12(
        s, envelope(header=xac_thuc(password="sai-mat-khau-0000"), version=SOAP12)
    ),
    "wrong password and a bad window": lambda s: post(
        s, envelope(call_body(start="2025-01-01"), xac_thuc(password="x"))
    ),
}


@pytest.mark.parametrize("case", list(WRONG_CREDENTIALS))
def test_wrong_or_missing_credentials_answer_the_loi_row_not_a_fault(
    server: SimulatorProcess, case: str
) -> None:
    before = stats(server)["refused"]
    resp = WRONG_CREDENTIALS[case](server)
    assert resp.status_code == 200, resp.text
    assert b"Fault" not in resp.content
    root = dataset(result_text(resp))
    assert [child.tag for child in root] == ["Loi"]
    assert (root.findtext("Loi/Ma"), root.findtext("Loi/ThongBao")) == (LOGIN_ERROR, REFUSAL)
    assert stats(server)["refused"] == before + 1
    assert stats(server)["refusals"][-1]["reason"] == LOGIN_ERROR


def body(text: str, header: str | None = None) -> Send:
    return lambda server: post(server, envelope(text, header))


MALFORMED: dict[str, asmx.Refusal] = {
    **asmx.host_refusals(CLIENT, OPERATION, envelope, b"tuNgay=01/01/2025&trang=1"),
    "wrong SOAPAction": (
        lambda s: post(s, envelope(), action=f"{TNS}IDichVuHoSo/{OPERATION}"),
        500,
        ("soap:Client", f"không nhận ra giá trị của tiêu đề HTTP SOAPAction: {TNS}IDichVuHoSo/{OPERATION}."),
    ),
    "another operation's body": (
        body(call_body().replace(OPERATION, "GetDossiers")),
        500,
        ("soap:Client", "&lt;GetDossiers xmlns='http://tempuri.org/'&gt; không được mong đợi."),
    ),
    "trang not an int": (
        body(call_body(page="trang-2")),
        500,
        ("soap:Client", "Chuỗi nhập vào không đúng định dạng."),
    ),
    "no tuNgay": (
        body(call_body().replace("<tuNgay>01/01/2025 00:00:00</tuNgay>", "")),
        500,
        ("soap:Client", "Thiếu tham số bắt buộc: tuNgay"),
    ),
    "unqualified denNgay": (
        body(call_body().replace("<denNgay>", '<denNgay xmlns="">')),
        500,
        ("soap:Client", "Thiếu tham số bắt buộc: denNgay"),
    ),
    "ISO date": (
        body(call_body(start="2025-01-01T00:00:00")),
        500,
        ("soap:Client", "Giá trị tuNgay '2025-01-01T00:00:00' không đúng định dạng dd/MM/yyyy HH:mm:ss"),
    ),
    "date without seconds": (
        body(call_body(end="01/01/2026 00:00")),
        500,
        ("soap:Client", "không đúng định dạng dd/MM/yyyy HH:mm:ss"),
    ),
    "impossible date": (
        body(call_body(start="31/02/2025 00:00:00")),
        500,
        ("soap:Client", "Giá trị tuNgay '31/02/2025 00:00:00' không phải ngày giờ hợp lệ"),
    ),
    "window backwards": (
        body(call_body(start="01/03/2025 00:00:00", end="01/01/2025 00:00:00")),
        500,
        ("soap:Client", "tuNgay phải nhỏ hơn denNgay"),
    ),
    "page 0": (body(call_body(page=0)), 500, ("soap:Client", "Tham số trang phải lớn hơn hoặc bằng 1")),
    "no trang": (
        body(call_body().replace("<trang>1</trang>", "")),
        500,
        ("soap:Client", "Tham số trang phải lớn hơn hoặc bằng 1"),
    ),
    "page size over the max": (
        body(call_body(size=500)),
        500,
        ("soap:Client", "Tham số soDong phải từ 1 đến 100"),
    ),
    "mustUnderstand header": (
        body(call_body(), xac_thuc() + '<t:Trace xmlns:t="urn:trace" soap:mustUnderstand="1">1</t:Trace>'),
        500,
        ("soap:MustUnderstand", "Tiêu đề SOAP Trace không được hiểu."),
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_request_is_refused_and_counted(server: SimulatorProcess, case: str) -> None:
    send, status, words = MALFORMED[case]
    harness.refused_once(server.url, lambda: send(server), status, words)


def test_a_fault_is_asmxs_soap_client_fault_in_vietnamese(server: SimulatorProcess) -> None:
    resp = post(server, envelope(call_body(size=101)))
    assert resp.status_code == 500 and resp.headers["Content-Type"] == XML
    assert fault(resp) == ("soap:Client", "Tham số soDong phải từ 1 đến 100")
    resp12 = post12(server, envelope(call_body(size=101), version=SOAP12))
    assert resp12.status_code == 500 and resp12.headers["Content-Type"] == SOAP12_XML
    text = etree.fromstring(resp12.content, SAFE).find(f".//{{{SOAP12}}}Reason/{{{SOAP12}}}Text")
    assert text.text == "Tham số soDong phải từ 1 đến 100"
    assert text.get("{http://www.w3.org/XML/1998/namespace}lang") == "vi"


def test_the_connection_holds_the_vendors_account() -> None:
    connection = json.loads((HERE / "connection.json").read_text(encoding="utf-8"))
    assert (connection["host"], connection["login"], connection["password"]) == ("{url}", USER, PASSWORD)


# --- the product: credentials in every call's header, the DataSet read as an embedded document ----------------
@pytest.mark.parametrize(("port", "soap"), [(None, SOAP11), ("DichVuHoSoSoap12", SOAP12)])
def test_a_sync_sends_the_credentials_with_every_call_and_reads_the_embedded_dataset(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, port: str | None, soap: str
) -> None:
    with harness.started("asmx_dataset", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        if port is not None:  # the entry as written, on the other port ASMX publishes
            registry = vendor.work / "sources.yaml"
            text = registry.read_text(encoding="utf-8")
            line = f"operation: {OPERATION}\n"
            indent = text.split(line, 1)[0].rsplit("\n", 1)[1]
            registry.write_text(text.replace(line, f"{line}{indent}port: {port}\n"), encoding="utf-8")
        counts = pipeline.sync(vendor.source)
        seen = vendor.stats()
    assert counts.loaded == harness.COUNT and counts.quarantined == 0 and seen["refused"] == 0
    wsdl = [r for r in seen["requests"] if r["method"] == "GET"]
    assert [(r["path"], r["query"]) for r in wsdl] == [(SERVICE_PATH, {"WSDL": ""})]  # read once
    calls = [r for r in seen["requests"] if r["method"] == "POST"]
    sent = []
    for call in calls:
        assert call["path"] == SERVICE_PATH
        if soap == SOAP11:  # the first port
            assert call["headers"]["Content-Type"].startswith("text/xml")
            assert call["headers"]["SOAPAction"] == f'"{ACTION}"'
        else:
            assert call["headers"]["Content-Type"] == f'{SOAP12_XML}; action="{ACTION}"'
        root = etree.fromstring(call["body"].encode(), SAFE)
        auth = root.find(f"{{{soap}}}Header/{{{TNS}}}XacThuc")
        assert (auth.findtext(f"{{{TNS}}}TenDangNhap"), auth.findtext(f"{{{TNS}}}MatKhau")) == (
            USER,
            PASSWORD,
        )
        request = root.find(f"{{{soap}}}Body/{{{TNS}}}{OPERATION}")
        sent.append(tuple(request.findtext(f"{{{TNS}}}{n}") for n in ("tuNgay", "trang", "soDong")))
    assert sent == [
        ("01/01/2025 00:00:00", str(p), str(PAGE_SIZE)) for p in (1, 2, 3)
    ]  # total_count: 3 pages


def test_a_preview_masks_the_password_every_envelope_carries(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("asmx_dataset", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        result = CliRunner().invoke(app, ["source", "preview", vendor.source, "--json", "--since", "1000d"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert PASSWORD not in result.stdout
    shown = json.loads(result.stdout)
    assert shown["error"] is None and shown["problems"] == [] and shown["would_quarantine"] == {}
    assert shown["records_per_page"][0] == PAGE_SIZE
    page = next(r for r in shown["requests"] if r["method"] == "POST")
    assert "MatKhau>***</" in page["body"]
