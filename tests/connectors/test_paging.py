"""Paging under a list that changes while it is read (connectors.paging): records that leave the list move the
rest up, past pages already read. Each case is a real HTTP server answering page after page as the system did."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.connection import Connection
from connectors.errors import ConfigError, ProtocolError, RefusedAnswer
from connectors.factory import open_source
from connectors.http import Answer
from onestop import registry
from tests.connectors.entries import opened
from tests.connectors.scripted_server import Answering, routed_server, scripted_server, serving

JSON = {"Content-Type": "application/json"}


def page(ids: list[int], total: int) -> tuple[int, dict[str, str], bytes]:
    return 200, JSON, json.dumps({"total": total, "items": [{"id": i} for i in ids]}).encode()


def open_reader(url: str, paginator: dict[str, Any]) -> Any:
    query = {"page": "{page}"} if paginator["type"] == "page_number" else {"offset": "{offset}"}
    spec = {"request": {"path": "/ds", "query": query}, "records": "items", "paginator": paginator}
    return opened("rest", spec, Connection("c", host=url))


def read_ids(url: str, paginator: dict[str, Any]) -> list[int]:
    return [r.record["id"] for chunk in open_reader(url, paginator).pages(None, None) for r in chunk]


@pytest.mark.parametrize("kind", ["page_number", "offset"])
def test_records_that_leave_the_list_mid_read_do_not_cost_the_ones_that_moved_up(kind: str) -> None:
    # [1..6] by twos; after page 2, dossiers 1 and 2 are edited out of the window: [3, 4, 5, 6], and page 3 is
    # empty. Read on, 5 and 6 would never come; the window is read again from its first page.
    answers = [page([1, 2], 6), page([3, 4], 6), page([], 4), page([3, 4], 4), page([5, 6], 4)]
    with scripted_server(answers) as (url, log):
        ids = read_ids(url, {"type": kind, "page_size": 2, "stop": "total_count", "total_path": "total"})
    assert set(ids) == {1, 2, 3, 4, 5, 6}
    assert len(log) == 5


def test_a_list_that_only_grows_is_read_on() -> None:
    answers = [page([1, 2], 4), page([3, 4], 5), page([5], 5)]
    with scripted_server(answers) as (url, log):
        ids = read_ids(
            url, {"type": "page_number", "page_size": 2, "stop": "total_count", "total_path": "total"}
        )
    assert ids == [1, 2, 3, 4, 5] and len(log) == 3


def test_a_list_that_keeps_shrinking_fails_the_run_rather_than_skip_records() -> None:
    answers = [page([1, 2], 100 - n) for n in range(20)]
    with (
        scripted_server(answers) as (url, _),
        pytest.raises(ProtocolError, match=r"the list shrank while it"),
    ):
        read_ids(url, {"type": "page_number", "page_size": 2, "stop": "total_count", "total_path": "total"})


TOTAL = {"page_size": 2, "stop": "total_count", "total_path": "total"}


@pytest.mark.parametrize("kind", ["page_number", "offset"])
def test_an_empty_page_before_the_total_is_asked_for_again_and_a_page_that_failed_quietly_loses_nothing(
    kind: str,
) -> None:
    answers = [page([1, 2], 4), page([], 4), page([3, 4], 4)]
    with scripted_server(answers) as (url, log):
        ids = read_ids(url, {"type": kind, **TOTAL})
    assert ids == [1, 2, 3, 4]
    assert len(log) == 3 and log[1] == log[2]  # the same page, asked twice


@pytest.mark.parametrize(
    ("stop", "said"), [("total_count", "says 4 records and 2 records came"), ("total_pages", "says 4 pages")]
)
def test_a_page_that_stays_empty_before_the_total_fails_the_run_rather_than_end_the_window_short(
    stop: str, said: str
) -> None:
    paginator = {"type": "page_number", "page_size": 2, "stop": stop}
    paginator["total_path" if stop == "total_count" else "total_pages_path"] = "total"
    with (
        scripted_server([page([1, 2], 4), page([], 4), page([], 4)]) as (url, log),
        pytest.raises(ProtocolError, match=rf"page 2: no records, yet the system's total {said}"),
    ):
        read_ids(url, paginator)
    assert len(log) == 3


@pytest.mark.parametrize("kind", ["page_number", "offset"])
def test_a_system_that_ignores_the_page_asked_for_fails_the_run_instead_of_reading_it_for_ever(
    kind: str,
) -> None:
    with (
        scripted_server([page([1, 2], 0)] * 50) as (url, log),
        pytest.raises(
            ProtocolError, match=r"page 2: the same 2 records as the page before: the system ignores"
        ),
    ):
        read_ids(url, {"type": kind, "page_size": 2})
    assert len(log) == 2


def test_the_same_records_again_on_a_list_that_grew_by_a_page_are_read_on() -> None:
    # two dossiers added at the head while page 1 was read: page 2 holds page 1's two again, and the total says so
    answers = [page([3, 4], 4), page([3, 4], 6), page([1, 2], 6)]
    with scripted_server(answers) as (url, log):
        ids = read_ids(url, {"type": "page_number", **TOTAL})
    assert ids == [3, 4, 3, 4, 1, 2] and len(log) == 3


def test_a_system_whose_total_counts_more_than_it_sends_says_so_and_ends_on_its_empty_page() -> None:
    with scripted_server([page([1, 2], 5), page([3], 5), page([], 5)]) as (url, log):
        ids = read_ids(url, {"type": "page_number", **TOTAL, "total_counts_more": True})
    assert ids == [1, 2, 3] and len(log) == 3


@pytest.mark.parametrize("kind", ["page_number", "offset"])
def test_a_system_that_caps_its_pages_below_page_size_is_found_out_before_a_sync_stops_after_one(
    kind: str,
) -> None:
    answers = [page(list(range(1, 51)), 0), page(list(range(51, 101)), 0)]
    with scripted_server(answers) as (url, log):
        reader = open_reader(url, {"type": kind, "page_size": 100})
        assert read_ids(url, {"type": kind, "page_size": 100}) == list(range(1, 51))  # what a sync would read
        with pytest.raises(
            ProtocolError, match=r"page 1 has 50 records, fewer than page_size 100, yet page 2 has 50"
        ):
            reader.probe()
    second = "page=2" if kind == "page_number" else "offset=50"
    assert log[-2:] == [log[0], f"GET /ds?{second}"]


def test_a_short_first_page_followed_by_nothing_is_no_problem() -> None:
    with scripted_server([page([1, 2, 3], 0), page([], 0)]) as (url, log):
        assert "the first page has 3 record(s)" in open_reader(url, {"type": "page_number"}).probe()
    assert len(log) == 2


def test_a_graphql_api_is_paged_by_its_relay_cursor_and_its_errors_in_http_200_fail_the_run() -> None:
    """A GraphQL endpoint (POST {query, variables}; a Relay connection: edges[].node, pageInfo.endCursor and
    hasNextPage; errors as {"errors": [...]} in HTTP 200) is written in the REST language alone: the cursor
    variable is left out of the first request, the query text goes as sent."""
    query = "query($tu: String!, $sau: String) { hoSo(tuNgay: $tu, sau: $sau, dau: 2) { edges { node { id } } pageInfo { endCursor hasNextPage } } }"

    def answer(ids: list[int], cursor: str, more: bool) -> tuple[int, dict[str, str], bytes]:
        edges = [{"cursor": f"c{i}", "node": {"id": i}} for i in ids]
        info = {"endCursor": cursor, "hasNextPage": more}
        return 200, JSON, json.dumps({"data": {"hoSo": {"edges": edges, "pageInfo": info}}}).encode()

    entry = {"name": "hd_thu", "title": "Huyện Thử", "kind": "rest", "dialect": "igate", "conn_id": "c"}
    entry["rest"] = {
        "request": {"method": "POST", "path": "/graphql",
                    "json": {"query": query, "variables": {"tu": "{start}", "sau": "{cursor}"}}},
        "records": "data.hoSo.edges",
        "paginator": {"type": "cursor", "cursor_path": "data.hoSo.pageInfo.endCursor",
                      "has_more_path": "data.hoSo.pageInfo.hasNextPage"},
        "incremental": {"format": "iso"},
        "errors": [{"when": {"path": "errors", "exists": True}, "message": "errors[0].message"}],
    }  # fmt: skip
    source = registry.parse({"sources": [entry]}).sources[0]
    window = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 2, tzinfo=UTC))
    pages = [answer([1, 2], "c2", True), answer([3], "c3", False)]
    with scripted_server(pages) as (url, log):
        raws = [r for c in open_source(source, conn=Connection("c", host=url)).pages(*window) for r in c]
    assert [r.record["node"]["id"] for r in raws] == [1, 2, 3] and len(log) == 2
    refused = (
        200,
        JSON,
        json.dumps({"errors": [{"message": "Không có quyền truy cập trường hoSo"}]}).encode(),
    )
    with (
        scripted_server([refused]) as (url, _),
        pytest.raises(ProtocolError, match="Không có quyền truy cập"),
    ):
        list(open_source(source, conn=Connection("c", host=url)).pages(*window))


def test_a_cursor_of_sort_values_goes_back_as_the_json_it_was_and_one_that_repeats_is_a_loop() -> None:
    """Elasticsearch's search_after: the next page is asked after the last hit's sort values, a JSON array."""

    def hits(*sorts: list[Any]) -> tuple[int, dict[str, str], bytes]:
        found = [{"_id": str(s[1]), "sort": s} for s in sorts]
        return 200, JSON, json.dumps({"hits": {"hits": found}}).encode()

    spec = {"request": {"method": "POST", "path": "/ho-so/_search", "json": {"size": 2, "search_after": "{cursor}"}},
            "records": "hits.hits", "paginator": {"type": "cursor", "cursor_path": "hits.hits[-1].sort"}}  # fmt: skip
    first, second = [1740000000000, "a"], [1740000000000, "b"]
    answers, asked = [hits(first, second), hits([1740000005000, "c"]), hits()], []

    def route(_path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        asked.append(json.loads(body).get("search_after"))
        return answers[len(asked) - 1]

    with routed_server(route) as (url, _):
        reader = opened("rest", spec, Connection("c", host=url))
        assert [r.record["_id"] for c in reader.pages(None, None) for r in c] == ["a", "b", "c"]
    assert asked == [None, second, [1740000005000, "c"]]
    with (
        scripted_server([hits(first, second), hits(second)]) as (url, _),
        pytest.raises(ProtocolError, match=r'the cursor \'\[1740000000000,"b"\]\' came back again'),
    ):
        list(opened("rest", spec, Connection("c", host=url)).pages(None, None))


DYNAMO_SPEC = {
    "request": {"method": "POST", "path": "/", "json": {"Limit": 2, "ExclusiveStartKey": "{cursor}"}},
    "records": "Items",
    "paginator": {"type": "cursor", "cursor_path": "LastEvaluatedKey", "cursor_type": "object"},
}


def scan(ids: list[str], last: Any = None) -> tuple[int, dict[str, str], bytes]:
    """A DynamoDB Scan answer: its items, and the key object to start the next page after (none on the last)."""
    answer: dict[str, Any] = {"Items": [{"pk": {"S": i}} for i in ids], "Count": len(ids)}
    if last is not None:
        answer["LastEvaluatedKey"] = last
    return 200, JSON, json.dumps(answer).encode()


def test_a_key_object_goes_back_whole_in_the_body_even_after_an_empty_page() -> None:
    """DynamoDB's Scan counts Limit before its filter: a page may be empty and still have a LastEvaluatedKey; only
    an answer without one is the last. The key goes back as the object it came as, never as text."""
    key = {"pk": {"S": "HOSO#2"}, "sk": {"S": "META"}}
    answers = [scan(["a", "b"], key), scan([], {"pk": {"S": "HOSO#4"}, "sk": {"S": "META"}}), scan(["e"])]
    asked: list[Any] = []

    def route(_path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        asked.append(json.loads(body).get("ExclusiveStartKey"))
        return answers[len(asked) - 1]

    with routed_server(route) as (url, _):
        reader = opened("rest", DYNAMO_SPEC, Connection("c", host=url))
        assert [r.record["pk"]["S"] for c in reader.pages(None, None) for r in c] == ["a", "b", "e"]
    assert asked == [None, key, {"pk": {"S": "HOSO#4"}, "sk": {"S": "META"}}]


@pytest.mark.parametrize(
    ("last", "said"),
    [
        (
            "eyJwayI6IkhPU08jMiJ9",
            r"the cursor at LastEvaluatedKey is a text, not the object this source's paginator",
        ),
        ([{"S": "HOSO#2"}], r"the cursor at LastEvaluatedKey is a list, not the object"),
        (12, r"the cursor at LastEvaluatedKey is a text, not the object"),
        (
            {"pk": {"S": "x" * (1 << 20)}},
            r"the cursor at LastEvaluatedKey is 1048\d{3} characters long, past the 1048576",
        ),
    ],
    ids=["text", "list", "number", "huge"],
)
def test_a_cursor_that_is_not_the_object_awaited_or_is_huge_fails_the_run_naming_the_source(
    last: Any, said: str
) -> None:
    with (
        scripted_server([scan(["a"], last), scan([])]) as (url, log),
        pytest.raises(ProtocolError, match=rf"^hd_thu: page 1: {said}"),
    ):
        list(opened("rest", DYNAMO_SPEC, Connection("c", host=url)).pages(None, None))
    assert len(log) == 1  # never sent back


def test_a_key_object_that_comes_back_again_is_a_loop_quoted_without_its_personal_data() -> None:
    key = {"cccd": {"S": "001090012345"}}
    with (
        scripted_server([scan(["a"], key), scan(["b"], key)]) as (url, _),
        pytest.raises(ProtocolError, match=r"came back again \(a loop\)") as info,
    ):
        list(opened("rest", DYNAMO_SPEC, Connection("c", host=url)).pages(None, None))
    assert "001090012345" not in str(info.value)


def bare(ids: list[int], **headers: str) -> tuple[int, dict[str, str], bytes]:
    """A page that is only its records (a JSON list), what paging it needs in its headers."""
    return 200, {**JSON, **headers}, json.dumps([{"id": i} for i in ids]).encode()


def test_a_total_in_a_response_header_stops_the_read_and_a_shrinking_one_reads_the_slice_again() -> None:
    """json-server's and WordPress's X-Total-Count: a list with nothing around it, its total beside it."""
    spec = {"request": {"path": "/ds", "query": {"_page": "{page}", "_limit": "{page_size}"}}, "records": "",
            "paginator": {"type": "page_number", "page_size": 2, "stop": "total_count",
                          "total_path": "header:X-Total-Count"}}  # fmt: skip
    answers = [bare([1, 2], **{"X-Total-Count": "4"}), bare([3, 4], **{"x-total-count": "4"})]
    with scripted_server(answers) as (url, log):
        ids = [
            r.record["id"]
            for p in opened("rest", spec, Connection("c", host=url)).pages(None, None)
            for r in p
        ]
    assert ids == [1, 2, 3, 4] and len(log) == 2  # full last page: no request for an empty one

    shrinking = [bare([1, 2], **{"X-Total-Count": "5"}), bare([4, 5], **{"X-Total-Count": "4"}),
                 bare([1, 2], **{"X-Total-Count": "4"}), bare([3, 4], **{"X-Total-Count": "4"})]  # fmt: skip
    with scripted_server(shrinking) as (url, log):
        ids = [
            r.record["id"]
            for p in opened("rest", spec, Connection("c", host=url)).pages(None, None)
            for r in p
        ]
    assert set(ids) == {1, 2, 3, 4, 5} and len(log) == 4  # 3 moved up past page 1: read again, not skipped


def test_asp_net_core_s_x_pagination_header_is_read_as_the_json_it_holds() -> None:
    spec = {"request": {"path": "/api/hoso", "query": {"pageNumber": "{page}"}}, "records": "",
            "paginator": {"type": "page_number", "page_size": 2, "stop": "has_more",
                          "has_more_path": "header:X-Pagination.HasNext"}}  # fmt: skip
    meta = {"TotalCount": 3, "PageSize": 2, "CurrentPage": 1, "TotalPages": 2, "HasNext": True}
    answers = [bare([1, 2], **{"X-Pagination": json.dumps(meta)}),
               bare([3], **{"X-Pagination": json.dumps({**meta, "CurrentPage": 2, "HasNext": False})})]  # fmt: skip
    with scripted_server(answers) as (url, log):
        reader = opened("rest", spec, Connection("c", host=url))
        ids = [r.record["id"] for p in reader.pages(None, None) for r in p]
    assert ids == [1, 2, 3] and log == ["GET /api/hoso?pageNumber=1", "GET /api/hoso?pageNumber=2"]


def test_a_header_that_is_not_json_or_nested_past_any_parser_has_no_value_at_a_path() -> None:
    from connectors.embedded import Headed

    for value in ("{not json", "[" * 60_000, '{"HasNext": true'):
        assert Headed({}, {"X-Pagination": value}).header("header:X-Pagination.HasNext") is None


def test_a_header_path_the_answer_lacks_is_said_by_a_preview() -> None:
    from connectors.paging import PageRead, live_problems
    from connectors.spec.rest import RestSpec

    spec = RestSpec.model_validate(
        {
            "request": {"path": "/ds", "query": {"p": "{page}"}},
            "paginator": {"type": "page_number", "stop": "total_count", "total_path": "header:X-Total-Count"},
        }
    )
    page = PageRead(1, "GET", "http://h/ds", [{"id": 1}], [{"id": 1}], {"X-Total-Count": "1"}, None)
    assert live_problems(spec, page) == []
    page = PageRead(1, "GET", "http://h/ds", [{"id": 1}], [{"id": 1}], {"Content-Type": "text/json"}, None)
    assert live_problems(spec, page) == [
        "paginator.total_path 'header:X-Total-Count' is not in the answer's headers (its headers: ['Content-Type'])"
    ]


@pytest.mark.parametrize("records", ["items", ""])
def test_no_content_is_a_page_without_records_that_ends_the_list(records: str) -> None:
    """ASP.NET's and Spring's `NoContent()`: 204 and no body where a list has nothing (more) in it."""
    first = {"items": [{"id": 1}, {"id": 2}]} if records else [{"id": 1}, {"id": 2}]
    spec = {"request": {"path": "/ds", "query": {"page": "{page}"}}, "records": records,
            "paginator": {"type": "page_number", "page_size": 2}}  # fmt: skip
    with scripted_server([(200, JSON, json.dumps(first).encode()), (204, {}, b"")]) as (url, log):
        found = [
            r.record["id"]
            for c in opened("rest", spec, Connection("c", host=url)).pages(None, None)
            for r in c
        ]
    assert found == [1, 2] and log == ["GET /ds?page=1", "GET /ds?page=2"]
    with scripted_server([(204, {}, b"")]) as (url, log):
        assert list(opened("rest", spec, Connection("c", host=url)).pages(None, None)) == []


@pytest.mark.parametrize(
    ("answer", "read"),
    [
        ({"data": {"items": None}}, []),  # "danh_sach": null where there is nothing
        ({"data": None}, []),  # the whole data null
        ({"data": {"items": ""}}, []),  # an empty element, as a converter from XML writes it
        ({"data": {}}, "no list of records at 'data.items'"),  # a key the answer lacks: a wrong path?
        ({"loi": "Hệ thống bận"}, "no list of records at 'data.items'"),  # or an error no rule knows
        ({"data": {"items": "x"}}, "found str"),
    ],
)
def test_a_null_where_the_records_are_is_an_empty_page_and_a_missing_key_is_refused(
    answer: Any, read: Any
) -> None:
    spec = {"request": {"path": "/ds"}, "records": "data.items", "paginator": {"type": "single"}}
    with scripted_server([(200, JSON, json.dumps(answer).encode())]) as (url, _):
        reader = opened("rest", spec, Connection("c", host=url))
        if isinstance(read, list):
            assert [r.record for c in reader.pages(None, None) for r in c] == read
        else:
            with pytest.raises(RefusedAnswer, match=read):
                list(reader.pages(None, None))


def test_json_converted_from_xml_writes_one_record_as_an_object_and_one_as_object_reads_it_as_a_list() -> (
    None
):
    """PHP's json_encode(simplexml_load_string(…)): one <HoSo> becomes an object, two a list."""
    pages = [{"DanhSach": {"HoSo": [{"Ma": "A"}, {"Ma": "B"}]}}, {"DanhSach": {"HoSo": {"Ma": "C"}}}]
    spec = {"request": {"path": "/ds", "query": {"trang": "{page}"}},
            "records": {"path": "DanhSach.HoSo", "one_as_object": True},
            "paginator": {"type": "page_number", "page_size": 2}}  # fmt: skip
    answers = [(200, JSON, json.dumps(p).encode()) for p in pages]
    with scripted_server(answers) as (url, _):
        found = [
            r.record["Ma"]
            for c in opened("rest", spec, Connection("c", host=url)).pages(None, None)
            for r in c
        ]
    assert found == ["A", "B", "C"]
    with scripted_server(answers[1:]) as (url, _), pytest.raises(RefusedAnswer, match="found dict"):
        list(
            opened("rest", {**spec, "records": "DanhSach.HoSo"}, Connection("c", host=url)).pages(None, None)
        )


