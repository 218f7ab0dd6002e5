"""The JAX-WS/CXF dossier service holds its contract (see server.py): zeep reads its SOAP 1.2 WSDL and, with a
UsernameToken, writes requests it serves; 90-day windows paged by offset/limit read every truth dossier; every
served <ns2:dossier> maps to the truth through en_camel_ns.yaml; what a connector could get wrong (the WS-Security
header above all) is refused as a SOAP 1.2 Fault in the vendor's (or CXF's) own words, and counted."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.wsse.username import UsernameToken
from zeep.wsse.utils import WSU

from connectors.safexml import PARSER_OPTIONS
from connectors.soap import zeep_settings
from onestop.simulators.process import SimulatorProcess
from tests.vendors import harness
from tests.vendors.soap12_wsse.server import (
    PASSWORD,
    PASSWORD_DIGEST,
    PASSWORD_TEXT,
    REFUSAL,
    SERVICE_PATH,
    SOAP11,
    SOAP12,
    TNS,
    USER,
    WSSE,
)

HERE = Path(__file__).resolve().parent
SOAP_XML = "application/soap+xml; charset=UTF-8"
LIMIT = 50
SAFE = etree.XMLParser(**PARSER_OPTIONS)  # the product's safe parsing
# zeep as the product sets it: strict schema reading, no DTD, no entities
STRICT = zeep_settings()


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorProcess]:
    with harness.start_server("soap12_wsse") as running:
        yield running


def stats(server: SimulatorProcess) -> dict[str, Any]:
    return harness.control(server.url, "stats")


def utc(delta: timedelta = timedelta()) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def security(
    user: str = USER,
    password: str = PASSWORD,
    token_extra: str = "",
    timestamp: str = "",
    kind: str = PASSWORD_TEXT,
) -> str:
    return (
        f'<wsse:Security xmlns:wsse="{WSSE}" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/'
        f'oasis-200401-wss-wssecurity-utility-1.0.xsd" soap:mustUnderstand="true">{timestamp}<wsse:UsernameToken>'
        f'<wsse:Username>{user}</wsse:Username><wsse:Password Type="{kind}">{password}</wsse:Password>'
        f"{token_extra}</wsse:UsernameToken></wsse:Security>"
    )


def get_dossiers(
    start: str = "2025-01-01T00:00:00+07:00",
    end: str = "2025-03-01T00:00:00+07:00",
    offset: Any = 0,
    limit: Any = LIMIT,
) -> str:
    return (
        f'<m:getDossiers xmlns:m="{TNS}"><m:criteria><m:modifiedFrom>{start}</m:modifiedFrom>'
        f"<m:modifiedTo>{end}</m:modifiedTo></m:criteria><m:offset>{offset}</m:offset><m:limit>{limit}</m:limit>"
        "</m:getDossiers>"
    )


def envelope(body: str, header: str | None = None) -> bytes:
    head = security() if header is None else header
    return (
        f'<soap:Envelope xmlns:soap="{SOAP12}"><soap:Header>{head}</soap:Header><soap:Body>{body}</soap:Body>'
        "</soap:Envelope>"
    ).encode()


def post(server: SimulatorProcess, data: bytes, content_type: str = SOAP_XML) -> requests.Response:
    return requests.post(
        f"{server.url}{SERVICE_PATH}", data=data, headers={"Content-Type": content_type}, timeout=10
    )


def parse(resp: requests.Response) -> etree._Element:
    return etree.fromstring(resp.content, SAFE)


def fault(resp: requests.Response) -> tuple[str, str | None, str, str]:
    """(Code/Value, Subcode/Value as {ns}local or None, Reason/Text, its xml:lang) of a SOAP 1.2 Fault."""
    node = parse(resp).find(f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault")
    assert node is not None, resp.text
    sub = node.find(f"{{{SOAP12}}}Code/{{{SOAP12}}}Subcode/{{{SOAP12}}}Value")
    subcode = None
    if sub is not None:
        prefix, _, local = sub.text.partition(":")
        subcode = f"{{{sub.nsmap[prefix]}}}{local}"
    text = node.find(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text")
    code = node.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value")
    return code, subcode, text.text, text.get("{http://www.w3.org/XML/1998/namespace}lang")


def windows() -> Iterator[tuple[str, str]]:
    """Contiguous 90-day windows over every update the vendor can have (receipts 2025-01-02 .. 2025-06-25)."""
    start, stop = (
        datetime.fromisoformat("2025-01-01T00:00:00+07:00"),
        datetime.fromisoformat("2026-01-01T00:00:00+07:00"),
    )
    while start < stop:
        end = min(start + timedelta(days=90), stop)
        yield start.isoformat(), end.isoformat()
        start = end


@pytest.fixture(scope="module")
def reading(server: SimulatorProcess) -> tuple[list[etree._Element], int]:
    """Every page (<ns2:result>) of every window, and how many requests the server refused meanwhile."""
    before, pages = stats(server)["refused"], []
    for start, end in windows():
        offset = 0
        while True:
            resp = post(server, envelope(get_dossiers(start, end, offset)))
            assert resp.status_code == 200, resp.text
            result = parse(resp).find(f".//{{{TNS}}}result")
            pages.append(result)
            offset += LIMIT
            if offset >= int(result.findtext(f"{{{TNS}}}totalCount")):
                break
    return pages, stats(server)["refused"] - before


def dossiers(pages: list[etree._Element]) -> list[etree._Element]:
    return [d for page in pages for d in page.findall(f"{{{TNS}}}dossier")]


# --- the happy path ------------------------------------------------------------------------------------------
def test_offset_paging_over_90_day_windows_reads_every_truth_dossier(
    server: SimulatorProcess, reading: tuple[list[etree._Element], int]
) -> None:
    pages, refused = reading
    items = requests.get(f"{server.url}/_vendor/truth", timeout=10).json()
    served = dossiers(pages)
    assert sum(1 for p in pages if p.findall(f"{{{TNS}}}dossier")) >= 3 and len(items) == harness.COUNT
    assert sorted(d.findtext(f"{{{TNS}}}id") for d in served) == sorted(i["source_record_id"] for i in items)
    assert all(d.findtext(f"{{{TNS}}}lastModifiedAt").endswith(".000+07:00") for d in served)
    assert refused == 0


def test_every_served_dossier_maps_to_the_truth(
    server: SimulatorProcess, reading: tuple[list[etree._Element], int]
) -> None:
    result = harness.served_against_truth(
        server.url, HERE / "en_camel_ns.yaml", "vendor_soap12_wsse", dossiers(reading[0])
    )
    assert not result.missing and result.fields > 250 * 30
    assert result.mismatches == []


# --- zeep: the WSDL is consumable and what zeep writes is served ----------------------------------------------
def zeep_call(server: SimulatorProcess, wsse: Any, **kwargs: Any) -> Any:
    """Build getDossiers with zeep (and `wsse`), send it with the headers zeep's SOAP 1.2 binding sets, and let
    zeep read the answer by the WSDL's schema (a Fault raises zeep.exceptions.Fault)."""
    client = zeep.Client(f"{server.url}{SERVICE_PATH}?wsdl", wsse=wsse, settings=STRICT)
    binding = client.service._binding
    args = {
        "criteria": {"modifiedFrom": datetime.fromisoformat("2025-01-01T00:00:00+07:00"),
                     "modifiedTo": datetime.fromisoformat("2025-03-31T00:00:00+07:00")},
        "offset": 50, "limit": 50, **kwargs,
    }  # fmt: skip
    message = client.create_message(client.service, "getDossiers", **args)
    content_type = f'application/soap+xml; charset=utf-8; action="{binding.get("getDossiers").soapaction}"'
    return binding.process_reply(
        client, binding.get("getDossiers"), post(server, etree.tostring(message), content_type)
    )


