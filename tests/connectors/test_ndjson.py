"""`answer: ndjson`: a system that answers one JSON record per line, nothing around them (an export endpoint, a
log-shaped API). A real HTTP server answers as such a system does; the registry entry is what a data engineer
writes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.connection import Connection
from connectors.errors import RefusedAnswer
from tests.connectors.entries import opened
from tests.connectors.scripted_server import scripted_server

NDJSON = {"Content-Type": "application/x-ndjson"}


def source(url: str, **rest: Any) -> Any:
    spec = {"request": {"path": "/xuat", "query": {"trang": "{page}"}}, "answer": "ndjson"} | rest
    return opened("rest", spec, Connection("c", host=url))


def lines(*records: Any) -> bytes:
    return "".join(
        r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) + "\r\n" for r in records
    ).encode()


def test_an_html_page_where_lines_of_json_are_awaited_is_refused_as_a_whole() -> None:
    page = b"<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n"
    with scripted_server([(200, {"Content-Type": "text/html"}, page)]) as (url, _):
        with pytest.raises(RefusedAnswer, match="answer is not NDJSON: it is HTML"):
            list(source(url, paginator={"type": "single"}).pages(None, None))


def test_each_line_is_a_record_and_a_broken_line_costs_that_record_alone() -> None:
    page1 = lines({"id": 1, "ten": "Hồ sơ một"}, "\n", '{"id": 2, "ten": \n', {"id": 3, "ten": "Hồ sơ ba"})
    page2 = lines({"id": 4, "ten": "Hồ sơ bốn"})
    with scripted_server([(200, NDJSON, page1), (200, NDJSON, page2)]) as (url, log):
        raws = [r for chunk in source(url, paginator={"type": "page_number", "page_size": 3}).pages(None, None)
                for r in chunk]  # fmt: skip
    assert [r.record.get("id") for r in raws] == [1, None, 3, 4]
    assert raws[1].defects and "not one JSON value" in raws[1].defects[0].reason
    assert raws[0].record["ten"] == "Hồ sơ một" and json.loads(raws[0].payload) == raws[0].record
    assert log == ["GET /xuat?trang=1", "GET /xuat?trang=2"]  # 3 lines asked, 3 served; then a short page


@pytest.mark.parametrize(
    "around",
    [{"records": "data"}, {"paginator": {"type": "page_number", "stop": "total_count", "total_path": "t"}}],
    ids=["records-path", "total-path"],
)
def test_an_ndjson_answer_has_nothing_around_its_records_to_read(around: dict) -> None:
    with pytest.raises(Exception, match="an NDJSON answer is its records, one per line"):
        source("http://127.0.0.1:9", **({"paginator": {"type": "single"}} | around))