@pytest.mark.parametrize(
    ("link", "asked"),
    [
        ("http://10.0.8.21:8080/api/ds?trang=2&khoa=x", "GET /api/ds?trang=2&khoa=x"),  # behind a proxy
        ("https://thu-thap.example.net/ds?trang=2", "GET /ds?trang=2"),  # another host altogether
        ("/api/ds?trang=2", "GET /api/ds?trang=2"),  # relative: as it is
    ],
    ids=["internal-host", "another-host", "relative"],
)
def test_a_next_link_to_another_host_is_followed_on_the_connection_s_host_with_its_credentials(
    link: str, asked: str
) -> None:
    """A system behind a proxy writes its next links with its own internal host; followed there, the call would
    fail, or carry the connection's key to a host no one named. Its path and query are asked of the connection's
    host, as a WSDL's address is."""
    keys: list[str | None] = []

    def route(path: str, _body: bytes) -> tuple[int, dict[str, str], bytes]:
        return 200, JSON, json.dumps({"items": [{"id": len(keys)}], "next": None if keys else link}).encode()

    spec = {"request": {"path": "/ds"}, "records": "items", "paginator": {"type": "next_link", "next_path": "next"},
            "auth": {"type": "api_key", "in": "header", "name": "X-Api-Key"}}  # fmt: skip
    with routed_server(route) as (url, log):
        reader = opened("rest", spec, Connection("c", host=url, password="khoa-bi-mat"))
        ids = []
        for chunk in reader.pages(None, None):
            keys.append("seen")
            ids += [r.record["id"] for r in chunk]
    assert log == ["GET /ds", asked] and len(ids) == 2