def test_zeep_with_a_username_token_builds_requests_the_service_answers(server: SimulatorProcess) -> None:
    result = zeep_call(server, UsernameToken(USER, PASSWORD))
    assert result.totalCount > 100 and result.offset == 50 and len(result.dossier) == 50
    assert result.dossier[0].lastModifiedAt.utcoffset() == timedelta(hours=7)


def test_zeep_faults_carry_the_vendors_subcode_and_words(server: SimulatorProcess) -> None:
    before = stats(server)["refused"]
    with pytest.raises(zeep.exceptions.Fault) as wrong:
        zeep_call(server, UsernameToken(USER, "sai-mat-khau-0000"))
    assert wrong.value.message == REFUSAL and wrong.value.code == "soap:Sender"
    assert wrong.value.subcodes == [etree.QName(WSSE, "FailedAuthentication")]

    with pytest.raises(zeep.exceptions.Fault) as digest:
        zeep_call(server, UsernameToken(USER, PASSWORD, use_digest=True))
    assert digest.value.subcodes == [etree.QName(WSSE, "UnsupportedSecurityToken")]

    stamp = WSU.Timestamp(WSU.Created(utc(timedelta(minutes=-10))), WSU.Expires(utc(timedelta(minutes=-5))))
    with pytest.raises(zeep.exceptions.Fault) as expired:
        zeep_call(server, UsernameToken(USER, PASSWORD, timestamp_token=stamp))
    assert expired.value.subcodes == [etree.QName(WSSE, "MessageExpired")]

    with pytest.raises(zeep.exceptions.Fault) as too_long:
        zeep_call(server, UsernameToken(USER, PASSWORD), criteria={
            "modifiedFrom": datetime.fromisoformat("2025-01-01T00:00:00+07:00"),
            "modifiedTo": datetime.fromisoformat("2025-04-02T00:00:00+07:00")})  # fmt: skip
    assert too_long.value.subcodes == [etree.QName(TNS, "QueryRangeExceeded")]
    assert too_long.value.detail.findtext(f".//{{{TNS}}}errorCode") == "QUERY_RANGE_EXCEEDED"
    assert stats(server)["refused"] == before + 4


