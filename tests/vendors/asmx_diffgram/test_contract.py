"""The ASMX Service of Huyện Thanh Hà holds its contract (see server.py): zeep reads its WSDL (a DataSet result:
s:schema + s:any; a SOAP 1.1 and a SOAP 1.2 port), writes requests both ports answer, and reads the typed DataSet
by the inline schema it carries; the raw answer element is that schema followed by a diffgram whose stored
procedure's result sets are sibling tables (Table the dossiers; Table1, Table2, Table3 their steps, fees and
documents, each row naming its dossier by HoSoID; Table4 the total), rows marked with diffgr:id and
msdata:rowOrder, a DBNull column left out; hand-written envelopes page through every truth dossier; joined by
HoSoID (here, independently of the product), what it serves maps to the truth through vn_diffgram.yaml; wrong or
missing credentials are a soap:Client Fault saying DANG_NHAP, and what a connector could get wrong is refused in
the vendor's own words; every refusal is counted. Then the product: the source's `records.nest` joins the sibling
tables as this test does, a sync sends the account and the window as the WSDL's parameters, and a preview masks
the password that every request carries."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
import yaml
import zeep
from lxml import etree
from typer.testing import CliRunner

from connectors.connection import Connection
from connectors.factory import open_source
from connectors.safexml import PARSER_OPTIONS
from mappings import element_to_dict
from onestop import pipeline, registry
from onestop.cli import app
from onestop.simulators.process import SimulatorProcess
from schemas.dossier import HCM
from tests.vendors import asmx, harness
from tests.vendors.asmx import SOAP11, SOAP12, SOAP12_XML, XML, XSD, Client, Send
from tests.vendors.asmx_diffgram.server import (
    ACTION,
    DIFFGR,
    LOGIN_ERROR,
    MSDATA,
    OPERATION,
    PARAMETER_ERROR,
    PASSWORD,
    REFUSAL,
    SERVICE_PATH,
    TABLES,
    TNS,
    USER,
)

HERE = Path(__file__).resolve().parent
SOURCE = "vendor_asmx_diffgram"
PAGE_SIZE = 80  # the registry entry's
CHILDREN = {"Table1": "QuaTrinh", "Table2": "LePhi", "Table3": "GiayTo"}  # sibling table -> the mapping's key
SAFE = etree.XMLParser(**PARSER_OPTIONS)  # the product's safe parsing
# the WSDL is one document: strict schema reading, no DTD, no entities, nothing imported
STRICT = zeep.Settings(
    strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True
)


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorProcess]:
    with harness.start_server("asmx_diffgram") as running:
        yield running


def stats(server: SimulatorProcess) -> dict[str, Any]:
    return harness.control(server.url, "stats")


def call_body(
    start: str = "2025-01-01T00:00:00",
    end: str = "2026-01-01T00:00:00",
    page: int | str = 1,
    size: int | str = PAGE_SIZE,
    user: str = USER,
    password: str = PASSWORD,
) -> str:
    return (
        f'<{OPERATION} xmlns="{TNS}"><tenDangNhap>{user}</tenDangNhap><matKhau>{password}</matKhau>'
        f"<tuNgay>{start}</tuNgay><denNgay>{end}</denNgay><trang>{page}</trang><soBanGhi>{size}</soBanGhi>"
        f"</{OPERATION}>"
    )


def envelope(body: str | None = None, header: str = "", version: str = SOAP11) -> bytes:
    return asmx.envelope(call_body() if body is None else body, header, version)


CLIENT = Client(SERVICE_PATH, ACTION)
post, post12 = CLIENT.post, CLIENT.post12


def result(resp: requests.Response) -> etree._Element:
    """GetHoSoResult: the DataSet as ASMX writes one (its schema, then its diffgram)."""
    node = etree.fromstring(resp.content, SAFE).find(f".//{{{TNS}}}{OPERATION}Result")
    assert node is not None, resp.text
    return node


def dataset(resp: requests.Response) -> etree._Element:
    """The diffgram's <NewDataSet> (unqualified: xmlns="")."""
    node = result(resp).find(f"{{{DIFFGR}}}diffgram/NewDataSet")
    assert node is not None, resp.text
    return node