def test_an_empty_hal_page_without_embedded_is_read_as_no_records_when_empty_when_says_so() -> None:
    """Spring HATEOAS writes an empty page without `_embedded`: `records.empty_when` names what says it is empty;
    without it (or where the condition does not hold) the answer is refused, as a wrong records path is."""
    empty = {"_links": {"self": {"href": "/ho-so?page=0"}}, "page": {"size": 2, "totalElements": 0,
             "totalPages": 0, "number": 0}}  # fmt: skip
    spec = {"request": {"path": "/ho-so", "query": {"page": "{page}"}},
            "records": {"path": "_embedded.hoSoList", "empty_when": {"path": "page.totalElements", "equals": 0}},
            "paginator": {"type": "page_number", "base": 0, "page_size": 2, "stop": "total_pages",
                          "total_pages_path": "page.totalPages"}}  # fmt: skip
    answers = [(200, JSON, json.dumps(empty).encode())]
    with scripted_server(answers) as (url, log):
        assert list(opened("rest", spec, Connection("c", host=url)).pages(None, None)) == []
    assert len(log) == 1
    not_empty = {**empty, "page": {**empty["page"], "totalElements": 3, "totalPages": 2}}
    for answer, records in ((not_empty, spec["records"]), (empty, "_embedded.hoSoList")):
        with (
            scripted_server([(200, JSON, json.dumps(answer).encode())]) as (url, _),
            pytest.raises(RefusedAnswer, match=r"no list of records at '_embedded\.hoSoList'"),
        ):
            list(opened("rest", {**spec, "records": records}, Connection("c", host=url)).pages(None, None))


