"""connectors.soap against the SOAP district simulator: zeep writes the requests from the served WSDL, our
HTTP client sends them, lxml reads the answers; Faults and hostile answers become clear errors."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree

from bench.soap_parse import compare
from connectors.base import XML
from connectors.connection import Connection
from connectors.errors import AuthError, ConfigError, ProtocolError
from connectors.http import HttpClient, HttpSettings
from connectors.safexml import parse_record
from connectors.soap import FetchedDocuments, SoapSource
from connectors.spec.soap import SoapSpec
from mappings import element_to_dict, get_mapping
from onestop.simulators.process import SimulatorProcess, start_simulator
from onestop.simulators.soap_district import POISONS, STATUS_CODES
from schemas import Channel, DossierStatus
from schemas.dossier import HCM
from tests.conftest import shipped_spec
from tests.connectors.scripted_server import routed_server, scripted_server

NAME = "hd_kim_thanh"
COUNT = 900
FAST = HttpSettings(max_attempts=3, backoff_initial=0.01, backoff_max=0.1)
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"


class Failures(list):
    """The attempts-table recorder, as the pipeline passes it to HttpClient."""

    def __call__(self, **kwargs: object) -> None:
        self.append(kwargs)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorProcess]:
    with start_simulator("soap_district", "--seed", "11", "--count", str(COUNT), "--district", "293") as s:
        yield s


@pytest.fixture(scope="module")
def sim_fault_200() -> Iterator[SimulatorProcess]:
    """A vendor that answers its Faults inside HTTP 200."""
    with start_simulator("soap_district", "--count", "50", "--fault-status", "200") as s:
        yield s


Opener = Callable[..., tuple[SoapSource, Failures]]


@pytest.fixture
def open_source() -> Opener:
    def build(
        sim: SimulatorProcess, password: str = "secret", settings: HttpSettings = FAST, **spec: object
    ) -> tuple[SoapSource, Failures]:
        failures = Failures()
        conn = Connection("onestop_src_hd_kim_thanh", host=sim.url, login="soap", password=password)
        client = HttpClient(NAME, conn.base_url, settings, on_failure=failures)
        return SoapSource(NAME, soap_spec(**spec), conn, client, HCM), failures

    return build


def soap_spec(page_size: int | None = None, **changes: object) -> SoapSpec:
    """The shipped dvc_soap profile, with `changes` (and another page size)."""
    spec = shipped_spec("soap", **changes)
    if page_size is not None:
        spec = shipped_spec(
            "soap",
            paginator={**spec.paginator.model_dump(exclude_unset=True), "page_size": page_size},
            **changes,
        )
    return spec


def truth(sim: SimulatorProcess) -> list[dict]:
    resp = requests.get(f"{sim.url}/_sim/truth", timeout=60)
    resp.raise_for_status()
    return [json.loads(line) for line in resp.text.splitlines() if line]


def stats(sim: SimulatorProcess) -> dict[str, int]:
    return requests.get(f"{sim.url}/_sim/stats", timeout=10).json()


def test_the_zeep_client_is_built_once_from_the_served_wsdl_and_never_sends(
    sim: SimulatorProcess, open_source: Opener
) -> None:
    source, failures = open_source(sim, page_size=300)
    before = stats(sim)
    found = source.probe()
    assert found == f"{NAME}: authenticated; the first page has 0 record(s) at 'DanhSachHoSo.HoSo'"
    list(source.pages(None, None))
    after = stats(sim)
    assert after["wsdl_served"] - before["wsdl_served"] == 1, "one WSDL fetch per source object"
    assert after["requests"] - before["requests"] == 1 + 3 and failures == []

    svc = source.service()
    assert svc.actions == {"LayDanhSachHoSo": "urn:motcua:hoso:v1/LayDanhSachHoSo"}
    assert svc.address == f"{sim.url}/soap" and not svc.soap12
    envelope = svc.client.create_message(svc.proxy, "LayDanhSachHoSo", Trang=1, SoBanGhi=5)
    password = envelope.find(f".//{{{WSSE}}}UsernameToken/{{{WSSE}}}Password")
    assert password.text == "secret" and password.get("Type").endswith("#PasswordText")
    transport = svc.client.transport
    assert isinstance(transport, FetchedDocuments)
    with pytest.raises(
        ProtocolError, match=rf"{NAME}: wsdl: refers to http://127.0.0.1:9/x.xsd, which is not"
    ):
        transport.load("http://127.0.0.1:9/x.xsd")
    with pytest.raises(ProtocolError, match="zeep tried to send a request itself"):
        transport.post_xml(svc.address, envelope, {})


def test_pages_run_from_1_to_the_total_without_an_extra_call(
    sim: SimulatorProcess, open_source: Opener
) -> None:
    source, _ = open_source(sim, page_size=300)
    source.service()
    before = stats(sim)["requests"]
    pages = list(source.pages(None, None))
    assert [len(p) for p in pages] == [300, 300, 300]
    assert stats(sim)["requests"] - before == 3, "TongSo reached: no empty fourth page is asked for"
    by_last_update = sorted(truth(sim), key=lambda t: (datetime.fromisoformat(t["updatedDate"]), t["id"]))
    assert [r.record["@Id"] for p in pages for r in p] == [t["id"] for t in by_last_update]
    short, _ = open_source(sim, page_size=400)
    assert [len(p) for p in short.pages(None, None)] == [400, 400, 100]


def test_each_record_is_the_hoso_element_kept_verbatim(sim: SimulatorProcess, open_source: Opener) -> None:
    source, _ = open_source(sim, page_size=50)
    page = next(iter(source.pages(None, None)))
    for raw in page:
        assert raw.content_type == XML
        element = parse_record(raw.payload)  # what staging reads back
        assert etree.QName(element).localname == "HoSo" and element_to_dict(element) == raw.record
        assert raw.record["@Id"] == element.get("Id") and raw.record["NgayCapNhat"].endswith("+07:00")


def test_the_window_selects_by_last_update(sim: SimulatorProcess, open_source: Opener) -> None:
    lo = datetime.fromisoformat("2025-03-03T00:00:00+07:00")
    hi = datetime.fromisoformat("2025-03-14T23:59:59+07:00")
    expected = {t["id"] for t in truth(sim) if lo <= datetime.fromisoformat(t["updatedDate"]) <= hi}
    source, _ = open_source(sim, page_size=40)
    got = [r.record for p in source.pages(lo, hi) for r in p]
    assert expected and {r["@Id"] for r in got} == expected and len(got) == len(expected)
    in_utc = [r.record["@Id"] for p in source.pages(lo.astimezone(UTC), hi.astimezone(UTC)) for r in p]
    assert in_utc == [r["@Id"] for r in got]
    since = datetime.fromisoformat("2025-06-01T00:00:00+07:00")
    later = {t["id"] for t in truth(sim) if datetime.fromisoformat(t["updatedDate"]) >= since}
    assert {r.record["@Id"] for p in source.pages(since, None) for r in p} == later


@pytest.mark.parametrize("fault_status", [500, 200])
def test_bad_credentials_are_an_auth_error_naming_the_source_and_the_fault(
    sim: SimulatorProcess, sim_fault_200: SimulatorProcess, open_source: Opener, fault_status: int
) -> None:
    target = sim if fault_status == 500 else sim_fault_200
    source, failures = open_source(target, password="wrong", page_size=10)
    before = stats(target)["requests"]
    with pytest.raises(AuthError) as caught:
        list(source.pages(None, None))
    message = str(caught.value)
    assert message == (
        f"{NAME}: page: SOAP Fault soap:Client: Sai tên đăng nhập hoặc mật khẩu [FailedAuthentication]"
    )
    assert stats(target)["requests"] - before == 1, "a refused login is not retried"
    assert [(f["endpoint"], f["operation"], f["error_class"], f["http_status"]) for f in failures] == [
        (NAME, "page", "AuthError", fault_status)
    ]
    with pytest.raises(AuthError, match=rf"^{NAME}: page: SOAP Fault soap:Client: Sai tên đăng nhập"):
        source.probe()


def test_configuration_that_does_not_fit_is_a_config_error(
    sim: SimulatorProcess, open_source: Opener
) -> None:
    conn = Connection("onestop_src_hd_kim_thanh", host=sim.url, login="soap")
    with pytest.raises(
        ConfigError,
        match=rf"source {NAME}: connection 'onestop_src_hd_kim_thanh' needs a password \(WS-Security\)",
    ):
        SoapSource(NAME, shipped_spec("soap"), conn, HttpClient(NAME, sim.url, FAST), HCM)
    misnamed, _ = open_source(
        sim, request={"TuNgay": "{start}", "DenNgay": "{end}", "Page": "{page}", "SoBanGhi": 5}
    )
    with pytest.raises(
        ConfigError, match=rf"source {NAME}: LayDanhSachHoSo in the WSDL does not take .*'Page'"
    ) as caught:
        misnamed.probe()
    assert "'SoBanGhi': '…'" in str(caught.value)  # names only: a login's values would be credentials
    wrong_operation, _ = open_source(sim, operation="XoaHoSo")
    with pytest.raises(ConfigError, match=rf"^source {NAME}: no port of the WSDL has \['XoaHoSo'\]; it has "):
        wrong_operation.probe()
    unknown_header, _ = open_source(sim, headers={"Phien": {"Ma": "x"}})
    with pytest.raises(ConfigError, match=rf"^source {NAME}: header element 'Phien' is not declared"):
        unknown_header.probe()


def test_credentials_sent_with_every_call_need_only_what_the_request_sends() -> None:
    key_only = soap_spec(headers={"XacThuc": {"Khoa": "{password}"}}, ws_security=False)
    assert key_only.credentials == {"password"}
    client = HttpClient(NAME, "http://127.0.0.1:9", FAST)
    SoapSource(NAME, key_only, Connection("c", host="http://127.0.0.1:9", password="khoa"), client, HCM)
    with pytest.raises(ConfigError, match=r"connection 'c' needs a password \(sent with every call\)"):
        SoapSource(NAME, key_only, Connection("c", host="http://127.0.0.1:9", login="u"), client, HCM)
    both = soap_spec(
        request={"u": "{login}", "p": "{password}", "tu": "{start}", "den": "{end}", "trang": "{page}"}
    )
    with pytest.raises(ConfigError, match=r"needs a login and a password"):
        SoapSource(NAME, both, Connection("c", host="http://127.0.0.1:9"), client, HCM)


def one_page_spec(**extra: Any) -> SoapSpec:
    """LayHoSo of simple_header.wsdl over a window, its records at KetQua.HoSo, in one answer."""
    return SoapSpec.model_validate(
        {
            "wsdl": "/HoSoService.svc?singleWsdl",
            "operation": "LayHoSo",
            "request": {"TuNgay": "{start}", "DenNgay": "{end}"},
            "records": "KetQua.HoSo",
            "paginator": {"type": "single"},
            "incremental": {"format": "iso"},
            **extra,
        }
    )


def test_a_simple_typed_header_such_as_an_api_key_is_written_as_its_element() -> None:
    wsdl = (Path(__file__).parent / "wsdl" / "simple_header.wsdl").read_bytes()
    spec = SoapSpec.model_validate(
        {
            "wsdl": "/HoSoService.svc?singleWsdl",
            "operation": "LayHoSo",
            "request": {"TuNgay": "{start}", "DenNgay": "{end}", "Trang": "{page}"},
            "headers": {"ApiKey": "{password}"},
            "records": "KetQua.HoSo",
            "paginator": {"type": "page_number"},
            "incremental": {"format": "iso"},
        }
    )
    with scripted_server([(200, {"Content-Type": "text/xml"}, wsdl)]) as (url, _):
        source = SoapSource(
            NAME, spec, Connection("c", host=url, password="khoa-7"), HttpClient(NAME, url, FAST), HCM
        )
        (header,) = source._headers(source.service(), {"password": "khoa-7"})
    assert (etree.QName(header).localname, header.text) == ("ApiKey", "khoa-7")


def test_a_schema_imported_from_the_internal_host_the_wsdl_names_is_read_from_the_system_s_host() -> None:
    """Behind a proxy, Metro and WCF publish their application server's own host in a schemaLocation, as in the
    soap:address: the import is read at that path from the connection's host; no other host is contacted."""
    wsdl = (Path(__file__).parent / "wsdl" / "simple_header.wsdl").read_text(encoding="utf-8")
    start, end = wsdl.index("  <xs:schema"), wsdl.index("</xs:schema>") + len("</xs:schema>")
    schema = '<?xml version="1.0" encoding="utf-8"?>' + wsdl[start:end]
    internal = "http://app01.motcua.local:8080/HoSoService.svc?xsd=xsd0"
    importing = (
        wsdl[:start]
        + '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:import namespace="http://tempuri.org/" '
        + f'schemaLocation="{internal}"/></xs:schema>'
        + wsdl[end:]
    )
    documents = {"/HoSoService.svc?singleWsdl": importing, "/HoSoService.svc?xsd=xsd0": schema}
    spec = one_page_spec()

    def route(path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        found = documents.get(path)
        return (200, {"Content-Type": "text/xml"}, found.encode()) if found else (404, {}, b"not found")

    with routed_server(route) as (url, log):
        source = SoapSource(NAME, spec, Connection("c", host=url), HttpClient(NAME, url, FAST), HCM)
        svc = source.service()
        assert log == ["GET /HoSoService.svc?singleWsdl", "GET /HoSoService.svc?xsd=xsd0"]
        assert svc.client.get_element("{http://tempuri.org/}LayHoSoRequest") is not None
        del documents["/HoSoService.svc?xsd=xsd0"]  # an import the system's host does not serve: said plainly
        again = SoapSource(NAME, spec, Connection("c", host=url), HttpClient(NAME, url, FAST), HCM)
        with pytest.raises(
            ProtocolError, match=rf"refers to {re.escape(internal)}, which is not on the system's"
        ):
            again.service()


def mtom(envelope: bytes, **attachments: bytes) -> tuple[int, dict[str, str], bytes]:
    """An answer as WCF writes it with MTOM on: multipart/related, the envelope as the XOP root part, then each
    attachment as a binary part named by its Content-ID."""
    body = (
        b"--uuid:b1\r\nContent-ID: <http://tempuri.org/0>\r\nContent-Transfer-Encoding: 8bit\r\n"
        b'Content-Type: application/xop+xml;charset=utf-8;type="text/xml"\r\n\r\n'
        + envelope
        + b"".join(
            b"\r\n--uuid:b1\r\nContent-ID: <" + cid.encode() + b">\r\nContent-Transfer-Encoding: binary\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + data
            for cid, data in attachments.items()
        )
        + b"\r\n--uuid:b1--\r\n"
    )
    media = (
        'multipart/related; type="application/xop+xml"; start="<http://tempuri.org/0>"; boundary="uuid:b1"'
    )
    return 200, {"Content-Type": media}, body


def test_an_mtom_answer_is_read_from_its_envelope_part_with_its_attachments_written_back_in_place() -> None:
    wsdl = (Path(__file__).parent / "wsdl" / "simple_header.wsdl").read_bytes()
    spec = one_page_spec()
    envelope = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><LayHoSoResponse '
        b'xmlns="http://tempuri.org/"><KetQua><HoSo><Ma>A</Ma></HoSo><HoSo><Ma>B</Ma></HoSo></KetQua>'
        b"</LayHoSoResponse></s:Body></s:Envelope>"
    )
    include = b'<Tep><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:%s"/></Tep>'
    scan = "Giấy tờ scan \x00\xff".encode()  # binary, as an attachment is
    with_file = envelope.replace(b"<Ma>B</Ma>", b"<Ma>B</Ma>" + include % b"tep-1%40tempuri.org")
    for answer, attachments, expected in (
        (envelope, {}, ["A", "B"]),
        (with_file, {"tep-1@tempuri.org": scan}, ["A", "B"]),  # the href is URL-encoded, the Content-ID not
        (with_file, {}, "refers to attachment cid:tep-1@tempuri.org, which it does not hold"),
        (envelope.replace(b"<Ma>B</Ma>", include.replace(b' href="cid:%s"', b"")), {}, "without a cid"),
    ):
        with scripted_server([(200, {"Content-Type": "text/xml"}, wsdl), mtom(answer, **attachments)]) as (
            url,
            _,
        ):
            source = SoapSource(NAME, spec, Connection("c", host=url), HttpClient(NAME, url, FAST), HCM)
            if isinstance(expected, list):
                records = [r.record for page in source.pages(None, None) for r in page]
                assert [r["Ma"] for r in records] == expected
                if attachments:  # written back in place as base64, as without MTOM
                    assert base64.b64decode(records[1]["Tep"]) == scan
            else:
                with pytest.raises(ProtocolError, match=expected):
                    list(source.pages(None, None))