def fault(resp: requests.Response) -> tuple[str, str, str | None]:
    """(faultcode, faultstring, the detail's MaLoi) of a SOAP 1.1 Fault answer."""
    node = etree.fromstring(resp.content, SAFE).find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    assert node is not None, resp.text
    return node.findtext("faultcode"), node.findtext("faultstring"), node.findtext(f"detail//{{{TNS}}}MaLoi")


def joined(page: etree._Element) -> list[etree._Element]:
    """Each <Table> dossier with its sibling rows (same HoSoID) appended as QuaTrinh / LePhi / GiayTo: the join
    a reader of this DataSet must make, written here without the product."""
    out = []
    for dossier in page.findall("Table"):
        whole = copy.deepcopy(dossier)
        for table, into in CHILDREN.items():
            for child in page.findall(table):
                if child.findtext("HoSoID") == dossier.findtext("HoSoID"):
                    nested = copy.deepcopy(child)
                    nested.tag = into
                    whole.append(nested)
        out.append(whole)
    return out


def read_all(server: SimulatorProcess) -> list[etree._Element]:
    """Every page of the whole window until an empty one, hand-written envelopes: the <NewDataSet> elements."""
    pages = []
    while True:
        resp = post(server, envelope(call_body(page=len(pages) + 1)))
        assert resp.status_code == 200 and resp.headers["Content-Type"] == XML, resp.text
        page = dataset(resp)
        if page.find("Table") is None:
            assert [child.tag for child in page] == ["Table4"]  # past the end: the total alone
            assert page.findtext("Table4/TongSoBanGhi") == str(harness.COUNT)
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


def entry() -> dict[str, Any]:
    return yaml.safe_load((HERE / "source.yaml").read_text(encoding="utf-8"))[0]


# --- the happy path ------------------------------------------------------------------------------------------
def test_the_account_in_the_parameters_pages_through_every_truth_dossier(
    server: SimulatorProcess, reading: tuple[list[etree._Element], int]
) -> None:
    pages, refused = reading
    items = harness.control(server.url, "truth")
    served = [d for page in pages for d in page.findall("Table")]
    assert [len(p.findall("Table")) for p in pages] == [80, 80, 80, 10] and len(items) == harness.COUNT
    assert [len(p.findall("Table4")) for p in pages] == [1] * 4  # a one-row result set: the total
    assert [p.findtext("Table4/TongSoBanGhi") for p in pages] == [str(harness.COUNT)] * 4
    assert [p.findtext("Table4/Trang") for p in pages] == ["1", "2", "3", "4"]
    assert sorted(d.findtext("HoSoID") for d in served) == sorted(i["source_record_id"] for i in items)
    updated = [d.findtext("NgayCapNhat") for d in served]
    assert updated == sorted(updated) and all(u.endswith("+07:00") for u in updated)
    assert refused == 0