def test_a_next_link_chosen_by_its_relation_among_links_whose_order_changes() -> None:
    """A FHIR Bundle's links are self, next, previous as HAPI writes them: the next one stands second on the first
    page, and on the last there is none (`previous` stands second). next_path selects it by its relation."""

    def bundle(ids: list[int], links: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        listed = [{"relation": rel, "url": url} for rel, url in links.items()]
        body = {"resourceType": "Bundle", "link": listed, "entry": [{"resource": {"id": i}} for i in ids]}
        return 200, JSON, json.dumps(body).encode()

    answers = [
        bundle([1, 2], {"self": "/fhir/Task", "next": "/fhir?p=2"}),
        bundle([3, 4], {"self": "/fhir?p=2", "next": "/fhir?p=3", "previous": "/fhir/Task"}),
        bundle([5], {"self": "/fhir?p=3", "previous": "/fhir?p=2"}),
    ]
    spec = {"request": {"path": "/fhir/Task"}, "records": "entry",
            "paginator": {"type": "next_link", "next_path": "link[?(@.relation=='next')][0].url"}}  # fmt: skip
    with scripted_server(answers) as (url, log):
        read = [
            r.record["resource"]["id"]
            for c in opened("rest", spec, Connection("c", host=url)).pages(None, None)
            for r in c
        ]
    assert read == [1, 2, 3, 4, 5]
    assert len(log) == 3


def test_a_records_path_with_a_filter_is_refused_for_records_filter() -> None:
    with pytest.raises(ConfigError, match="keep records with `filter` instead"):
        opened("rest", {"request": {"path": "/x"}, "records": "entry[?(@.search.mode=='match')]",
                        "paginator": {"type": "single"}}, Connection("c", host="http://127.0.0.1:9"))  # fmt: skip


# -- a list paged by an HTTP range of items: `Range: items=0-49` asked, `Content-Range: items 0-49/250` answered ---
RANGED = {"type": "offset", "page_size": 2, "stop": "total_count", "total_path": "header:Content-Range",
          "total_format": "content_range"}  # fmt: skip


@contextmanager
def ranged_server(
    total: int, content_range: Callable[[int, int, int], str | None] | None = None
) -> Iterator[tuple[str, list[str]]]:
    """A Dojo JsonRest store's server as Domino Access Services is one: the items a `Range: items=a-b` header asks
    for, a bare JSON list, `Content-Range: items a-b'/total` beside it, none past the end (or `content_range`'s)."""
    asked: list[str] = []

    class Handler(Answering):
        def answer(self, body: bytes) -> None:
            wanted = self.headers.get("Range") or ""
            asked.append(wanted)
            first, _, last = wanted.removeprefix("items=").partition("-")
            a, b = int(first), min(int(last), total - 1)
            items = [{"id": i + 1} for i in range(a, b + 1)]
            header = f"items {a}-{b}/{total}" if a < total else None
            if content_range is not None:
                header = content_range(a, b, total)
            self.send(
                200, {**JSON, **({"Content-Range": header} if header else {})}, json.dumps(items).encode()
            )

    with serving(Handler) as url:
        yield url, asked


def ranged_ids(url: str, paginator: dict[str, Any] | None = None) -> list[int]:
    spec = {"request": {"path": "/api/data/collections/name/HoSo", "headers": {"Range": "items={offset}-{last}"}},
            "records": "", "paginator": paginator or RANGED}  # fmt: skip
    return [
        r.record["id"] for p in opened("rest", spec, Connection("c", host=url)).pages(None, None) for r in p
    ]


def test_a_list_paged_by_a_range_header_stops_at_the_total_its_content_range_header_says() -> None:
    """{last} is {offset} + {page_size} - 1: the range a page asks for; the total is after the `/`."""
    with ranged_server(5) as (url, asked):
        assert ranged_ids(url) == [1, 2, 3, 4, 5]
    assert asked == ["items=0-1", "items=2-3", "items=4-5"]
    # a total the page size divides: no page past the end is asked for (Domino's [] without a Content-Range)
    with ranged_server(4) as (url, asked):
        assert ranged_ids(url) == [1, 2, 3, 4] and asked == ["items=0-1", "items=2-3"]
    # an empty window: [] and no Content-Range at all, as DAS answers a range past an empty list's end
    with ranged_server(0) as (url, asked):
        assert ranged_ids(url) == [] and asked == ["items=0-1"]
    # PostgREST writes no unit: 0-1/5
    with ranged_server(5, lambda a, b, total: f"{a}-{b}/{total}") as (url, _):
        assert ranged_ids(url) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("content_range", "said"),
    [
        (lambda a, b, t: None, r"\(found None\): not a Content-Range"),
        (
            lambda a, b, t: f"items {a}-{b}",
            r"\(found 'items 0-1'\): not a Content-Range \(`items 0-49/250`\)",
        ),
        (lambda a, b, t: f"items {a}-{b}/many", r"\(found 'items 0-1/many'\): not a Content-Range"),
        (
            lambda a, b, t: f"items {a}-{b}/*",
            r"\(found 'items 0-1/\*'\): its total is '\*': the system did not",
        ),
    ],
    ids=["missing", "no-total", "not-a-number", "not-counted"],
)
def test_a_missing_or_malformed_content_range_fails_the_run_naming_the_source_and_what_came(
    content_range: Callable[[int, int, int], str | None], said: str
) -> None:
    with (
        ranged_server(5, content_range) as (url, _),
        pytest.raises(ProtocolError, match=rf"^hd_thu: page 1: no number at 'header:Content-Range' .*{said}"),
    ):
        ranged_ids(url)