def test_a_fault_packaged_as_mtom_with_http_500_is_read_as_its_fault_not_retried_as_a_server_error() -> None:
    """CXF and WCF with MTOM on package a Fault as every answer (multipart/related), with HTTP 500: its code and
    words decide, as an XML Fault's do."""
    wsdl = (Path(__file__).parent / "wsdl" / "simple_header.wsdl").read_bytes()
    spec = one_page_spec(faults=[{"code": "XacThucThatBai", "means": "auth"}])
    fault = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
        '<faultcode xmlns:a="urn:motcua">a:XacThucThatBai</faultcode>'
        "<faultstring>Tên đăng nhập hoặc mật khẩu không chính xác.</faultstring></s:Fault></s:Body></s:Envelope>"
    ).encode()
    _, headers, body = mtom(fault)
    with scripted_server([(200, {"Content-Type": "text/xml"}, wsdl), (500, headers, body)]) as (url, log):
        source = SoapSource(NAME, spec, Connection("c", host=url), HttpClient(NAME, url, FAST), HCM)
        with pytest.raises(AuthError, match="a:XacThucThatBai: Tên đăng nhập hoặc mật khẩu không chính xác"):
            list(source.pages(None, None))
        assert sum(line.startswith("POST") for line in log) == 1


def test_a_continuation_token_in_the_answer_s_soap_header_pages_on() -> None:
    wsdl = (Path(__file__).parent / "wsdl" / "simple_header.wsdl").read_bytes()
    spec = SoapSpec.model_validate(
        {
            "wsdl": "/HoSoService.svc?singleWsdl",
            "operation": "LayHoSo",
            "request": {"TuNgay": "{start}", "DenNgay": "{end}"},
            "headers": {"ContinuationToken": "{cursor}"},  # none on the first page: the header is left out
            "records": "KetQua.HoSo",
            "paginator": {"type": "cursor", "cursor_path": "ContinuationToken"},
            "incremental": {"format": "iso"},
        }
    )

    def page(ma: str, token: str | None) -> tuple[int, dict[str, str], bytes]:
        header = (
            f'<h:ContinuationToken xmlns:h="http://tempuri.org/">{token}</h:ContinuationToken>'
            if token
            else ""
        )
        return (
            200,
            {"Content-Type": "text/xml"},
            (
                f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>{header}</s:Header><s:Body>'
                f'<LayHoSoResponse xmlns="http://tempuri.org/"><KetQua><HoSo><Ma>{ma}</Ma></HoSo></KetQua>'
                "</LayHoSoResponse></s:Body></s:Envelope>"
            ).encode(),
        )

    answers = [(200, {"Content-Type": "text/xml"}, wsdl), page("A", "trang-2"), page("B", None)]
    with scripted_server(answers) as (url, log):
        source = SoapSource(NAME, spec, Connection("c", host=url), HttpClient(NAME, url, FAST), HCM)
        assert [r.record["Ma"] for chunk in source.pages(None, None) for r in chunk] == ["A", "B"]
    assert len(log) == 3


