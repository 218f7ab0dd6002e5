"""`embedded`: systems whose answer carries its data as a document written as text inside it (an ASMX method
returning `string`, a JSON `data` that is a JSON-encoded string or base64 of one). Each case is a real HTTP server
answering as such a system does; the registry entry is what a data engineer writes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from connectors.connection import Connection
from connectors.errors import AuthError, ProtocolError, RefusedAnswer
from connectors.factory import open_source
from onestop import registry
from tests.connectors.scripted_server import scripted_server

JSON = {"Content-Type": "application/json; charset=utf-8"}
XML = {"Content-Type": "text/xml; charset=utf-8"}
CITIZEN_ID = "030163444892"


def source(url: str, **rest: Any) -> Any:
    entry = {
        "name": "hd_thu",
        "title": "Huyện Thử",
        "kind": "rest",
        "dialect": "igate",
        "conn_id": "onestop_src_hd_thu",
    }
    entry["rest"] = {"request": {"path": "/api/ho-so", "query": {"trang": "{page}"}}} | rest
    config = registry.parse({"sources": [entry]}).sources[0]
    return open_source(config, conn=Connection("onestop_src_hd_thu", host=url, login="u", password="p"))


def records(url: str, **rest: Any) -> list[dict[str, Any]]:
    return [r.record for page in source(url, **rest).pages(None, None) for r in page]


def page(items: list[dict[str, Any]], **outer: Any) -> tuple[int, dict[str, str], bytes]:
    return 200, JSON, json.dumps(outer | {"data": json.dumps(items, ensure_ascii=False)}).encode()


def dossiers(first: int, n: int) -> list[dict[str, Any]]:
    return [{"id": i, "ten": f"Hồ sơ số {i}"} for i in range(first, first + n)]


def test_records_in_a_json_text_with_the_total_beside_it_are_read_page_after_page() -> None:
    answers = [page(dossiers(1, 2), total=5), page(dossiers(3, 2), total=5), page(dossiers(5, 1), total=5)]
    with scripted_server(answers) as (url, log):
        got = records(
            url,
            embedded={"path": "data", "format": "json"},
            records="",
            paginator={"type": "page_number", "page_size": 2, "stop": "total_count", "total_path": "total"},
        )
    assert [r["id"] for r in got] == [1, 2, 3, 4, 5]
    assert got[0]["ten"] == "Hồ sơ số 1"
    assert log == ["GET /api/ho-so?trang=1", "GET /api/ho-so?trang=2", "GET /api/ho-so?trang=3"]


def test_a_path_the_embedded_document_holds_is_read_there_before_the_answer() -> None:
    inner = {"items": dossiers(1, 2), "total": 2}
    body = json.dumps({"total": 999, "data": json.dumps(inner)}).encode()
    with scripted_server([(200, JSON, body)]) as (url, log):
        got = records(
            url,
            embedded={"path": "data", "format": "json"},
            records="items",
            paginator={"type": "page_number", "page_size": 2, "stop": "total_count", "total_path": "total"},
        )
    assert [r["id"] for r in got] == [1, 2] and len(log) == 1  # the inner total (2), not the outer 999


def test_base64_wrapped_in_lines_as_mime_encoders_write_it() -> None:
    data = base64.encodebytes(json.dumps({"ds": dossiers(1, 40)}, ensure_ascii=False).encode()).decode()
    assert "\n" in data
    body = json.dumps({"ok": True, "data": data.replace("\n", "\r\n")}).encode()
    with scripted_server([(200, JSON, body)]) as (url, _):
        got = records(
            url,
            embedded={"path": "data", "format": "json", "base64": True},
            records="ds",
            paginator={"type": "single"},
        )
    assert [r["id"] for r in got] == list(range(1, 41)) and got[39]["ten"] == "Hồ sơ số 40"


def test_a_null_or_empty_text_is_a_page_without_records() -> None:
    for empty in (None, ""):
        body = json.dumps({"total": 0, "data": empty}).encode()
        with scripted_server([(200, JSON, body)]) as (url, log):
            got = records(
                url,
                embedded={"path": "data", "format": "json"},
                records="",
                paginator={"type": "page_number"},
            )
        assert got == [] and len(log) == 1


def test_a_system_that_sends_the_document_itself_rather_than_its_text_is_read_too() -> None:
    body = json.dumps({"data": {"ds": dossiers(1, 3)}}).encode()
    with scripted_server([(200, JSON, body)]) as (url, _):
        got = records(
            url, embedded={"path": "data", "format": "json"}, records="ds", paginator={"type": "single"}
        )
    assert [r["id"] for r in got] == [1, 2, 3]


def test_a_dataset_written_as_utf16_xml_inside_a_soap_like_answer_is_read_as_the_text_it_is() -> None:
    dataset = (
        '<?xml version="1.0" encoding="utf-16"?>\r\n<NewDataSet>'
        "<HoSo><Ma>1</Ma><Ten>Đăng ký khai sinh</Ten></HoSo><HoSo><Ma>2</Ma><Ten>Chứng thực</Ten></HoSo>"
        "<PhanTrang><Tong>2</Tong></PhanTrang></NewDataSet>"
    )
    escaped = dataset.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = f'<?xml version="1.0" encoding="utf-8"?><KetQua><DuLieu>{escaped}</DuLieu></KetQua>'.encode()
    with scripted_server([(200, XML, body)]) as (url, _):
        got = records(
            url,
            answer="xml",
            embedded={"path": "DuLieu", "format": "xml"},
            records="HoSo",
            paginator={
                "type": "page_number",
                "page_size": 50,
                "stop": "total_count",
                "total_path": "PhanTrang.Tong",
            },
        )
    assert got == [{"Ma": "1", "Ten": "Đăng ký khai sinh"}, {"Ma": "2", "Ten": "Chứng thực"}]


@pytest.mark.parametrize(
    "inner",
    [
        '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><r><HoSo>&b;</HoSo></r>',
        '<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><r><HoSo>1</HoSo></r>',
        '<r xmlns:xi="http://www.w3.org/2001/XInclude"><HoSo><xi:include href="file:///etc/passwd"/></HoSo></r>',
    ],
    ids=["entities", "external-dtd", "xinclude"],
)
def test_an_embedded_xml_document_is_held_to_the_same_safety_as_an_answer(inner: str) -> None:
    body = json.dumps({"data": inner}).encode()
    with scripted_server([(200, JSON, body)]) as (url, _), pytest.raises(RefusedAnswer) as refused:
        records(url, embedded={"path": "data", "format": "xml"}, records="HoSo", paginator={"type": "single"})
    assert "hd_thu" in str(refused.value)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"khac": 1}, "no embedded document at 'data'; the answer's keys are ['khac']"),
        ({"data": 42}, "'data' holds int, not json text"),
        ({"data": "{not json"}, "page 1: the text at 'data': answer is not JSON"),
        ({"data": f"!!{CITIZEN_ID}!!"}, "not base64"),
    ],
    ids=["missing", "a-number", "not-json", "not-base64"],
)
def test_an_answer_without_a_readable_embedded_document_is_refused_saying_where(
    data: dict, said: str
) -> None:
    base = said == "not base64"
    with (
        scripted_server([(200, JSON, json.dumps(data).encode())]) as (url, _),
        pytest.raises(RefusedAnswer) as err,
    ):
        records(
            url,
            embedded={"path": "data", "format": "json", "base64": base},
            records="",
            paginator={"type": "single"},
        )
    assert said in str(err.value)
    assert CITIZEN_ID not in str(
        err.value
    )  # the vendor's bytes are kept as the page's excerpt, never in the text


def test_errors_written_inside_the_embedded_document_mean_what_the_registry_says() -> None:
    inner = "<NewDataSet><Loi><Ma>DANG_NHAP</Ma><ThongBao>Sai mật khẩu</ThongBao></Loi></NewDataSet>"
    body = json.dumps({"d": inner}).encode()
    rule = {
        "when": {"path": "Loi.Ma", "exists": True},
        "code": "Loi.Ma",
        "message": "Loi.ThongBao",
        "means": "auth",
    }
    with scripted_server([(200, JSON, body)]) as (url, _), pytest.raises(AuthError) as err:
        records(
            url,
            embedded={"path": "d", "format": "xml", "errors": [rule]},
            records="HoSo",
            paginator={"type": "single"},
        )
    assert "DANG_NHAP" in str(err.value) and "Sai mật khẩu" in str(err.value)


def test_the_answer_s_own_error_envelope_is_read_before_its_embedded_document() -> None:
    body = json.dumps({"maLoi": 500, "thongBao": "Lỗi hệ thống", "data": None}).encode()
    rule = {"when": {"path": "maLoi", "not_equals": 0}, "code": "maLoi", "message": "thongBao"}
    with scripted_server([(200, JSON, body)]) as (url, _), pytest.raises(ProtocolError) as err:
        records(
            url,
            embedded={"path": "data", "format": "json"},
            records="",
            errors=[rule],
            paginator={"type": "single"},
        )
    assert "Lỗi hệ thống" in str(err.value)


def test_an_embedded_xml_document_needs_its_records_path() -> None:
    with pytest.raises(Exception, match="embedded XML document needs `records`"):
        source(
            "http://127.0.0.1:9",
            embedded={"path": "d", "format": "xml"},
            records="",
            paginator={"type": "single"},
        )