# -- PostgREST with `Prefer: count=exact`: a range past the list's end is 416 PGRST103, not an empty page -------
PGRST103 = "Requested range not satisfiable"


def pgrst_page(a: int, ids: list[int], total: int) -> tuple[int, dict[str, str], bytes]:
    shown = f"{a}-{a + len(ids) - 1}" if ids else "*"
    return (
        206 if len(ids) < total else 200,
        {**JSON, "Content-Range": f"{shown}/{total}"},
        json.dumps([{"id": i} for i in ids]).encode(),
    )


def pgrst_past_the_end(a: int, total: int) -> tuple[int, dict[str, str], bytes]:
    said = {"code": "PGRST103", "details": f"An offset of {a} was requested, but there are only {total} rows.",
            "hint": None, "message": PGRST103}  # fmt: skip
    return 416, {**JSON, "Content-Range": f"*/{total}"}, json.dumps(said).encode()


def postgrest_ids(url: str) -> list[int]:
    spec = {"request": {"path": "/ho_so", "headers": {"Range-Unit": "items", "Range": "{offset}-{last}",
                                                      "Prefer": "count=exact"}},
            "records": "", "paginator": RANGED}  # fmt: skip
    return [
        r.record["id"] for p in opened("rest", spec, Connection("c", host=url)).pages(None, None) for r in p
    ]