def test_the_answer_is_a_typed_dataset_schema_then_diffgram_with_sibling_tables(
    server: SimulatorProcess, pages: list[etree._Element]
) -> None:
    resp = post(server, envelope())
    assert resp.status_code == 200 and resp.headers["Content-Type"] == XML
    answer = result(resp)
    assert [child.tag for child in answer] == [f"{{{XSD}}}schema", f"{{{DIFFGR}}}diffgram"]
    schema = answer[0]
    assert schema.get("id") == "NewDataSet"
    declared = schema.find(f"{{{XSD}}}element[@name='NewDataSet']")
    assert declared.get(f"{{{MSDATA}}}IsDataSet") == "true"
    columns = {
        table.get("name"): [c.get("name") for c in table.iterfind(f".//{{{XSD}}}sequence/{{{XSD}}}element")]
        for table in declared.iterfind(f"{{{XSD}}}complexType/{{{XSD}}}choice/{{{XSD}}}element")
    }
    assert columns == {name: [c for c, _ in cols] for name, cols in TABLES}
    for page in pages:
        tags = [child.tag for child in page]
        # the result sets one after another, never nested: Table*, Table1*, Table2*, Table3*, Table4
        assert tags == sorted(tags, key=["Table", "Table1", "Table2", "Table3", "Table4"].index)
        dossiers = {d.findtext("HoSoID") for d in page.findall("Table")}
        for table in ("Table", *CHILDREN, "Table4"):
            rows = page.findall(table)
            assert [r.get(f"{{{DIFFGR}}}id") for r in rows] == [
                f"{table}{n}" for n in range(1, len(rows) + 1)
            ]
            assert [r.get(f"{{{MSDATA}}}rowOrder") for r in rows] == [str(n) for n in range(len(rows))]
            for r in rows:  # flat columns in the schema's order, a DBNull one left out, never written empty
                names = [c.tag for c in r]
                assert all(len(c) == 0 and c.text for c in r)
                assert names == [c for c in columns[table] if c in names]
        for table in CHILDREN:
            keys = [r.findtext("HoSoID") for r in page.findall(table)]  # ORDER BY HoSoID, not Table's order
            assert set(keys) <= dossiers and keys == sorted(keys, key=int)
        steps = [(int(s.findtext("HoSoID")), int(s.findtext("ThuTu"))) for s in page.findall("Table1")]
        assert steps == sorted(steps)
    every = [d for page in pages for d in page.findall("Table")]
    assert any(d.find("NgayNop") is None for d in every) and any(d.find("NgayNop") is not None for d in every)
    assert any(d.find("LoaiGiayTo") is None and d.find("NgaySinh") is None for d in every)  # organizations
    fees = [p.findall(f"Table2[HoSoID='{d.findtext('HoSoID')}']") for p in pages for d in p.findall("Table")]
    assert {len(f) for f in fees} == {0, 1, 2}  # a dossier with no fee, one, two: none, a dict, a list


def test_every_served_dossier_joined_by_hosoid_maps_to_the_truth(
    server: SimulatorProcess, pages: list[etree._Element]
) -> None:
    elements = [d for page in pages for d in joined(page)]
    result = harness.served_against_truth(server.url, HERE / "vn_diffgram.yaml", SOURCE, elements)
    assert not result.missing and result.fields > 250 * 30
    assert result.mismatches == []


def test_a_window_is_read_as_xmlconvert_reads_a_datetime(server: SimulatorProcess) -> None:
    def total(start: str) -> str:
        resp = post(server, envelope(call_body(start=start, size=1)))
        assert resp.status_code == 200, resp.text
        return dataset(resp).findtext("Table4/TongSoBanGhi")

    # zone-less is the server's local time; a zone is converted to it; a date alone is its midnight
    same = {total(s) for s in ("2025-03-01T00:00:00", "2025-03-01T00:00:00+07:00", "2025-02-28T17:00:00Z")}
    assert len(same) == 1 and same == {total("2025-03-01")}
    # from a dossier's own update time: zone-less it is in the window, the same wall time in UTC is 7 h later
    first = min(harness.control(server.url, "truth"), key=lambda i: i["source_updated_at"])
    wall = datetime.fromisoformat(first["source_updated_at"]).astimezone(HCM).strftime("%Y-%m-%dT%H:%M:%S")
    assert total(wall) == str(harness.COUNT) and int(total(f"{wall}Z")) < harness.COUNT


