"""SOAP Faults against a real server: a Fault beside records in HTTP 200 fails the page; soap:Server (SOAP 1.1)
and soap:Receiver (SOAP 1.2) are transient and retried with backoff; Client / Sender are not; a Fault's own
words are read whatever the HTTP status (a SOAP 1.2 Fault with HTTP 400 shows its Reason/Text)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from string import Template

import pytest
import yaml

from connectors.connection import Connection
from connectors.errors import AuthError, ConnectorError, ProtocolError, RefusedAnswer, TransientError
from connectors.http import HttpClient, HttpSettings
from connectors.soap import SoapSource
from connectors.spec.soap import SoapSpec
from onestop.simulators.soap_district import ADDRESS_SLOT, WSDL_TEMPLATE
from schemas.dossier import HCM
from tests.conftest import shipped_spec
from tests.connectors.scripted_server import scripted_server

RETRIES = HttpSettings(max_attempts=3, backoff_initial=0.01, backoff_max=0.05)
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
TEXT_XML = {"Content-Type": "text/xml; charset=utf-8"}
SOAP_XML = {"Content-Type": "application/soap+xml; charset=utf-8"}
VENDOR12 = Path(__file__).resolve().parents[1] / "vendors" / "soap12_wsse"

RECORDS_THEN_FAULT = (
    f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP11}"><soap:Body>'
    '<LayDanhSachHoSoResponse xmlns="urn:motcua:hoso:v1"><TongSo>2</TongSo><Trang>1</Trang><DanhSachHoSo>'
    '<HoSo Id="1"><MaHoSo>A</MaHoSo></HoSo><HoSo Id="2"><MaHoSo>B</MaHoSo></HoSo></DanhSachHoSo>'
    "</LayDanhSachHoSoResponse><soap:Fault><faultcode>soap:{code}</faultcode>"
    "<faultstring>Máy chủ CSDL không phản hồi</faultstring></soap:Fault></soap:Body></soap:Envelope>"
)
FAULT12 = Template(
    f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP12}"><soap:Body><soap:Fault>'
    "<soap:Code><soap:Value>soap:$code</soap:Value></soap:Code>"
    '<soap:Reason><soap:Text xml:lang="vi">$reason</soap:Text><soap:Text xml:lang="en">$english</soap:Text>'
    "</soap:Reason></soap:Fault></soap:Body></soap:Envelope>"
)


class Failures(list):
    def __call__(self, **kwargs: object) -> None:
        self.append(kwargs)


def said(error: Exception, posts: int) -> str:
    """The error's text without what retries add (connectors.http.tries_said), which it has after several posts."""
    text, _, tries = str(error).partition(" (after ")
    assert bool(tries) == (posts > 1) and (not tries or tries.startswith(f"{posts} attempts over ")), str(
        error
    )
    return text


def soap11(url: str) -> tuple[SoapSource, Failures]:
    failures = Failures()
    conn = Connection("onestop_src_v", host=url, login="soap", password="secret")
    spec: SoapSpec = shipped_spec("soap")
    return SoapSource("v", spec, conn, HttpClient("v", url, RETRIES, on_failure=failures), HCM), failures


def soap12(url: str) -> tuple[SoapSource, Failures]:
    failures = Failures()
    entry = yaml.safe_load((VENDOR12 / "source.yaml").read_text(encoding="utf-8"))[0]
    conn = Connection("onestop_src_v", host=url, login="esb", password="secret")
    spec = SoapSpec.model_validate(entry["soap"])
    return SoapSource("v", spec, conn, HttpClient("v", url, RETRIES, on_failure=failures), HCM), failures


def wsdl11(url: str) -> bytes:
    return WSDL_TEMPLATE.read_text(encoding="utf-8").replace(ADDRESS_SLOT, f"{url}/soap").encode()


def wsdl12(url: str) -> bytes:
    text = (VENDOR12 / "DossierSyncService.wsdl").read_text(encoding="utf-8")
    return Template(text).substitute(address=f"{url}/motcua-ws/services/DossierSync").encode()


def page(error: type[ConnectorError]) -> str:
    """A refused page is named by its number in the run; a transient failure by the operation."""
    return "page 1" if error is RefusedAnswer else "page"


@pytest.mark.parametrize(
    ("code", "error", "posts"),
    [("Server", TransientError, 3), ("Client", RefusedAnswer, 1)],
)
def test_a_fault_beside_records_in_http_200_fails_the_page(
    code: str, error: type[ConnectorError], posts: int
) -> None:
    answers: list[tuple[int, dict[str, str], bytes]] = []
    with scripted_server(answers) as (url, log):
        answers += [
            (200, TEXT_XML, wsdl11(url)),
            (200, TEXT_XML, RECORDS_THEN_FAULT.format(code=code).encode()),
        ]
        source, failures = soap11(url)
        pages = source.pages(None, None)
        with pytest.raises(error) as caught:
            next(pages)  # no record is handed over: the page is the Fault
        assert log.count("POST /soap") == posts
    assert (
        said(caught.value, posts) == f"v: {page(error)}: SOAP Fault soap:{code}: Máy chủ CSDL không phản hồi"
    )
    assert [(f["error_class"], f["http_status"]) for f in failures] == [(error.__name__, 200)] * posts