def test_a_range_past_the_end_of_a_list_that_shrank_under_the_read_reads_the_slice_again() -> None:
    """Five rows, two a page; rows 1 and 2 deleted before the third page: `4-5` is past the end of three (416),
    and row 5, now at position 2, moved up past a page already read. Read again from the first page, it comes."""
    answers = [pgrst_page(0, [1, 2], 5), pgrst_page(2, [3, 4], 5), pgrst_past_the_end(4, 3),
               pgrst_page(0, [3, 4], 3), pgrst_page(2, [5], 3)]  # fmt: skip
    with scripted_server(answers) as (url, log):
        ids = postgrest_ids(url)
    assert set(ids) == {1, 2, 3, 4, 5} and len(log) == 5


def test_a_range_refused_before_any_total_came_fails_the_run_in_the_systems_words() -> None:
    with (
        scripted_server([pgrst_past_the_end(0, 0)]) as (url, _),
        pytest.raises(ProtocolError, match=r"HTTP 416: .*PGRST103.*Requested range not satisfiable"),
    ):
        postgrest_ids(url)


def test_a_list_that_keeps_shrinking_past_each_range_fails_the_run_rather_than_skip_records() -> None:
    answers = [
        answer for n in range(10) for answer in (pgrst_page(0, [1, 2], 100 - n), pgrst_past_the_end(2, 1))
    ]
    with (
        scripted_server(answers) as (url, log),
        pytest.raises(
            ProtocolError,
            match=r"the list shrank while it was read \(97 → a range past its end, HTTP "
            r"416\), 4 times over",
        ),
    ):
        postgrest_ids(url)
    assert len(log) == 8


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 4))
def test_rows_deleted_at_any_point_of_a_ranged_read_never_cost_a_row_that_remains(
    rows: int, deleted: int, before_request: int
) -> None:
    """A PostgREST table of `rows` rows, two a page; the first `deleted` of them deleted before the
    `before_request`th call. Whatever the answers (206, a shorter total, 416 past the new end), every row that
    remains is read, and the read ends."""
    table = list(range(1, rows + 1))
    calls: list[str] = []

    class Handler(Answering):
        def answer(self, body: bytes) -> None:
            calls.append(self.headers.get("Range") or "")
            if len(calls) == before_request:
                del table[:deleted]
            first, _, last = calls[-1].partition("-")
            a = int(first)
            status, headers, text = (
                pgrst_past_the_end(a, len(table)) if a > len(table) else
                pgrst_page(a, table[a : int(last) + 1], len(table))
            )  # fmt: skip
            self.send(status, headers, text)

    with serving(Handler) as url:
        ids = postgrest_ids(url)
    assert set(table) <= set(ids) and len(calls) <= 12