# --- zeep: the WSDL is ASMX's for a DataSet, both ports answer -----------------------------------------------
def test_the_wsdl_is_asmxs_dataset_result_schema_then_any(server: SimulatorProcess) -> None:
    resp = requests.get(f"{server.url}{SERVICE_PATH}?WSDL", timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == XML
    wsdl = etree.fromstring(resp.content, SAFE)
    types = wsdl.find("{http://schemas.xmlsoap.org/wsdl/}types/{http://www.w3.org/2001/XMLSchema}schema")
    assert types.find(f"{{{XSD}}}import").get("namespace") == XSD
    answer = types.find(f".//{{{XSD}}}element[@name='{OPERATION}Result']")
    sequence = answer.find(f"{{{XSD}}}complexType/{{{XSD}}}sequence")
    assert [(etree.QName(c).localname, c.get("ref")) for c in sequence] == [
        ("element", "s:schema"),
        ("any", None),
    ]
    ports = wsdl.findall(".//{http://schemas.xmlsoap.org/wsdl/}port")
    assert [p.get("name") for p in ports] == ["ServiceSoap", "ServiceSoap12"]
    assert all(p[0].get("location") == f"{server.url}{SERVICE_PATH}" for p in ports)


@pytest.mark.parametrize(("port", "media"), [("ServiceSoap", XML), ("ServiceSoap12", SOAP12_XML)])
def test_zeep_builds_requests_from_the_wsdl_that_both_ports_answer(
    server: SimulatorProcess, port: str, media: str
) -> None:
    client = zeep.Client(f"{server.url}{SERVICE_PATH}?WSDL", settings=STRICT)
    service = client.bind("Service", port)
    binding = service._binding
    arguments = {
        "tuNgay": "2025-01-01T00:00:00",
        "denNgay": "2026-01-01T00:00:00",
        "trang": 2,
        "soBanGhi": 60,
    }
    message = client.create_message(service, OPERATION, tenDangNhap=USER, matKhau=PASSWORD, **arguments)
    soap = SOAP11 if port == "ServiceSoap" else SOAP12
    assert message.tag == f"{{{soap}}}Envelope"
    before = stats(server)["refused"]

    send = post if soap == SOAP11 else post12
    answer = send(server, etree.tostring(message))
    assert answer.status_code == 200 and answer.headers["Content-Type"] == media
    # zeep reads the DataSet by the schema it carries: typed rows, the result sets in order
    reply = binding.process_reply(client, binding.get(OPERATION), answer)
    assert reply.schema is not None
    rows = reply._value_1["_value_1"]
    tables = [next(iter(r)) for r in rows]
    assert tables == sorted(tables, key=["Table", "Table1", "Table2", "Table3", "Table4"].index)
    assert tables.count("Table") == 60 and rows[-1]["Table4"]["TongSoBanGhi"] == harness.COUNT
    first = rows[0]["Table"]
    assert isinstance(first["HoSoID"], int) and isinstance(first["NgayCapNhat"], datetime)

    message = client.create_message(
        service, OPERATION, tenDangNhap=USER, matKhau="sai-mat-khau-0000", **arguments
    )
    with pytest.raises(zeep.exceptions.Fault) as refused:
        binding.process_reply(client, binding.get(OPERATION), send(server, etree.tostring(message)))
    assert refused.value.message == REFUSAL
    assert refused.value.code == ("soap:Client" if soap == SOAP11 else "soap:Sender")
    assert refused.value.detail.findtext(f".//{{{TNS}}}MaLoi") == LOGIN_ERROR
    assert stats(server)["refused"] == before + 1


# --- refusals ------------------------------------------------------------------------------------------------
WRONG_CREDENTIALS: dict[str, Send] = {
    "wrong password": lambda s: post(s, envelope(call_body(password="sai-mat-khau-0000"))),
    "wrong user": lambda s: post(s, envelope(call_body(user="lienthong_namsach"))),
    "password in another case": lambda s: post(s, envelope(call_body(password=PASSWORD.lower()))),
    "no account": lambda s: post(
        s,
        envelope(call_body().replace(f"<tenDangNhap>{USER}</tenDangNhap><matKhau>{PASSWORD}</matKhau>", "")),
    ),
    "unqualified matKhau": lambda s: post(
        s, envelope(call_body().replace("<matKhau>", '<matKhau xmlns="">'))
    ),
    "the account in a SOAP header": lambda s: post(
        s,
        envelope(
            call_body(user="", password=""),
            header=f'<XacThuc xmlns="{TNS}"><tenDangNhap>{USER}</tenDangNhap><matKhau>{PASSWORD}</matKhau></XacThuc>',
        ),
    ),
    "wrong password and a bad window": lambda s: post(
        s, envelope(call_body(start="2026-01-01T00:00:00", password="x"))
    ),
}


@pytest.mark.parametrize("case", list(WRONG_CREDENTIALS))
def test_wrong_or_missing_credentials_are_a_client_fault_saying_dang_nhap(
    server: SimulatorProcess, case: str
) -> None:
    before = stats(server)["refused"]
    resp = WRONG_CREDENTIALS[case](server)
    assert resp.status_code == 500 and resp.headers["Content-Type"] == XML, resp.text
    assert fault(resp) == ("soap:Client", REFUSAL, LOGIN_ERROR)
    assert b"diffgram" not in resp.content
    assert stats(server)["refused"] == before + 1
    assert stats(server)["refusals"][-1]["reason"] == LOGIN_ERROR


def body(text: str, header: str = "") -> Send:
    return lambda server: post(server, envelope(text, header))


MALFORMED: dict[str, asmx.Refusal] = {
    **asmx.host_refusals(CLIENT, OPERATION, envelope, b"tuNgay=2025-01-01&trang=1"),
    "tempuri's SOAPAction": (
        lambda s: post(s, envelope(), action=f"http://tempuri.org/{OPERATION}"),
        500,
        (
            "soap:Client",
            f"không nhận ra giá trị của tiêu đề HTTP SOAPAction: http://tempuri.org/{OPERATION}.",
        ),
    ),
    "another operation's body": (
        body(call_body().replace(OPERATION, "LayDanhSachHoSo")),
        500,
        ("soap:Client", f"&lt;LayDanhSachHoSo xmlns='{TNS}'&gt; không được mong đợi."),
    ),
    "trang not an int": (
        body(call_body(page="trang-2")),
        500,
        ("soap:Client", "Chuỗi nhập vào không đúng định dạng."),
    ),
    "a Vietnamese date": (
        body(call_body(start="01/01/2025 00:00:00")),
        500,
        ("soap:Client", "Chuỗi '01/01/2025 00:00:00' không phải là giá trị AllXsd hợp lệ."),
    ),
    "impossible date": (
        body(call_body(end="2025-02-31T00:00:00")),
        500,
        ("soap:Client", "Chuỗi '2025-02-31T00:00:00' không phải là giá trị AllXsd hợp lệ."),
    ),
    "no tuNgay": (
        body(call_body().replace("<tuNgay>2025-01-01T00:00:00</tuNgay>", "")),
        500,
        ("soap:Client", "Thiếu tham số bắt buộc: tuNgay", f"<MaLoi>{PARAMETER_ERROR}</MaLoi>"),
    ),
    "unqualified denNgay": (
        body(call_body().replace("<denNgay>", '<denNgay xmlns="">')),
        500,
        ("soap:Client", "Thiếu tham số bắt buộc: denNgay"),
    ),
    "window backwards": (
        body(call_body(start="2025-03-01T00:00:00", end="2025-01-01T00:00:00")),
        500,
        ("soap:Client", "tuNgay phải nhỏ hơn denNgay"),
    ),
    "page 0 (base 0)": (
        body(call_body(page=0)),
        500,
        ("soap:Client", "Tham số trang phải lớn hơn hoặc bằng 1"),
    ),
    "no trang": (
        body(call_body().replace("<trang>1</trang>", "")),
        500,
        ("soap:Client", "Tham số trang phải lớn hơn hoặc bằng 1"),
    ),
    "page size over the max": (
        body(call_body(size=500)),
        500,
        ("soap:Client", "Tham số soBanGhi phải từ 1 đến 100"),
    ),
    "mustUnderstand header": (
        body(call_body(), '<t:Trace xmlns:t="urn:trace" soap:mustUnderstand="1">1</t:Trace>'),
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
    assert fault(resp) == ("soap:Client", "Tham số soBanGhi phải từ 1 đến 100", PARAMETER_ERROR)
    resp12 = post12(server, envelope(call_body(size=101), version=SOAP12))
    assert resp12.status_code == 500 and resp12.headers["Content-Type"] == SOAP12_XML
    root = etree.fromstring(resp12.content, SAFE)
    text = root.find(f".//{{{SOAP12}}}Reason/{{{SOAP12}}}Text")
    assert text.text == "Tham số soBanGhi phải từ 1 đến 100"
    assert text.get("{http://www.w3.org/XML/1998/namespace}lang") == "vi"
    assert root.findtext(f".//{{{SOAP12}}}Detail//{{{TNS}}}MaLoi") == PARAMETER_ERROR


def test_the_connection_holds_the_vendors_account() -> None:
    connection = json.loads((HERE / "connection.json").read_text(encoding="utf-8"))
    assert (connection["host"], connection["login"], connection["password"]) == ("{url}", USER, PASSWORD)


# --- the product: records.nest joins the sibling tables; the account and window are the WSDL's parameters -----
def test_the_sources_records_nest_joins_the_sibling_tables_as_the_contract_says(
    server: SimulatorProcess, pages: list[etree._Element]
) -> None:
    """The registry entry read by the product's SoapSource: each <Table> record with its Table1/2/3 rows as
    QuaTrinh/LePhi/GiayTo, exactly the join above (`records` and the nest paths below the answer element)."""
    spec = registry.parse({"sources": [entry()]}).sources[0]
    source = open_source(spec, conn=Connection(spec.conn_id, host=server.url, login=USER, password=PASSWORD))
    window = (datetime(2025, 1, 1, tzinfo=HCM), datetime(2026, 1, 1, tzinfo=HCM))
    read = {raw.record["HoSoID"]: raw.record for chunk in source.pages(*window) for raw in chunk}
    expected = {d.findtext("HoSoID"): element_to_dict(d) for page in pages for d in joined(page)}
    assert len(read) == len(expected) == harness.COUNT
    without = sorted(rid for rid, record in read.items() if "QuaTrinh" not in record)
    assert not without, f"{len(without)} of {len(read)} dossiers read without their Table1 rows (QuaTrinh)"
    assert read == expected


def test_a_sync_sends_the_account_and_window_as_parameters_and_loads_the_truth(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("asmx_diffgram", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        seen, items = vendor.stats(), vendor.truth()
    assert counts.loaded == harness.COUNT and counts.quarantined == 0 and seen["refused"] == 0
    wsdl = [r for r in seen["requests"] if r["method"] == "GET"]
    assert [(r["path"], r["query"]) for r in wsdl] == [(SERVICE_PATH, {"WSDL": ""})]  # read once
    sent = []
    for call in (r for r in seen["requests"] if r["method"] == "POST"):
        assert call["path"] == SERVICE_PATH and call["headers"]["Content-Type"].startswith("text/xml")
        assert call["headers"]["SOAPAction"] == f'"{ACTION}"'
        request = etree.fromstring(call["body"].encode(), SAFE).find(f"{{{SOAP11}}}Body/{{{TNS}}}{OPERATION}")
        names = ("tenDangNhap", "matKhau", "tuNgay", "trang", "soBanGhi")
        sent.append(tuple(request.findtext(f"{{{TNS}}}{n}") for n in names))
    assert sent == [
        (USER, PASSWORD, "2025-01-01T00:00:00", str(p), str(PAGE_SIZE)) for p in (1, 2, 3, 4)
    ]  # total_count: 4 pages
    result = harness.compare(db, vendor.source, items)
    assert result.loaded == harness.COUNT and result.mismatches == []


def test_a_preview_masks_the_password_every_request_carries(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("asmx_diffgram", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        result = CliRunner().invoke(app, ["source", "preview", vendor.source, "--json", "--since", "1000d"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert PASSWORD not in result.stdout
    shown = json.loads(result.stdout)
    assert shown["error"] is None and shown["problems"] == [] and shown["would_quarantine"] == {}
    assert shown["records_per_page"][0] == PAGE_SIZE
    page = next(r for r in shown["requests"] if r["method"] == "POST")
    assert "matKhau>***</" in page["body"]
