"""Hostile XML is refused from what the parser reports, never from a byte search: a DTD however it is written
(any encoding, after a comment or a PI, internal subset or external), XInclude, a processing instruction that
names a resource — on every path that reads XML, before any record is read, and nothing is ever fetched."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from string import Template

import pytest

from connectors import safexml
from connectors.connection import Connection
from connectors.errors import ProtocolError
from connectors.http import HttpClient, HttpSettings
from connectors.soap import SoapSource, zeep_settings
from connectors.spec.soap import SoapSpec
from onestop.simulators.soap_district import ADDRESS_SLOT, WSDL_TEMPLATE
from schemas.dossier import HCM
from tests.conftest import shipped_spec
from tests.connectors.scripted_server import scripted_server

DTD = "answer carries a DTD"
RECORDS = "<R><DanhSach><HoSo Ma='A'><Ten>Nguyễn Văn A</Ten></HoSo><HoSo Ma='B'/></DanhSach></R>"
BOMB = (
    '<!DOCTYPE R [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{k} "{f"&lol{k - 1};" * 10 if k > 1 else "&lol;" * 10}">' for k in range(1, 10))
    + "]>"
)


@pytest.fixture(scope="module")
def listener() -> Iterator[tuple[int, list[str]]]:
    """A TCP port on 127.0.0.1 that records every connection made to it (none may be)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    connections: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except TimeoutError:
                continue
            connections.append(f"{peer}")
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join()
    server.close()


def encoded(text: str, encoding: str, bom: bytes = b"") -> bytes:
    return bom + text.encode(encoding)


def hostile(port: int) -> dict[str, bytes]:
    """Documents that must be refused, each holding the records above (so a reader that let them through
    would hand records over)."""
    entity = f'<!DOCTYPE R [<!ENTITY x "y">]>{RECORDS.replace("Văn A", "&x;")}'
    url = f"http://127.0.0.1:{port}"
    declared = '<?xml version="1.0" encoding="{}"?>'
    return {
        "utf-8": entity.encode(),
        "utf-8 declared": (declared.format("utf-8") + entity).encode(),
        "utf-8 bom": b"\xef\xbb\xbf" + entity.encode(),
        "whitespace first": ("\n \t" + entity).encode(),
        "utf-16 le bom": encoded(declared.format("UTF-16") + entity, "utf-16-le", b"\xff\xfe"),
        "utf-16 be bom": encoded(declared.format("UTF-16") + entity, "utf-16-be", b"\xfe\xff"),
        "utf-16le declared, no bom": encoded(declared.format("UTF-16LE") + entity, "utf-16-le"),
        "utf-16be declared, no bom": encoded(declared.format("UTF-16BE") + entity, "utf-16-be"),
        "utf-32 bom": encoded(declared.format("UTF-32") + entity, "utf-32"),
        "utf-32be declared, no bom": encoded(declared.format("UTF-32BE") + entity, "utf-32-be"),
        "after a comment holding <x>": f"<!-- <x> <R> -->{entity}".encode(),
        "after a PI": f"<?vendor ghi-chu <x>?>{entity}".encode(),
        "doctype alone": f"<!DOCTYPE R>{RECORDS}".encode(),
        "entity-only subset": f'<!DOCTYPE R [<!ENTITY unused "z">]>{RECORDS}'.encode(),
        "billion laughs": (BOMB + RECORDS.replace("Văn A", "&lol9;")).encode(),
        "external entity: file": (
            f'<!DOCTYPE R [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>{RECORDS.replace("Văn A", "&xxe;")}'
        ).encode(),
        "external entity: http": (
            f'<!DOCTYPE R [<!ENTITY xxe SYSTEM "{url}/e">]>{RECORDS.replace("Văn A", "&xxe;")}'
        ).encode(),
        "external dtd": f'<!DOCTYPE R SYSTEM "{url}/d.dtd">{RECORDS}'.encode(),
        "public id": f'<!DOCTYPE R PUBLIC "-//V//DTD R//VI" "{url}/p.dtd">{RECORDS}'.encode(),
        "parameter entity": f'<!DOCTYPE R [<!ENTITY % p SYSTEM "{url}/p"> %p;]>{RECORDS}'.encode(),
        "internal parameter entity": (
            "<!DOCTYPE R [<!ENTITY % q \"<!ENTITY x 'y'>\"> %q;]>" + RECORDS.replace("Văn A", "&x;")
        ).encode(),
    }