@pytest.mark.parametrize(
    ("paginator", "request_headers", "said"),
    [
        ({**RANGED, "stop": "short_page"}, {"Range": "items={offset}-{last}"},
         "total_format: content_range reads a total: it needs stop: total_count and total_path"),
        ({"type": "cursor", "cursor_path": "next"}, {"Range": "items={offset}-{last}", "X": "{cursor}"},
         r"\(hd_thu\): rest: \{last\} in request is the last index of a page .* not cursor"),
        ({**RANGED, "total_format": "roman"}, {"Range": "items={offset}-{last}"}, "total_format"),
        ({"type": "cursor", "cursor_path": "next", "cursor_type": "object"}, {"X-Start": "{cursor}"},
         r"cursor_type: object: \{cursor\} goes in a JSON body, not in the path, query or headers"),
        ({"type": "cursor", "cursor_header": "X-Next", "cursor_type": "list"}, {"X-Start": "{cursor}"},
         r"cursor_type: list reads a JSON value in the answer \(cursor_path\): a header is text"),
        ({**RANGED, "cursor_type": "text"}, {"Range": "items={offset}-{last}"},
         r"cursor_type says what a cursor paginator's cursor is: this paginator is offset"),
    ],
    ids=["needs-a-total", "last-needs-offsets", "unknown-format", "object-cursor-in-a-header",
         "list-cursor-from-a-header", "cursor-type-without-a-cursor"],
)  # fmt: skip
def test_a_range_paged_entry_that_cannot_work_is_refused_by_the_registry(
    paginator: dict[str, Any], request_headers: dict[str, str], said: str
) -> None:
    spec = {"request": {"path": "/ds", "headers": request_headers}, "records": "", "paginator": paginator}
    with pytest.raises(ConfigError, match=said):
        opened("rest", spec, Connection("c", host="http://127.0.0.1:9"))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.sampled_from(["object", "list", "text", "any"]))