@pytest.mark.parametrize(
    ("code", "status", "error", "posts"),
    [
        ("Receiver", 500, TransientError, 3),
        ("Receiver", 200, TransientError, 3),
        ("Sender", 400, RefusedAnswer, 1),
        ("Sender", 500, RefusedAnswer, 1),
    ],
)
def test_soap12_faults_are_read_whatever_the_status_and_only_receiver_faults_retried(
    code: str, status: int, error: type[ConnectorError], posts: int
) -> None:
    reason = "Hệ thống đang bảo trì" if code == "Receiver" else "Tham số modifiedFrom không hợp lệ"
    fault = FAULT12.substitute(code=code, reason=reason, english="in English").encode()
    answers: list[tuple[int, dict[str, str], bytes]] = []
    with scripted_server(answers) as (url, log):
        answers += [(200, TEXT_XML, wsdl12(url)), (status, SOAP_XML, fault)]
        source, failures = soap12(url)
        with pytest.raises(error) as caught:
            list(source.pages(datetime(2025, 3, 1, tzinfo=HCM), datetime(2025, 3, 2, tzinfo=HCM)))
        assert sum(1 for line in log if line.startswith("POST")) == posts
    assert said(caught.value, posts) == f"v: {page(error)}: SOAP Fault soap:{code}: {reason}"  # not raw bytes
    assert caught.value.http_status == status
    assert [f["error_class"] for f in failures] == [error.__name__] * posts


def test_an_http_error_without_a_fault_says_so() -> None:
    answers: list[tuple[int, dict[str, str], bytes]] = []
    with scripted_server(answers) as (url, log):
        page = (
            b'<?xml version="1.0"?><soap:Envelope xmlns:soap="'
            + SOAP11.encode()
            + b'"><soap:Body/></soap:Envelope>'
        )
        answers += [(200, TEXT_XML, wsdl11(url)), (400, TEXT_XML, page)]
        source, _ = soap11(url)
        with pytest.raises(ProtocolError, match=r"^v: page 1: not a SOAP answer \(no Body\)"):
            list(source.pages(None, None))
        assert log.count("POST /soap") == 1


USER_EXCEPTION = (
    f'<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body>'
    "<soapenv:Fault><faultcode>soapenv:Server.userException</faultcode>"
    "<faultstring>{text}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("vn.egov.motcua.exception.AuthException: Sai tên đăng nhập hoặc mật khẩu", AuthError),
        ('java.lang.NumberFormatException: For input string: "x"', RefusedAnswer),
    ],
)
def test_one_fault_code_for_every_error_is_told_apart_by_its_text(text: str, error: type[Exception]) -> None:
    faults = [
        {"code": "userException", "contains": "AuthException", "means": "auth"},
        {"code": "userException", "means": "error"},
    ]
    answers: list[tuple[int, dict[str, str], bytes]] = []
    with scripted_server(answers) as (url, log):
        answers += [(200, TEXT_XML, wsdl11(url)), (500, TEXT_XML, USER_EXCEPTION.format(text=text).encode())]
        conn = Connection("onestop_src_v", host=url, login="soap", password="secret")
        source = SoapSource(
            "v", shipped_spec("soap", faults=faults), conn, HttpClient("v", url, RETRIES), HCM
        )
        with pytest.raises(error, match=text.split(":")[0]):
            list(source.pages(None, None))
        assert log.count("POST /soap") == 1  # neither is retried


WEB_FAULT = (
    f'<?xml version="1.0" ?><S:Envelope xmlns:S="{SOAP11}"><S:Body><S:Fault>'
    "<faultcode>S:Server</faultcode><faultstring>Tài khoản liên thông hoặc mật khẩu không đúng</faultstring>"
    '<detail><ns2:XacThucException xmlns:ns2="http://hoso.motcua.vn/"><message>Tài khoản liên thông hoặc mật '
    "khẩu không đúng</message></ns2:XacThucException></detail></S:Fault></S:Body></S:Envelope>"
)


def test_a_fault_rule_names_the_exception_element_a_jaxws_fault_s_detail_holds() -> None:
    """JAX-WS writes a declared exception as S:Server with the exception's element in the detail: a rule on that
    element's name tells a refused account from a server failure (else S:Server is retried as transient)."""
    faults = [{"code": "XacThucException", "means": "auth"}]
    answers: list[tuple[int, dict[str, str], bytes]] = []
    with scripted_server(answers) as (url, log):
        answers += [(200, TEXT_XML, wsdl11(url)), (500, TEXT_XML, WEB_FAULT.encode())]
        conn = Connection("onestop_src_v", host=url, login="soap", password="secret")
        source = SoapSource(
            "v", shipped_spec("soap", faults=faults), conn, HttpClient("v", url, RETRIES), HCM
        )
        with pytest.raises(AuthError, match="S:Server: Tài khoản liên thông hoặc mật khẩu không đúng"):
            list(source.pages(None, None))
        assert log.count("POST /soap") == 1  # not retried