def others(port: int) -> dict[str, tuple[bytes, str]]:
    """Documents without a DTD that must be refused all the same: (document, what the refusal says)."""
    url = f"http://127.0.0.1:{port}"
    return {
        "xinclude": (
            RECORDS.replace(
                "<DanhSach>",
                f'<DanhSach xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{url}/x" parse="text"/>',
            ).encode(),
            "XInclude",
        ),
        "xml-stylesheet": (
            f'<?xml-stylesheet type="text/xsl" href="{url}/s.xsl"?>{RECORDS}'.encode(),
            "resource",
        ),
        "a PI naming a URL inside": (
            RECORDS.replace("<HoSo Ma='B'/>", f"<HoSo Ma='B'><?fetch {url}/p?></HoSo>").encode(),
            "resource",
        ),
        "ebcdic": (
            '<?xml version="1.0" encoding="IBM037"?><!DOCTYPE R [<!ENTITY x "y">]><R><HoSo>&x;</HoSo></R>'.encode(
                "cp037"
            ),
            "not well-formed",  # libxml2 reads no EBCDIC: refused, nothing read
        ),
    }


READERS: dict[str, Callable[[bytes], object]] = {
    "read_answer": lambda body: safexml.read_answer(body, "DanhSach.HoSo", "v"),
    "scan_answer": lambda body: safexml.scan_answer(body, "DanhSach.HoSo", "v"),
    "read_document": lambda body: safexml.read_document(body, "v"),
    "parse_document": lambda body: safexml.parse_document(body, "v"),
    "iter_elements": lambda body: list(safexml.iter_elements(body, "HoSo", "v")),
    "refuse_dtd": lambda body: safexml.refuse_dtd(body, "v"),
}


@pytest.mark.parametrize("reader", READERS)
def test_a_dtd_in_any_form_is_refused_on_every_path(reader: str, listener: tuple[int, list[str]]) -> None:
    port, connections = listener
    for name, body in hostile(port).items():
        with pytest.raises(ProtocolError) as caught:
            READERS[reader](body)
        assert str(caught.value).startswith(f"v: {DTD}"), (name, str(caught.value))
        assert "lol" not in str(caught.value) and "root:" not in str(caught.value)
    assert connections == [], "nothing was fetched"


def test_staged_records_with_a_dtd_are_refused(listener: tuple[int, list[str]]) -> None:
    """A staged record is text (what safexml.to_text wrote): the hostile documents that are UTF-8 text."""
    port, connections = listener
    texts = {
        n: b.decode("utf-8-sig") for n, b in hostile(port).items() if not n.startswith(("utf-16", "utf-32"))
    }
    assert len(texts) == 15
    for name, text in texts.items():
        with pytest.raises(ProtocolError) as caught:
            safexml.parse_record(text)
        assert str(caught.value).startswith(f"staging: {DTD}"), name
    assert connections == []


@pytest.mark.parametrize("reader", READERS)
def test_xinclude_pis_naming_resources_and_unreadable_encodings_are_refused(
    reader: str, listener: tuple[int, list[str]]
) -> None:
    port, connections = listener
    for name, (body, said) in others(port).items():
        if reader == "refuse_dtd" and name == "ebcdic":
            continue  # not XML at all: left to the WSDL's reader to say so
        with pytest.raises(ProtocolError, match=f"^v: (page [0-9]+: )?answer .*{said}") as caught:
            READERS[reader](body)
        assert "Nguyễn" not in str(caught.value), name
    with pytest.raises(ProtocolError, match=r"^staging: answer declares XInclude"):
        safexml.parse_record(others(port)["xinclude"][0].decode())
    assert connections == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(RECORDS.encode(), id="utf-8"),
        pytest.param(b"\xef\xbb\xbf" + RECORDS.encode(), id="utf-8 bom"),
        pytest.param(encoded('<?xml version="1.0" encoding="UTF-16"?>' + RECORDS, "utf-16"), id="utf-16 bom"),
        pytest.param(
            encoded('<?xml version="1.0" encoding="UTF-16"?>' + RECORDS, "utf-16-be", b"\xfe\xff"),
            id="utf-16 be bom",
        ),
        pytest.param(
            encoded('<?xml version="1.0" encoding="UTF-16LE"?>' + RECORDS, "utf-16-le"), id="utf-16le"
        ),
        pytest.param(encoded('<?xml version="1.0" encoding="UTF-32"?>' + RECORDS, "utf-32"), id="utf-32 bom"),
        pytest.param(
            encoded('<?xml version="1.0" encoding="UTF-32BE"?>' + RECORDS, "utf-32-be"), id="utf-32be"
        ),
        pytest.param(b"<?vendor ghi-chu?><!-- <x> -->" + RECORDS.encode(), id="a harmless PI and comment"),
    ],
)
def test_normal_documents_in_those_encodings_are_read(body: bytes) -> None:
    document, records = safexml.read_answer(body, "DanhSach.HoSo", "v")
    assert [r["@Ma"] for r, _ in records] == ["A", "B"]
    assert records[0][0]["Ten"] == "Nguyễn Văn A" and document == {"DanhSach": None}
    assert safexml.parse_record(records[0][1]).get("Ma") == "A"
    assert safexml.read_document(body, "v")["DanhSach"]["HoSo"][1] == {"@Ma": "B"}