def test_any_cursor_is_sent_back_as_it_came_or_ends_the_read_or_fails_the_run_naming_the_source(
    value: Any, kind: str
) -> None:
    """Whatever sits at the cursor's path: nothing (None, "", {}, []) ends the read; a value of the declared kind goes
    back exactly as it came (a text as its text); any other fails the run with a ProtocolError naming the source —
    never an exception of another kind, never a value sent back as something it was not."""
    spec = {**DYNAMO_SPEC, "paginator": {**DYNAMO_SPEC["paginator"], "cursor_type": kind}}
    reader = opened("rest", spec, Connection("c", host="http://127.0.0.1:9"))
    answer = Answer(200, {}, b"", "http://127.0.0.1:9/")
    try:
        cursor = reader._next_cursor({"LastEvaluatedKey": value}, answer, "page 1")
    except ProtocolError as exc:
        assert str(exc).startswith("hd_thu: page 1: the cursor at LastEvaluatedKey is ")
        assert kind != "any"
        return
    if value in (None, "", {}, []) or (isinstance(value, str) and not value.strip()):
        assert cursor is None
    elif isinstance(value, dict | list):
        assert cursor == value and kind in ("any", "object" if isinstance(value, dict) else "list")
    else:
        assert isinstance(cursor, str) and kind in ("any", "text")


# -- the window as text where a wrapper types it: DynamoDB's {"N": "…"}, Extended JSON's {"$numberLong": "…"} ----
def window_sent(incremental: dict[str, Any], start: datetime, end: datetime) -> Any:
    """The JSON body a source sends for a window, its bounds inside EJSON $date wrappers."""
    bodies: list[Any] = []

    def route(_path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        bodies.append(json.loads(body))
        return 200, JSON, b'{"documents": []}'

    spec = {"request": {"method": "POST", "path": "/action/find",
                        "json": {"filter": {"updatedAt": {"$gte": {"$date": {"$numberLong": "{start}"}},
                                                          "$lt": {"$date": {"$numberLong": "{end}"}}}}}},
            "records": "documents", "paginator": {"type": "single"}, "incremental": incremental}  # fmt: skip
    with routed_server(route) as (url, _):
        list(opened("rest", spec, Connection("c", host=url)).pages(start, end))
    return bodies[0]["filter"]["updatedAt"]


def test_a_window_of_numbers_goes_as_text_inside_a_wrapper_that_wants_a_string() -> None:
    start, end = datetime(2024, 12, 5, 6, 30, tzinfo=UTC), datetime(2024, 12, 5, 7, 0, tzinfo=UTC)
    as_text = window_sent({"format": "epoch_ms", "as_text": True}, start, end)
    assert as_text == {"$gte": {"$date": {"$numberLong": "1733380200000"}},
                       "$lt": {"$date": {"$numberLong": "1733382000000"}}}  # fmt: skip
    # without it a number stays a JSON number (a whole placeholder keeps its type): Extended JSON refuses it
    assert window_sent({"format": "epoch_ms"}, start, end)["$gte"] == {
        "$date": {"$numberLong": 1733380200000}
    }


@settings(max_examples=100, deadline=None)
@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    st.sampled_from(["epoch_s", "epoch_ms", "excel", "iso", "yyyy-MM-dd HH:mm:ss"]),
)
def test_a_bound_written_as_text_is_the_text_of_the_bound_written_plainly(at: datetime, fmt: str) -> None:
    """as_text changes a number's type, never its value: int(text) or float(text) gives the number back, and a
    bound that is text already is the same text."""
    from connectors.spec.rest import IncrementalSpec
    from mappings.dates import format_datetime

    spec = IncrementalSpec(format=fmt, as_text=True)
    reader = opened("rest", {"request": {"path": "/x", "query": {"from": "{start}"}}, "paginator": {"type": "single"},
                             "incremental": spec.model_dump()}, Connection("c", host="http://127.0.0.1:9"))  # fmt: skip
    plain = format_datetime(at, fmt, reader.tz)
    written = reader._bound(at)
    assert isinstance(written, str) and written == str(plain)
    assert type(plain)(written) == plain if not isinstance(plain, str) else written == plain
