"""The WCF one-stop service holds its contract (see server.py): zeep reads its WSDL (schema imported, as WCF
publishes it, or ?singleWsdl) and writes requests it serves; a login and a session in the AuthHeader read every
truth dossier over several pages; every served <Dossier> maps to the truth through en_pascal_attr.yaml; what a
connector could get wrong is refused in the vendor's (or WCF's) own words and counted."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep
import zeep.exceptions
from lxml import etree

from connectors.safexml import PARSER_OPTIONS
from connectors.soap import zeep_settings
from onestop.simulators.process import SimulatorProcess
from tests.vendors import harness
from tests.vendors.soap_login.server import (
    ACTION,
    PASSWORD,
    REFUSAL,
    SERVICE_PATH,
    SESSION_EXPIRED,
    SOAP11,
    SOAP12,
    TNS,
    USER,
)

HERE = Path(__file__).resolve().parent
XML = "text/xml; charset=utf-8"
PAGE_SIZE = 60
SAFE = etree.XMLParser(**PARSER_OPTIONS)  # the product's safe parsing
# a client that loads the WSDL document alone: strict schema reading, no DTD, no entities, no imports
STRICT = zeep.Settings(
    strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True
)
# ?wsdl imports its schema from ?xsd=xsd0 (as WCF publishes it): zeep as the product sets it loads that document
# (the product's transport fetches imports from the system's own host only)
WITH_IMPORTS = zeep_settings()


def start(*args: str) -> SimulatorProcess:
    return harness.start_server("soap_login", *args)


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorProcess]:
    with start() as running:
        yield running


def stats(server: SimulatorProcess) -> dict[str, Any]:
    return harness.control(server.url, "stats")


def envelope(body: str, header: str = "") -> bytes:
    head = f"<s:Header>{header}</s:Header>" if header else ""
    return f'<s:Envelope xmlns:s="{SOAP11}">{head}<s:Body>{body}</s:Body></s:Envelope>'.encode()


def auth_header(token: str) -> str:
    return f'<AuthHeader xmlns="{TNS}"><SessionToken>{token}</SessionToken></AuthHeader>'


def login_body(user: str = USER, password: str = PASSWORD) -> str:
    return f'<DangNhap xmlns="{TNS}"><userName>{user}</userName><password>{password}</password></DangNhap>'


def search_body(
    page: int = 0, size: int = PAGE_SIZE, start: str = "2025-01-01T00:00:00", end: str = "2026-01-01T00:00:00"
) -> str:
    return (
        f'<TimKiemHoSo xmlns="{TNS}"><request><Filter><FromDate>{start}</FromDate><ToDate>{end}</ToDate></Filter>'
        f"<Paging><PageIndex>{page}</PageIndex><PageSize>{size}</PageSize></Paging></request></TimKiemHoSo>"
    )


def post(
    server: SimulatorProcess, body: bytes, operation: str, content_type: str = XML, action: str | None = None
) -> requests.Response:
    headers = {
        "Content-Type": content_type,
        "SOAPAction": f'"{action if action is not None else ACTION[operation]}"',
    }
    return requests.post(f"{server.url}{SERVICE_PATH}", data=body, headers=headers, timeout=10)


def parse(resp: requests.Response) -> etree._Element:
    return etree.fromstring(resp.content, SAFE)


def fault(resp: requests.Response) -> tuple[str, str, str]:
    """(faultcode namespace, faultcode local name, faultstring) of a SOAP 1.1 Fault answer."""
    node = parse(resp).find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    assert node is not None, resp.text
    code = node.find("faultcode")
    prefix, _, local = code.text.partition(":")
    return code.nsmap.get(prefix, ""), local, node.find("faultstring").text


def login(server: SimulatorProcess) -> str:
    resp = post(server, envelope(login_body()), "DangNhap")
    assert resp.status_code == 200, resp.text
    return parse(resp).find(f".//{{{TNS}}}SessionToken").text


def read_all(server: SimulatorProcess) -> list[etree._Element]:
    """Every page of the whole window, hand-written envelopes: the <TimKiemHoSoResult> elements."""
    token, pages = login(server), []
    while True:
        resp = post(server, envelope(search_body(len(pages)), auth_header(token)), "TimKiemHoSo")
        assert resp.status_code == 200, resp.text
        result = parse(resp).find(f".//{{{TNS}}}TimKiemHoSoResult")
        if not result.findall(f"{{{TNS}}}Dossiers/{{{TNS}}}Dossier"):
            return pages
        pages.append(result)


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
    return [d for page in pages for d in page.iter(f"{{{TNS}}}Dossier")]


# --- the happy path ------------------------------------------------------------------------------------------
def test_a_session_pages_through_every_truth_dossier(
    server: SimulatorProcess, reading: tuple[list[etree._Element], int]
) -> None:
    pages, refused = reading
    items = requests.get(f"{server.url}/_vendor/truth", timeout=10).json()
    served = dossiers(pages)
    assert len(pages) >= 3 and len(items) == harness.COUNT
    assert {p.get("TotalRecords") for p in pages} == {str(harness.COUNT)}
    assert [p.get("PageIndex") for p in pages] == [str(i) for i in range(len(pages))]
    assert sorted(d.get("Id") for d in served) == sorted(i["source_record_id"] for i in items)
    modified = [d.get("LastModified") for d in served]
    assert modified == sorted(modified) and all(
        "+" not in m and "Z" not in m for m in modified
    )  # local, no zone
    assert refused == 0


def test_every_served_dossier_maps_to_the_truth(
    server: SimulatorProcess, pages: list[etree._Element]
) -> None:
    result = harness.served_against_truth(
        server.url, HERE / "en_pascal_attr.yaml", "vendor_soap_login", dossiers(pages)
    )
    assert not result.missing and result.fields > 250 * 30
    assert result.mismatches == []


# --- zeep: the WSDL is consumable and what zeep writes is served ----------------------------------------------
def test_the_wsdl_imports_its_schema_and_the_single_wsdl_does_not(server: SimulatorProcess) -> None:
    with pytest.raises(zeep.exceptions.ExternalReferenceForbidden) as imported:
        zeep.Client(f"{server.url}{SERVICE_PATH}?wsdl", settings=STRICT)
    assert imported.value.url == f"{server.url}{SERVICE_PATH}?xsd=xsd0"
    client = zeep.Client(f"{server.url}{SERVICE_PATH}?singleWsdl", settings=STRICT)
    assert {str(op) for op in client.service._binding._operations} == {"DangNhap", "TimKiemHoSo"}


@pytest.mark.parametrize(("wsdl", "settings"), [("?wsdl", WITH_IMPORTS), ("?singleWsdl", STRICT)])
def test_zeep_builds_requests_from_the_wsdl_that_the_service_answers(
    server: SimulatorProcess, wsdl: str, settings: zeep.Settings
) -> None:
    client = zeep.Client(f"{server.url}{SERVICE_PATH}{wsdl}", settings=settings)
    binding = client.service._binding
    message = client.create_message(client.service, "DangNhap", userName=USER, password=PASSWORD)
    answer = post(server, etree.tostring(message), "DangNhap")
    session = binding.process_reply(client, binding.get("DangNhap"), answer)  # zeep reads it by the schema
    assert session.SessionToken and session.ExpiresAt.tzinfo is None  # local time, no zone

    header = client.get_element(f"{{{TNS}}}AuthHeader")(SessionToken=session.SessionToken)
    request = {
        "Filter": {"FromDate": "2025-01-01T00:00:00", "ToDate": None},
        "Paging": {"PageIndex": 1, "PageSize": 50},
    }
    message = client.create_message(client.service, "TimKiemHoSo", request=request, _soapheaders=[header])
    assert message.find(f".//{{{TNS}}}ToDate").get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
    result = binding.process_reply(
        client, binding.get("TimKiemHoSo"), post(server, etree.tostring(message), "TimKiemHoSo")
    )
    assert (
        result.TotalRecords == harness.COUNT and result.PageIndex == 1 and len(result.Dossiers.Dossier) == 50
    )

    wrong = client.create_message(client.service, "DangNhap", userName=USER, password="sai-mat-khau-0000")
    with pytest.raises(zeep.exceptions.Fault) as refused:
        binding.process_reply(
            client, binding.get("DangNhap"), post(server, etree.tostring(wrong), "DangNhap")
        )
    assert refused.value.message == REFUSAL and refused.value.code == "a:InvalidCredentials"


# --- refusals ------------------------------------------------------------------------------------------------
def test_a_wrong_password_is_refused_in_the_vendors_words(server: SimulatorProcess) -> None:
    before = stats(server)["refused"]
    resp = post(server, envelope(login_body(password="sai-mat-khau-0000")), "DangNhap")
    assert resp.status_code == 500 and resp.headers["Content-Type"] == XML
    assert fault(resp) == (TNS, "InvalidCredentials", REFUSAL)
    assert parse(resp).find(f".//{{{TNS}}}ErrorCode").text == "1001"
    assert stats(server)["refused"] == before + 1


def search_with(body: str) -> Callable[[SimulatorProcess, str], requests.Response]:
    return lambda server, token: post(server, envelope(body, auth_header(token)), "TimKiemHoSo")


FILTER = "<Filter><FromDate>2025-01-01T00:00:00</FromDate><ToDate>2025-02-01T00:00:00</ToDate></Filter>"
PAGING = "<Paging><PageIndex>0</PageIndex><PageSize>50</PageSize></Paging>"


def wrapped(inner: str, xmlns: str = f'xmlns="{TNS}"') -> str:
    return f"<TimKiemHoSo {xmlns}><request>{inner}</request></TimKiemHoSo>"


MALFORMED: dict[str, tuple[Callable[[SimulatorProcess, str], requests.Response], int, tuple[str, ...]]] = {
    "GET": (lambda s, t: requests.get(f"{s.url}{SERVICE_PATH}", timeout=10), 405, ("Method Not Allowed",)),
    "PUT": (
        lambda s, t: requests.put(f"{s.url}{SERVICE_PATH}", data=b"x", timeout=10),
        405,
        ("Method Not Allowed",),
    ),
    "SOAP 1.2 media type": (
        lambda s, t: post(s, envelope(login_body()), "DangNhap", "application/soap+xml; charset=utf-8"),
        415,
        ("was not the expected type 'text/xml; charset=utf-8'",),
    ),
    "SOAP 1.2 envelope": (
        lambda s, t: post(s, envelope(login_body()).replace(SOAP11.encode(), SOAP12.encode()), "DangNhap"),
        500,
        ("s:VersionMismatch", "does not match that of the encoder"),
    ),
    "unknown SOAPAction": (
        lambda s, t: post(
            s, envelope(login_body()), "DangNhap", action="http://tempuri.org/IDichVuMotCua/Login"
        ),
        500,
        ("ActionNotSupported", "ContractFilter mismatch"),
    ),
    "body of another operation": (
        lambda s, t: post(s, envelope(login_body(), auth_header(t)), "TimKiemHoSo"),
        500,
        ("DeserializationFailed", "Expected to find node type 'Element' with name 'TimKiemHoSo'"),
    ),
    "page too large": (
        search_with(search_body(size=500)),
        500,
        ("InvalidRequest", "PageSize phải từ 1 đến 100"),
    ),
    "negative page": (search_with(search_body(page=-1)), 500, ("InvalidRequest", "PageIndex phải lớn hơn")),
    "date not xs:dateTime": (
        search_with(search_body(start="01/01/2025")),
        500,
        ("InvalidRequest", "không đúng định dạng ngày giờ"),
    ),
    "window backwards": (
        search_with(search_body(start="2025-03-01T00:00:00", end="2025-01-01T00:00:00")),
        500,
        ("InvalidRequest", "FromDate phải nhỏ hơn ToDate"),
    ),
    "unqualified elements": (
        search_with(f'<TimKiemHoSo xmlns="{TNS}"><request xmlns="">{FILTER}{PAGING}</request></TimKiemHoSo>'),
        500,
        ("InvalidRequest", "không thuộc không gian tên"),
    ),
    "unknown element": (
        search_with(wrapped(f"{FILTER}<Paging><Page>1</Page><PageSize>50</PageSize></Paging>")),
        500,
        ("InvalidRequest", "'Page' không được hỗ trợ"),
    ),
    "no paging": (search_with(wrapped(FILTER)), 500, ("InvalidRequest", "Thiếu phần tử Paging")),
    "no AuthHeader": (
        lambda s, t: post(s, envelope(search_body()), "TimKiemHoSo"),
        500,
        ("AuthHeaderRequired", "AuthHeader/SessionToken"),
    ),
    "unknown session": (search_with(search_body()), 500, ("SessionExpired", SESSION_EXPIRED)),
    "mustUnderstand WS-Security": (
        lambda s, t: post(
            s,
            envelope(
                search_body(),
                auth_header(t)
                + '<o:Security s:mustUnderstand="1" xmlns:o="http://docs.oasis-open.org/wss/2004/01/'
                'oasis-200401-wss-wssecurity-secext-1.0.xsd"><o:UsernameToken><o:Username>u</o:Username>'
                "</o:UsernameToken></o:Security>",
            ),
            "TimKiemHoSo",
        ),
        500,
        ("MustUnderstand", "'Security'"),
    ),
    "not XML": (lambda s, t: post(s, b"DangNhap userName=a", "DangNhap"), 400, ("Bad Request",)),
    "a DTD": (
        lambda s, t: post(s, b'<!DOCTYPE x [<!ENTITY e "x">]>' + envelope(login_body()), "DangNhap"),
        400,
        ("DTD is prohibited",),
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_request_is_refused_and_counted(server: SimulatorProcess, case: str) -> None:
    send, status, words = MALFORMED[case]
    token = login(server) if case != "unknown session" else "9b0c54c2-0000-4000-8000-000000000000"
    harness.refused_once(server.url, lambda: send(server, token), status, words)


def test_an_expired_or_revoked_session_is_refused_with_the_session_fault() -> None:
    with start("--session-ttl", "2", "--revoke-at", "2") as short:
        token = login(short)
        assert post(short, envelope(search_body(), auth_header(token)), "TimKiemHoSo").status_code == 200
        revoked = post(
            short, envelope(search_body(), auth_header(token)), "TimKiemHoSo"
        )  # the 2nd data request
        assert fault(revoked) == (TNS, "SessionExpired", SESSION_EXPIRED)

        token = login(short)  # a new session works again
        assert post(short, envelope(search_body(), auth_header(token)), "TimKiemHoSo").status_code == 200
        time.sleep(2.1)
        expired = post(short, envelope(search_body(), auth_header(token)), "TimKiemHoSo")
        assert expired.status_code == 500 and fault(expired) == (TNS, "SessionExpired", SESSION_EXPIRED)
        assert [r["reason"] for r in stats(short)["refusals"]] == ["SessionExpired", "SessionExpired"]


def test_the_connection_holds_the_vendors_account() -> None:
    connection = json.loads((HERE / "connection.json").read_text(encoding="utf-8"))
    assert (connection["host"], connection["login"], connection["password"]) == ("{url}", USER, PASSWORD)