def test_a_big_answer_is_handed_over_in_chunks_after_it_proved_sound() -> None:
    body = (
        "<R><N>2500</N><DanhSach>" + "".join(f"<HoSo Ma='{i}'/>" for i in range(2500)) + "</DanhSach></R>"
    ).encode()
    document, records = safexml.scan_answer(body, "DanhSach.HoSo", "v")
    assert document == {"N": "2500", "DanhSach": None} and len(records) == 2500
    chunks = list(records.chunks())
    assert [len(c) for c in chunks] == [1000, 1000, 500]
    assert [c.continues for c in chunks] == [False, True, True]
    assert [r.record["@Ma"] for c in chunks for r in c] == [str(i) for i in range(2500)]
    broken = body.replace(b"</DanhSach></R>", b"<HoSo>")
    with pytest.raises(ProtocolError, match=r"^v: (page [0-9]+: )?answer is not well-formed XML"):
        safexml.scan_answer(broken, "DanhSach.HoSo", "v")  # before any record is handed over


# --- the SOAP connector: answers and the WSDL go through the same reader -----------------------------------


def soap_source(url: str, settings: HttpSettings | None = None) -> SoapSource:
    conn = Connection("onestop_src_v", host=url, login="soap", password="secret")
    client = HttpClient("v", url, settings or HttpSettings(max_attempts=1))
    spec: SoapSpec = shipped_spec("soap")
    return SoapSource("v", spec, conn, client, HCM)


def wsdl(url: str) -> bytes:
    return WSDL_TEMPLATE.read_text(encoding="utf-8").replace(ADDRESS_SLOT, f"{url}/soap").encode()


XML = {"Content-Type": "text/xml; charset=utf-8"}
ANSWER = Template(
    '<?xml version="1.0" encoding="$enc"?>$dtd<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
    '<soap:Body><LayDanhSachHoSoResponse xmlns="urn:motcua:hoso:v1"><TongSo>1</TongSo><Trang>1</Trang>'
    '<DanhSachHoSo><HoSo Id="1"><MaHoSo>$ma</MaHoSo></HoSo></DanhSachHoSo></LayDanhSachHoSoResponse>'
    "</soap:Body></soap:Envelope>"
)


def test_soap_answers_with_a_dtd_in_utf16_are_refused(listener: tuple[int, list[str]]) -> None:
    port, connections = listener
    dtd = f'<!DOCTYPE soap:Envelope [<!ENTITY x SYSTEM "http://127.0.0.1:{port}/e">]>'
    answers: list[tuple[int, dict[str, str], bytes]] = []
    with scripted_server(answers) as (url, log):
        answers += [
            (200, XML, wsdl(url)),
            (200, XML, ANSWER.substitute(enc="UTF-16", dtd=dtd, ma="&x;").encode("utf-16")),
        ]
        with pytest.raises(ProtocolError, match=f"^v: (page [0-9]+: )?{DTD}"):
            list(soap_source(url).pages(None, None))
        assert log == ["GET /soap?wsdl", "POST /soap"]
    answers.clear()
    with scripted_server(answers) as (url, log):
        answers.append((200, XML, ANSWER.substitute(enc="UTF-16", dtd="", ma="X").encode("utf-16")))
        answers.insert(0, (200, XML, wsdl(url)))
        [page] = list(soap_source(url).pages(None, None))
        assert page[0].record == {"@Id": "1", "MaHoSo": "X"}
    assert connections == []


def test_a_wsdl_with_a_dtd_is_refused_before_zeep_reads_it(listener: tuple[int, list[str]]) -> None:
    port, connections = listener
    answers: list[tuple[int, dict[str, str], bytes]] = []
    with scripted_server(answers) as (url, log):
        text = wsdl(url).decode().split("?>", 1)[1]
        hostile_wsdl = f'<?xml version="1.0" encoding="UTF-16"?><!-- <x> --><!DOCTYPE d SYSTEM "http://127.0.0.1:{port}/d">{text}'
        answers.append((200, XML, hostile_wsdl.encode("utf-16")))
        with pytest.raises(ProtocolError, match=f"^v: (page [0-9]+: )?{DTD}"):
            soap_source(url).probe()
        assert log == ["GET /soap?wsdl"]
    assert connections == []


def test_zeep_parses_only_the_wsdl_and_forbids_dtds_and_entities_there_too() -> None:
    """Answers never reach zeep's parser (safexml reads them); the WSDL does, after safexml judged it. Transitive
    imports stay allowed (forbid_external would refuse a schema a WCF service imports from its own ?xsd=xsd0):
    our transport is the gate, on the system's host only."""
    settings = zeep_settings()
    assert (settings.forbid_dtd, settings.forbid_entities, settings.xml_huge_tree) == (True, True, False)