def test_bad_arguments_are_a_protocol_error_naming_the_source_and_the_fault(
    sim: SimulatorProcess, open_source: Opener
) -> None:
    source, failures = open_source(sim, page_size=10)
    late, early = (
        datetime.fromisoformat("2025-03-02T00:00:00+07:00"),
        datetime.fromisoformat("2025-03-01T00:00:00"),
    )
    with pytest.raises(ProtocolError) as caught:
        list(source.pages(late, early))
    assert str(caught.value) == f"{NAME}: page 1: SOAP Fault soap:Client: DenNgay trước TuNgay [THAM_SO]"
    too_big, _ = open_source(sim, page_size=5000)
    with pytest.raises(
        ProtocolError, match=rf"^{NAME}: page 1: SOAP Fault soap:Client: SoBanGhi phải từ 1 đến 1000"
    ):
        list(too_big.pages(None, None))
    assert [f["error_class"] for f in failures] == ["RefusedAnswer"]


def test_an_unusable_wsdl_is_a_clear_error(sim: SimulatorProcess, open_source: Opener) -> None:
    missing, failures = open_source(sim, wsdl="/khong-co?wsdl")
    with pytest.raises(ProtocolError, match=rf"^{NAME}: wsdl: HTTP 404"):
        missing.probe()
    assert [f["operation"] for f in failures] == ["wsdl"]
    not_a_wsdl, failures = open_source(sim, wsdl="/health")
    with pytest.raises(ProtocolError, match=rf"^{NAME}: wsdl: cannot use {sim.url}/health: "):
        not_a_wsdl.probe()