# --- refusals ------------------------------------------------------------------------------------------------
def test_a_wrong_password_is_refused_in_the_vendors_words(server: SimulatorProcess) -> None:
    before = stats(server)["refused"]
    resp = post(server, envelope(get_dossiers(), security(password="sai-mat-khau-0000")))
    assert resp.status_code == 500 and resp.headers["Content-Type"].startswith("application/soap+xml")
    assert fault(resp) == ("soap:Sender", f"{{{WSSE}}}FailedAuthentication", REFUSAL, "vi")
    assert stats(server)["refused"] == before + 1


def test_an_expired_token_is_refused_and_a_nonce_is_good_once(server: SimulatorProcess) -> None:
    before = stats(server)["refused"]
    old = post(
        server,
        envelope(
            get_dossiers(), security(token_extra=f"<wsu:Created>{utc(timedelta(minutes=-6))}</wsu:Created>")
        ),
    )
    assert fault(old)[1:3] == (
        f"{{{WSSE}}}MessageExpired",
        "UsernameToken đã hết hạn (wsu:Created cách đây quá 5 phút).",
    )
    stamp = (
        f"<wsu:Timestamp><wsu:Created>{utc(timedelta(minutes=-2))}</wsu:Created>"
        f"<wsu:Expires>{utc(timedelta(seconds=-1))}</wsu:Expires></wsu:Timestamp>"
    )
    passed = post(server, envelope(get_dossiers(), security(timestamp=stamp)))
    assert fault(passed)[1] == f"{{{WSSE}}}MessageExpired"

    fresh = f"<wsse:Nonce>bm9uY2UtMDAwMDAwMDE=</wsse:Nonce><wsu:Created>{utc()}</wsu:Created>"
    assert post(server, envelope(get_dossiers(), security(token_extra=fresh))).status_code == 200
    replayed = post(server, envelope(get_dossiers(), security(token_extra=fresh)))
    assert fault(replayed)[1:3] == (
        f"{{{WSSE}}}InvalidSecurity",
        "Phát hiện yêu cầu phát lại: wsse:Nonce đã được sử dụng.",
    )
    assert stats(server)["refused"] == before + 3


Send = Callable[[SimulatorProcess], requests.Response]


def body(text: str, header: str | None = None) -> Send:
    return lambda server: post(server, envelope(text, header))


