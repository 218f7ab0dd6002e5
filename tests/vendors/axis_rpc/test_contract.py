"""The Apache Axis 1.4 HoSoService holds its contract (see server.py): zeep reads its rpc/encoded WSDL (given the
SOAP-encoding schema it imports by namespace alone, as the product's transport gives it) and writes requests the
service answers; the raw answer is Axis's multi-reference encoding (every object a multiRef referenced by href,
xsi:type on every element, UTC Calendars with milliseconds); hand-written envelopes page through every truth
dossier, and every served HoSo maps to the truth through en_axis_rpc.yaml; wrong credentials are the service's
AuthException as a Server.userException; what a connector could get wrong is a fault in Axis's (or the service's)
own words, and counted. Then the product: with sendMultiRefs=false (--inline) the same source.yaml loads the same
truth, and a wrong password fails the run at the first fault, with the vendor's words."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from copy import deepcopy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import requests
import zeep
import zeep.exceptions
from lxml import etree
from typer.testing import CliRunner

from connectors.errors import ConnectorError
from connectors.http import HttpClient
from connectors.safexml import PARSER_OPTIONS
from connectors.soap import FetchedDocuments, zeep_settings
from onestop import pipeline
from onestop.cli import app
from onestop.simulators.process import SimulatorProcess
from schemas.dossier import HCM
from tests.vendors import harness, truth
from tests.vendors.axis_rpc.server import (
    AUTH_EXCEPTION,
    AXIS_NS,
    HOSTNAME,
    MODEL_NS,
    OPERATION,
    PASSWORD,
    REFUSAL,
    SERVICE_NS,
    SERVICE_PATH,
    SOAPENC,
    SOAPENV,
    USER,
    XSI,
)
from tests.vendors.common import updated

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 80  # source.yaml's
SAFE = etree.XMLParser(**PARSER_OPTIONS)  # the product's safe parsing
XSI_TYPE = f"{{{XSI}}}type"
UTC_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
START, END = "2025-01-01T00:00:00+07:00", "2026-01-01T00:00:00+07:00"


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorProcess]:
    with harness.start_server("axis_rpc") as running:
        yield running


def stats(server: SimulatorProcess) -> dict[str, Any]:
    return harness.control(server.url, "stats")


def call_body(
    user: str = USER,
    password: str | None = PASSWORD,
    start: str | None = START,
    end: str | None = END,
    page: Any = 1,
    size: Any = PAGE_SIZE,
    namespace: str = SERVICE_NS,
    operation: str = OPERATION,
) -> str:
    """The rpc/encoded call as a SOAP toolkit writes it: unqualified parameters with their xsi:type (None: nil)."""

    def part(name: str, kind: str, value: Any) -> str:
        if value is None:
            return f'<{name} xsi:type="xsd:{kind}" xsi:nil="true"/>'
        return f'<{name} xsi:type="xsd:{kind}">{value}</{name}>'

    return (
        f'<ns1:{operation} soapenv:encodingStyle="{SOAPENC}" xmlns:ns1="{namespace}">'
        + part("tenDangNhap", "string", user)
        + part("matKhau", "string", password)
        + part("tuNgay", "dateTime", start)
        + part("denNgay", "dateTime", end)
        + part("trang", "int", page)
        + part("soBanGhi", "int", size)
        + f"</ns1:{operation}>"
    )


def envelope(body: str | None = None, namespace: str = SOAPENV) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{namespace}" '
        f'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="{XSI}"><soapenv:Body>'
        f"{call_body() if body is None else body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def post(
    server: SimulatorProcess, data: bytes, action: str | None = '""', path: str = SERVICE_PATH
) -> requests.Response:
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if action is not None:
        headers["SOAPAction"] = action
    return requests.post(f"{server.url}{path}", data=data, headers=headers, timeout=10)


def fault(resp: requests.Response) -> tuple[str, str, str | None]:
    """(faultcode as written, faultstring, the detail's Axis hostname) of a SOAP 1.1 Fault."""
    node = etree.fromstring(resp.content, SAFE).find(f"{{{SOAPENV}}}Body/{{{SOAPENV}}}Fault")
    assert node is not None, resp.text
    return (
        node.findtext("faultcode"),
        node.findtext("faultstring"),
        node.findtext(f"detail/{{{AXIS_NS}}}hostname"),
    )


def resolve(root: etree._Element) -> etree._Element:
    """The answer's return element with every href="#idN" filled with (a copy of) the multiRef it names."""
    body = root.find(f"{{{SOAPENV}}}Body")
    values = {el.get("id"): el for el in body if el.get("id") is not None}

    def fill(el: etree._Element) -> None:
        for child in el:
            href = child.attrib.pop("href", None)
            if href is not None:
                target = values[href.lstrip("#")]
                child.set(XSI_TYPE, target.get(XSI_TYPE))
                child.extend(deepcopy(c) for c in target)
            fill(child)

    fill(body[0])  # <ns1:layDanhSachHoSoResponse><layDanhSachHoSoReturn href="#id0"/>
    return body[0][0]


def zeep_client(server: SimulatorProcess) -> zeep.Client:
    """zeep as the product builds it: the WSDL through our client, the SOAP-encoding schema served locally."""
    where = urlsplit(server.url)
    transport = FetchedDocuments("axis_rpc", HttpClient("axis_rpc", server.url), (where.scheme, where.netloc))
    return zeep.Client(f"{server.url}{SERVICE_PATH}?wsdl", transport=transport, settings=zeep_settings())


def zeep_call(client: zeep.Client, server: SimulatorProcess, **kwargs: Any) -> Any:
    """Build layDanhSachHoSo with zeep, send it with the SOAPAction the binding names, let zeep read the answer
    by the WSDL's schema (multiRefs and soapenc arrays included; a Fault raises zeep.exceptions.Fault)."""
    binding = client.service._binding
    operation = binding.get(OPERATION)
    args = {"tenDangNhap": USER, "matKhau": PASSWORD, "tuNgay": datetime.fromisoformat(START),
            "denNgay": datetime.fromisoformat(END), "trang": 2, "soBanGhi": 60, **kwargs}  # fmt: skip
    message = client.create_message(client.service, OPERATION, **args)
    answer = post(server, etree.tostring(message), action=f'"{operation.soapaction}"')
    return binding.process_reply(client, operation, answer)


# --- the WSDL and zeep -----------------------------------------------------------------------------------------
def test_the_wsdl_is_axis_rpc_encoded_importing_the_soap_encoding_schema_by_namespace(
    server: SimulatorProcess,
) -> None:
    before = stats(server)
    wsdl = requests.get(f"{server.url}{SERVICE_PATH}?wsdl", timeout=10)
    assert wsdl.status_code == 200 and "Apache Axis version: 1.4" in wsdl.text
    doc = etree.fromstring(wsdl.content, SAFE)
    imports = doc.findall(".//{http://www.w3.org/2001/XMLSchema}import")
    assert {(i.get("namespace"), i.get("schemaLocation")) for i in imports} >= {(SOAPENC, None)}
    client = zeep_client(server)
    port = client.wsdl.services["HoSoServiceService"].ports["HoSoService"]
    assert port.binding_options["address"] == f"{server.url}{SERVICE_PATH}"  # the URL it was asked on
    operation = port.binding.get(OPERATION)
    assert (operation.style, operation.soapaction) == ("rpc", "")
    assert operation.input.signature(as_output=False) == (
        "tenDangNhap: xsd:string, matKhau: xsd:string, tuNgay: xsd:dateTime, denNgay: xsd:dateTime, "
        "trang: xsd:int, soBanGhi: xsd:int"
    )
    assert client.get_type(f"{{{SERVICE_NS}}}ArrayOf_tns1_HoSo")  # a soapenc:Array restriction
    after = stats(server)
    wsdl_gets = [r for r in after["requests"][len(before["requests"]) :] if r["method"] == "GET"]
    assert [r["query"] for r in wsdl_gets] == [{"wsdl": ""}] * 2  # ours and zeep's; soapenc is never fetched
    page = requests.get(f"{server.url}{SERVICE_PATH}", timeout=10)
    assert page.status_code == 200 and "Hi there, this is an AXIS service!" in page.text
    assert stats(server)["refused"] == before["refused"]


def test_zeep_builds_requests_the_service_answers_and_reads_its_multirefs(server: SimulatorProcess) -> None:
    client = zeep_client(server)
    before = stats(server)["refused"]
    result = zeep_call(client, server)
    items = requests.get(f"{server.url}/_vendor/truth", timeout=10).json()
    ordered = sorted(items, key=lambda i: (updated(i), int(i["source_record_id"])))
    assert result.tongSo == harness.COUNT and len(result.danhSach) == 60
    assert [str(d.id) for d in result.danhSach] == [i["source_record_id"] for i in ordered[60:120]]
    first, expected = result.danhSach[0], ordered[60]
    assert first.updatedAt == datetime.fromisoformat(expected["source_updated_at"])
    assert first.updatedAt.utcoffset().total_seconds() == 0  # a Calendar in UTC
    assert [d.formCode for d in first.documents] == [d["form_code"] for d in expected["documents"]]
    assert stats(server)["refused"] == before

    with pytest.raises(zeep.exceptions.Fault) as wrong:
        zeep_call(client, server, matKhau="sai-mat-khau-0000")
    assert (wrong.value.code, wrong.value.message) == (
        "soapenv:Server.userException",
        f"{AUTH_EXCEPTION}: {REFUSAL}",
    )
    assert stats(server)["refused"] == before + 1


# --- the raw answer: Axis's multi-reference encoding ------------------------------------------------------------
def test_the_raw_answer_is_axis_multiref_encoding_with_xsi_types_everywhere(server: SimulatorProcess) -> None:
    resp = post(server, envelope(call_body(page=1, size=PAGE_SIZE)))
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/xml;charset=utf-8"
    root = etree.fromstring(resp.content, SAFE)
    body = root.find(f"{{{SOAPENV}}}Body")
    response, *multirefs = list(body)
    assert response.tag == f"{{{SERVICE_NS}}}{OPERATION}Response"
    assert [(c.tag, c.get("href"), len(c)) for c in response] == [(f"{OPERATION}Return", "#id0", 0)]
    assert {m.tag for m in multirefs} == {"multiRef"}
    assert [m.get("id") for m in multirefs] == [f"id{n}" for n in range(len(multirefs))]  # in order of ids
    assert all(m.get(f"{{{SOAPENC}}}root") == "0" and m.get(XSI_TYPE) for m in multirefs)
    kinds = [
        etree.QName(m.nsmap[m.get(XSI_TYPE).split(":")[0]], m.get(XSI_TYPE).split(":")[1]) for m in multirefs
    ]
    assert kinds[0] == etree.QName(MODEL_NS, "KetQuaTraCuu")
    assert sum(k.localname == "HoSo" for k in kinds) == PAGE_SIZE

    references = [el.get("href")[1:] for el in root.iter() if el.get("href") is not None]
    assert set(references) == {m.get("id") for m in multirefs}  # every href resolves, every multiRef is used
    assert all(len(el) == 0 and el.text is None for el in root.iter() if el.get("href") is not None)
    giay_to = {m.get("id") for m, k in zip(multirefs, kinds, strict=True) if k.localname == "GiayTo"}
    assert len(giay_to) < sum(r in giay_to for r in references)  # the catalogue's beans, shared by id

    leaves = [el for m in multirefs for el in m.iter() if el is not m and el.get("href") is None]
    assert leaves and all(el.get(XSI_TYPE) for el in leaves)  # xsi:type on every element
    arrays = [el for el in leaves if el.get(XSI_TYPE) == "soapenc:Array"]
    assert {el.tag for el in arrays} == {"danhSach", "history", "fees", "documents"}
    for array in arrays:
        assert array.get(f"{{{SOAPENC}}}arrayType").endswith(f"[{len(array)}]")
        assert all(item.tag == "item" and item.get("href") for item in array)
    times = [el for el in leaves if el.get(XSI_TYPE) == "xsd:dateTime" and el.get(f"{{{XSI}}}nil") is None]
    assert len(times) > PAGE_SIZE * 4 and all(UTC_MS.match(el.text) for el in times)
    assert any(el.get(f"{{{XSI}}}nil") == "true" for el in leaves)  # a null property is written, as nil


def test_a_time_without_a_zone_is_read_as_utc(server: SimulatorProcess) -> None:
    """Axis's CalendarDeserializer: a window written as local wall time without a zone is off by seven hours."""
    items = requests.get(f"{server.url}/_vendor/truth", timeout=10).json()

    def before(end: datetime) -> int:
        return sum(updated(i) < end for i in items)

    # a local wall time (an update's, so that updates fall between it read as +07:00 and read as UTC)
    wall = next(
        t.replace(tzinfo=None)
        for t in sorted(updated(i) for i in items)
        if before(t) != before(t.replace(tzinfo=UTC))
    )

    def total(end: str) -> int:
        resp = post(server, envelope(call_body(end=end, size=1)))
        return int(resolve(etree.fromstring(resp.content, SAFE)).findtext("tongSo"))

    boundary = wall.isoformat()
    assert total(boundary) == total(boundary + ".000Z") == before(wall.replace(tzinfo=UTC))
    assert total(boundary + "+07:00") == before(wall.replace(tzinfo=HCM))


# --- paging reads every truth dossier ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reading(server: SimulatorProcess) -> tuple[list[etree._Element], int]:
    """Every page's return value (multiRefs resolved in place), and how many requests were refused meanwhile."""
    before, pages, page = stats(server)["refused"], [], 1
    while True:
        resp = post(server, envelope(call_body(page=page)))
        assert resp.status_code == 200, resp.text
        pages.append(resolve(etree.fromstring(resp.content, SAFE)))
        if page * PAGE_SIZE >= int(pages[-1].findtext("tongSo")):
            break
        page += 1
    return pages, stats(server)["refused"] - before


def dossiers(pages: list[etree._Element]) -> list[etree._Element]:
    return [item for page in pages for item in page.findall("danhSach/item")]


def test_page_number_paging_reads_every_truth_dossier_in_order(
    server: SimulatorProcess, reading: tuple[list[etree._Element], int]
) -> None:
    pages, refused = reading
    items = requests.get(f"{server.url}/_vendor/truth", timeout=10).json()
    served = dossiers(pages)
    assert len(pages) >= 3 and [len(p.findall("danhSach/item")) for p in pages][:-1] == [PAGE_SIZE] * (
        len(pages) - 1
    )
    assert {int(p.findtext("tongSo")) for p in pages} == {harness.COUNT}
    ordered = sorted(items, key=lambda i: (updated(i), int(i["source_record_id"])))
    assert [d.findtext("id") for d in served] == [i["source_record_id"] for i in ordered]
    assert refused == 0


def test_every_served_dossier_maps_to_the_truth(
    server: SimulatorProcess, reading: tuple[list[etree._Element], int]
) -> None:
    result = harness.served_against_truth(
        server.url, HERE / "en_axis_rpc.yaml", "vendor_axis_rpc", dossiers(reading[0])
    )
    assert not result.missing and result.fields > 250 * 30
    assert result.mismatches == []


# --- refusals ----------------------------------------------------------------------------------------------------
WRONG_CREDENTIALS = {
    "wrong password": call_body(password="sai-mat-khau-0000"),
    "wrong user": call_body(user="lienthong_thanhha"),
    "password in another case": call_body(password=PASSWORD.lower()),
    "nil password": call_body(password=None),
    "empty password": call_body(password=""),
    "wrong password and a bad page size": call_body(password="x", size=500),  # the account is checked first
}


@pytest.mark.parametrize("case", list(WRONG_CREDENTIALS))
def test_wrong_credentials_are_the_services_auth_exception_as_a_user_exception(
    server: SimulatorProcess, case: str
) -> None:
    before = stats(server)["refused"]
    resp = post(server, envelope(WRONG_CREDENTIALS[case]))
    assert resp.status_code == 500 and resp.headers["Content-Type"] == "text/xml;charset=utf-8"
    assert fault(resp) == ("soapenv:Server.userException", f"{AUTH_EXCEPTION}: {REFUSAL}", HOSTNAME)
    assert b"stackTrace" not in resp.content  # production mode
    after = stats(server)
    assert after["refused"] == before + 1 and after["refusals"][-1]["reason"] == "login"


Send = Callable[[SimulatorProcess], requests.Response]


def body(text: str) -> Send:
    return lambda server: post(server, envelope(text))


MALFORMED: dict[str, tuple[Send, int, tuple[str, ...]]] = {
    "no SOAPAction header": (
        lambda s: post(s, envelope(), action=None),
        500,
        (f'<faultcode xmlns:ns1="{AXIS_NS}">ns1:Client.NoSOAPAction</faultcode>', "no SOAPAction header!"),
    ),
    "another operation": (
        body(call_body(operation="getDossiers")),
        500,
        ("<faultcode>soapenv:Client</faultcode>", "No such operation 'getDossiers'"),
    ),
    "the operation in another namespace": (
        body(call_body(namespace="http://tempuri.org/")),
        500,
        ("<faultcode>soapenv:Client</faultcode>", f"No such operation '{OPERATION}'"),
    ),
    "a missing parameter": (
        body(re.sub(r"<trang [^>]*>1</trang>", "", call_body())),
        500,
        ("<faultcode>Server.userException</faultcode>", f"No such operation '{OPERATION}'"),
    ),
    "another envelope namespace": (
        lambda s: post(s, envelope(namespace="http://www.w3.org/2003/05/soap-envelope")),
        500,
        ("<faultcode>soapenv:VersionMismatch</faultcode>", "Version Mismatch"),
    ),
    "not XML": (
        lambda s: post(s, b"tuNgay=2025-01-01&trang=1"),
        500,
        ("soapenv:Server.userException", "org.xml.sax.SAXParseException: Content is not allowed in prolog."),
    ),
    "a DTD": (
        lambda s: post(s, b'<!DOCTYPE x [<!ENTITY e "x">]>' + envelope().split(b"?>", 1)[1]),
        500,
        ("soapenv:Server.userException", "Processing instructions are not allowed within SOAP messages"),
    ),
    "not an envelope": (
        lambda s: post(
            s, f'<ns1:{OPERATION} xmlns:ns1="{SERVICE_NS}"><trang>1</trang></ns1:{OPERATION}>'.encode()
        ),
        500,
        ("soapenv:Server.userException", f"org.xml.sax.SAXException: Bad envelope tag:  {OPERATION}"),
    ),
    "an empty Body": (
        body(""),
        500,
        ("soapenv:Server.userException", "java.lang.Exception: Body not found."),
    ),
    "trang not an int": (
        body(call_body(page="trang-2")),
        500,
        ("soapenv:Server.userException", 'java.lang.NumberFormatException: For input string: "trang-2"'),
    ),
    "tuNgay as dd/MM/yyyy": (
        body(call_body(start="01/01/2025 00:00:00")),
        500,
        ("soapenv:Server.userException", "java.lang.NumberFormatException: Invalid date"),
    ),
    "tuNgay a date only": (
        body(call_body(start="2025-01-01")),
        500,
        ("java.lang.NumberFormatException: Invalid date/time",),
    ),
    "nil tuNgay": (
        body(call_body(start=None)),
        500,
        ("soapenv:Server.userException", "java.lang.IllegalArgumentException: Thiếu tham số tuNgay"),
    ),
    "window backwards": (
        body(call_body(start=END, end=START)),
        500,
        ("java.lang.IllegalArgumentException: tuNgay phải trước denNgay",),
    ),
    "page 0": (body(call_body(page=0)), 500, ("trang phải lớn hơn hoặc bằng 1",)),
    "page size over the max": (body(call_body(size=500)), 500, ("soBanGhi phải từ 1 đến 100",)),
    "another service": (
        lambda s: post(s, envelope(), path="/motcua/services/DossierService"),
        500,
        (
            "ns1:Server.NoService",
            "could not find a target service to invoke!  targetService is DossierService",
        ),
    ),
    "another path": (
        lambda s: post(s, envelope(), path="/motcua/HoSoService.asmx"),
        404,
        ("HTTP Status 404 - /motcua/HoSoService.asmx",),
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_request_is_refused_in_axiss_words_and_counted(
    server: SimulatorProcess, case: str
) -> None:
    send, status, words = MALFORMED[case]
    harness.refused_once(server.url, lambda: send(server), status, words)


def test_the_connection_holds_the_vendors_account() -> None:
    connection = json.loads((HERE / "connection.json").read_text(encoding="utf-8"))
    assert (connection["host"], connection["login"], connection["password"]) == ("{url}", USER, PASSWORD)


# --- the product -------------------------------------------------------------------------------------------------
def test_with_send_multi_refs_off_the_same_source_loads_the_same_truth(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("axis_rpc", tmp_path, "--inline") as vendor:
        raw = post(vendor.server, envelope(call_body(size=5)))
        assert raw.status_code == 200
        assert b"multiRef" not in raw.content and b"href=" not in raw.content  # objects written in place
        answer = etree.fromstring(raw.content, SAFE).find(f".//{OPERATION}Return")
        assert answer.get(XSI_TYPE).endswith(":KetQuaTraCuu") and len(answer.findall("danhSach/item")) == 5
        harness.configure(vendor, monkeypatch)
        items, before = vendor.truth(), vendor.stats()
        counts = pipeline.sync(vendor.source)
        seen = vendor.stats()
        result = harness.compare(db, vendor.source, items)
    assert items == truth.generate("axis_rpc", harness.SEED, harness.COUNT)
    assert counts.loaded == harness.COUNT and counts.quarantined == 0 and seen["refused"] == before["refused"]
    assert result.loaded == harness.COUNT and not result.missing and result.mismatches == []
    calls = [r for r in seen["requests"][len(before["requests"]) :] if r["method"] == "POST"]
    sent = []
    for call in calls:
        assert call["headers"]["SOAPAction"] == '""'  # present (Axis requires it), the WSDL's empty action
        request = etree.fromstring(call["body"].encode(), SAFE).find(
            f"{{{SOAPENV}}}Body/{{{SERVICE_NS}}}{OPERATION}"
        )
        params = [c for c in request if isinstance(c.tag, str)]
        assert [(c.tag, c.text) for c in params[:2]] == [("tenDangNhap", USER), ("matKhau", PASSWORD)]
        sent.append((request.findtext("trang"), request.findtext("soBanGhi")))
    assert sent == [(str(p), str(PAGE_SIZE)) for p in (1, 2, 3, 4)]  # total_count: 250 in 4 pages


def test_a_wrong_password_fails_the_run_at_the_first_fault_with_the_vendors_words(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("axis_rpc", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch, vendor.wrong_connection())
        with pytest.raises(ConnectorError) as failure:
            pipeline.sync(vendor.source)
        seen = vendor.stats()
    assert f"{AUTH_EXCEPTION}: {REFUSAL}" in harness.nfc(str(failure.value))
    assert seen["refused"] == 1 and [r["reason"] for r in seen["refusals"]] == ["login"]  # not retried
    assert db.execute("SELECT count(*) FROM onestop.dossier").fetchone() == (0,)


def test_a_preview_reads_the_multiref_pages_and_masks_the_password_every_call_carries(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("axis_rpc", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        result = CliRunner().invoke(app, ["source", "preview", vendor.source, "--json", "--since", "1000d"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert PASSWORD not in result.stdout
    shown = json.loads(result.stdout)
    assert shown["error"] is None and shown["problems"] == [] and shown["would_quarantine"] == {}
    assert shown["records_per_page"][0] == PAGE_SIZE
    page = next(r for r in shown["requests"] if r["method"] == "POST")
    assert "matKhau>***</" in page["body"] and f"tenDangNhap>{USER}</" in page["body"]