@pytest.fixture(scope="module", params=POISONS)
def poisoned(request: pytest.FixtureRequest) -> Iterator[tuple[str, SimulatorProcess]]:
    args = ("--seed", "5", "--count", "300", "--poison-page", "2", "--poison", request.param)
    with start_simulator("soap_district", *args) as s:
        yield request.param, s


def test_hostile_answers_are_refused_before_anything_is_expanded(
    poisoned: tuple[str, SimulatorProcess], open_source: Opener
) -> None:
    mode, sim = poisoned
    source, failures = open_source(sim, page_size=100)
    pages = source.pages(None, None)
    first = next(pages)
    assert len(first) == 100
    with pytest.raises(ProtocolError) as caught:
        next(pages)
    message = str(caught.value)
    if mode == "oversize":
        assert message == f"{NAME}: page 2: answer is over the {64 << 20}-byte cap"
    else:
        assert (
            message
            == f"{NAME}: page 2: answer carries a DTD (<!DOCTYPE>): refused before any record was read"
        )
    assert "root:" not in message and "lol" not in message
    assert stats(sim)["xxe_fetches"] == 0, "the external entity's URL was never fetched"
    assert [(f["operation"], f["error_class"]) for f in failures] == [("page", "RefusedAnswer")]


def test_records_normalize_to_dossiers_and_bad_ones_name_the_field(
    sim: SimulatorProcess, open_source: Opener
) -> None:
    mapping = get_mapping("dvc_soap")
    expected = {t["id"]: t for t in truth(sim)}
    failing_field = {
        "missing_MaHoSo": "ma_ho_so",
        "missing_MaTTHC": "procedure_code",
        "impossible_date": "received_at",
        "unknown_status": "status",
    }
    source, _ = open_source(sim, page_size=300)
    good = bad = 0
    for page in source.pages(None, None):
        for raw in page:
            outcome = mapping.normalize(raw.record, NAME)
            t = expected[outcome.record_id]
            if t["bad"] is None:
                d = outcome.dossier
                assert d is not None, outcome.describe(NAME)
                assert d.status == DossierStatus(t["status"]) and d.status_raw == STATUS_CODES[t["status"]]
                assert d.source_updated_at == datetime.fromisoformat(t["updatedDate"])
                assert d.ma_ho_so == t["code"] and d.procedure_local_code.endswith(".000.00.19.H23")
                vendor_channel = raw.record["KenhThucHien"]
                assert (
                    d.channel
                    == {"1": Channel.ONLINE, "2": Channel.IN_PERSON, "3": Channel.POSTAL}[vendor_channel]
                )
                assert (d.inter_system_code is not None) == (d.channel == Channel.ONLINE)
                assert d.history[-1].at == d.source_updated_at and d.history[-1].status == d.status
                assert d.documents and d.applicant.address.endswith("Tỉnh Hải Dương")
                good += 1
            else:
                assert outcome.dossier is None
                fields = [e.field for e in outcome.errors]
                assert fields == [failing_field[t["bad"]]], outcome.describe(NAME)
                assert outcome.describe(NAME)[0].startswith(f"{NAME}: record {t['id']}: field {fields[0]} (")
                bad += 1
    assert good + bad == COUNT and 0 < bad < 0.02 * COUNT


def test_parsing_speed_lxml_iterparse_against_zeeps_object_layer(
    open_source: Opener, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both readings agree record for record; the figure printed is indicative (the full-size comparison
    belongs to the benchmark, not to the test suite)."""
    n = 2_000
    args = ("--count", str(n), "--max-page-size", str(n), "--bad-rate", "0")
    with start_simulator("soap_district", *args) as big:
        source, _ = open_source(big)
        parsed = compare(source, n)

    assert parsed.records == len(parsed.zeep_records) == n
    assert [d["@Id"] for d in parsed.lxml_dicts[:50]] == [r.Id for r in parsed.zeep_records[:50]]
    with capsys.disabled():
        print(
            f"\nSOAP answer of {n} records, {parsed.megabytes:.1f} MB: lxml iterparse + element_to_dict"
            f" {n / parsed.lxml_s:,.0f} records/s; zeep object layer {n / parsed.zeep_s:,.0f} records/s;"
            f" lxml {parsed.ratio:.1f}x faster"
        )