MALFORMED: dict[str, tuple[Send, int, tuple[str, ...]]] = {
    "GET": (lambda s: requests.get(f"{s.url}{SERVICE_PATH}", timeout=10), 405, ("Method Not Allowed",)),
    "text/xml": (
        lambda s: post(s, envelope(get_dossiers()), "text/xml; charset=utf-8"),
        415,
        ("application/soap+xml",),
    ),
    "SOAP 1.1 envelope": (
        lambda s: post(s, envelope(get_dossiers()).replace(SOAP12.encode(), SOAP11.encode())),
        500,
        ("soap:VersionMismatch", "Invalid SOAP version", "SupportedEnvelope"),
    ),
    "a SOAPAction": (
        lambda s: post(s, envelope(get_dossiers()), f'{SOAP_XML}; action="{TNS}getDossiers"'),
        500,
        ("does not match an operation",),
    ),
    "another wrapper": (
        body(get_dossiers().replace("getDossiers", "layDanhSachHoSo")),
        500,
        ("Unexpected wrapper element", "Expected {http://ws.motcua.haiduong.gov.vn/}getDossiers"),
    ),
    "no Security header": (body(get_dossiers(), ""), 500, ("wsse:InvalidSecurity", "thiếu tiêu đề bảo mật")),
    "no UsernameToken": (
        body(get_dossiers(), f'<wsse:Security xmlns:wsse="{WSSE}"/>'),
        500,
        ("wsse:InvalidSecurity", "không có wsse:UsernameToken"),
    ),
    "PasswordDigest": (
        body(get_dossiers(), security(kind=PASSWORD_DIGEST)),
        500,
        ("wsse:UnsupportedSecurityToken", "PasswordText"),
    ),
    "mustUnderstand header": (
        body(
            get_dossiers(), security() + '<t:Trace xmlns:t="urn:trace" soap:mustUnderstand="true">1</t:Trace>'
        ),
        500,
        ("soap:MustUnderstand", "MustUnderstand headers: [{urn:trace}Trace] are not understood."),
    ),
    "window over 90 days": (
        body(get_dossiers(end="2025-04-02T00:00:00+07:00")),
        500,
        ("ns2:QueryRangeExceeded", "vượt quá 90 ngày", "QUERY_RANGE_EXCEEDED"),
    ),
    "time without zone": (
        body(get_dossiers(start="2025-01-01T00:00:00")),
        500,
        ("ns2:InvalidQuery", "modifiedFrom phải có múi giờ"),
    ),
    "window backwards": (
        body(get_dossiers(start="2025-03-01T00:00:00+07:00", end="2025-01-01T00:00:00+07:00")),
        500,
        ("ns2:InvalidQuery", "modifiedFrom phải trước modifiedTo"),
    ),
    "limit too large": (body(get_dossiers(limit=500)), 500, ("ns2:InvalidQuery", "limit phải từ 1 đến 100")),
    "negative offset": (body(get_dossiers(offset=-50)), 500, ("ns2:InvalidQuery", "offset phải lớn hơn")),
    "no limit": (
        body(get_dossiers().replace(f"<m:limit>{LIMIT}</m:limit>", "")),
        500,
        ("ns2:InvalidQuery", "Thiếu tham số bắt buộc: limit"),
    ),
    "offset not a number": (
        body(get_dossiers(offset="trang-2")),
        500,
        ('Unmarshalling Error: For input string: "trang-2"',),
    ),
    "date not xs:dateTime": (
        body(get_dossiers(start="01/01/2025")),
        500,
        ("Unmarshalling Error: Unparseable date",),
    ),
    "unknown element": (
        body(get_dossiers().replace("<m:offset>0</m:offset>", "<m:page>1</m:page>")),
        500,
        ('Unmarshalling Error: unexpected element (uri:"http://ws.motcua.haiduong.gov.vn/", local:"page")',),
    ),
    "unqualified element": (
        body(get_dossiers().replace("<m:limit>50</m:limit>", "<limit>50</limit>")),
        500,
        ('unexpected element (uri:"", local:"limit")',),
    ),
    "not XML": (lambda s: post(s, b"getDossiers?offset=0"), 400, ("Error reading XMLStreamReader",)),
    "a DTD": (
        lambda s: post(s, b'<!DOCTYPE x [<!ENTITY e "x">]>' + envelope(get_dossiers())),
        400,
        ("Received event DTD",),
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_request_is_refused_and_counted(server: SimulatorProcess, case: str) -> None:
    send, status, words = MALFORMED[case]
    harness.refused_once(server.url, lambda: send(server), status, words)


def test_the_connection_holds_the_vendors_account() -> None:
    connection = json.loads((HERE / "connection.json").read_text(encoding="utf-8"))
    assert (connection["host"], connection["login"], connection["password"]) == ("{url}", USER, PASSWORD)


@pytest.mark.parametrize(("password", "loaded"), [("digest", True), ("text", False)])
def test_a_service_that_wants_a_password_digest_gets_one_with_its_nonce_and_created(
    password: str, loaded: bool, db: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """WSS4J with passwordType=PasswordDigest: `ws_password: digest` sends Base64(SHA-1(nonce + created +
    password)), a fresh nonce each call (the service takes each once); the password as text is refused."""
    from connectors.errors import AuthError
    from onestop import pipeline

    with harness.started("soap12_wsse", tmp_path, "--digest") as vendor:
        harness.configure(vendor, monkeypatch)
        registry_file = vendor.work / "sources.yaml"
        text = registry_file.read_text(encoding="utf-8")
        indent = text.split("ws_security: true")[0].rsplit("\n", 1)[1]
        registry_file.write_text(
            text.replace("ws_security: true", f"ws_security: true\n{indent}ws_password: {password}")
        )
        if loaded:
            assert pipeline.sync(vendor.source).loaded == harness.COUNT
        else:
            with pytest.raises(AuthError, match="chỉ chấp nhận mật khẩu dạng PasswordDigest"):
                pipeline.sync(vendor.source)
        sent = [r["body"] for r in vendor.stats()["requests"] if r["method"] == "POST"]
    assert sent and all(("#PasswordDigest" in b) == loaded and (PASSWORD in b) != loaded for b in sent)
