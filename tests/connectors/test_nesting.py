"""`records.nest`: rows a system sends beside its records, each naming its record by a key, are read as the
record's own list (an ASP.NET DataSet's Table1 of steps beside its Table of dossiers; a SQL export's arrays). Each
case is a real HTTP server answering as such a system does; the registry entry is what a data engineer writes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.connection import Connection
from connectors.errors import ProtocolError
from tests.connectors.entries import opened
from tests.connectors.scripted_server import scripted_server


def read(url: str, answer: str = "json", **records: Any) -> list[Any]:
    spec = {"request": {"path": "/ds"}, "answer": answer, "records": records, "paginator": {"type": "single"}}
    source = opened("rest", spec, Connection("c", host=url))
    return [raw for chunk in source.pages(None, None) for raw in chunk]


def test_json_rows_beside_the_records_become_each_record_s_list_by_key() -> None:
    answer = {
        "HoSo": [{"ID": 1, "Ma": "A"}, {"ID": 2, "Ma": "B"}, {"ID": 3, "Ma": "C"}, {"ID": "", "Ma": "no id"}],
        "QuaTrinh": [
            {"HoSoID": 2, "B": "x"},
            {"HoSoID": 1, "B": "y"},
            {"HoSoID": "1", "B": "z"},
            {"B": "no key"},
            {"HoSoID": " ", "B": "blank key"},  # no key either: it names no record, not the one without an id
        ],
    }
    nest = [{"path": "QuaTrinh", "into": "quaTrinh", "key": "HoSoID", "parent_key": "ID"}]
    with scripted_server([(200, {"Content-Type": "application/json"}, json.dumps(answer).encode())]) as (
        url,
        _,
    ):
        raws = read(url, path="HoSo", nest=nest)
    assert [[row["B"] for row in r.record["quaTrinh"]] for r in raws] == [["y", "z"], ["x"], [], []]
    assert json.loads(raws[0].payload) == raws[0].record  # staged as the record with its rows


def test_rows_php_wrote_as_an_object_keyed_by_position_are_nested_as_a_list_would_be() -> None:
    answer = {
        "HoSo": {"3": {"ID": 1}, "4": {"ID": 2}},
        "QuaTrinh": {"7": {"HoSoID": 2, "B": "x"}, "9": {"HoSoID": 1, "B": "y"}},
    }
    nest = [{"path": "QuaTrinh", "into": "quaTrinh", "key": "HoSoID", "parent_key": "ID"}]
    with scripted_server([(200, {"Content-Type": "application/json"}, json.dumps(answer).encode())]) as (
        url,
        _,
    ):
        raws = read(url, path="HoSo", nest=nest)
    assert [[row["B"] for row in r.record["quaTrinh"]] for r in raws] == [["y"], ["x"]]


def test_json_api_relationships_name_their_included_resources_one_or_many_in_their_order() -> None:
    """JSON:API (Drupal's, for one): a record names its related resources in `relationships.x.data`, an object
    {type, id} for one, a list of them for many; the answer sends each once in `included`, whoever names it."""
    ref = lambda kind, rid: {"type": kind, "id": rid, "meta": {"target_revision_id": 9}}  # noqa: E731
    answer = {
        "data": [
            {"id": "n1", "relationships": {"nguoi_nop": {"data": ref("p", "u1")},
                                           "buoc": {"data": [ref("b", "s2"), ref("b", "s1")]}}},
            {"id": "n2", "relationships": {"nguoi_nop": {"data": ref("p", "u1")}, "buoc": {"data": []}}},
            {"id": "n3", "relationships": {"nguoi_nop": {"data": None}, "buoc": {"data": [ref("b", "gone")]}}},
        ],
        "included": [{"type": "b", "id": "s1", "attributes": {"n": 1}}, {"type": "p", "id": "u1", "attributes": {"n": 0}},
                     {"type": "b", "id": "s2", "attributes": {"n": 2}}],
    }  # fmt: skip
    nest = [{"path": "included", "key": "id", "parent_key": "relationships.nguoi_nop.data", "into": "nguoi_nop"},
            {"path": "included", "key": "id", "parent_key": "relationships.buoc.data", "into": "buoc"}]  # fmt: skip
    with scripted_server(
        [(200, {"Content-Type": "application/vnd.api+json"}, json.dumps(answer).encode())]
    ) as (
        url,
        _,
    ):
        raws = read(url, path="data", nest=nest)
    found = [([p["id"] for p in r.record["nguoi_nop"]], [b["id"] for b in r.record["buoc"]]) for r in raws]
    assert found == [
        (["u1"], ["s2", "s1"]),
        (["u1"], []),
        ([], []),
    ]  # the relationship's order, not included's


DATASET = b"""<?xml version="1.0" encoding="utf-8"?>
<DataSet xmlns="http://tempuri.org/"><xs:schema id="NewDataSet" xmlns:xs="http://www.w3.org/2001/XMLSchema"
  xmlns:msdata="urn:schemas-microsoft-com:xml-msdata"><xs:element name="NewDataSet" msdata:IsDataSet="true"/>
  </xs:schema>
  <diffgr:diffgram xmlns:msdata="urn:schemas-microsoft-com:xml-msdata"
      xmlns:diffgr="urn:schemas-microsoft-com:xml-diffgram-v1"><NewDataSet xmlns="">
    <Table diffgr:id="Table1" msdata:rowOrder="0"><HoSoID>7</HoSoID><MaHoSo>A</MaHoSo></Table>
    <Table diffgr:id="Table2" msdata:rowOrder="1"><HoSoID>8</HoSoID><MaHoSo>B</MaHoSo></Table>
    <Table1 diffgr:id="Table11" msdata:rowOrder="0"><HoSoID>8</HoSoID><TrangThai>2</TrangThai></Table1>
    <Table1 diffgr:id="Table12" msdata:rowOrder="1"><HoSoID>7</HoSoID><TrangThai>2</TrangThai></Table1>
    <Table1 diffgr:id="Table13" msdata:rowOrder="2"><HoSoID>7</HoSoID><TrangThai>4</TrangThai></Table1>
    <Table2 diffgr:id="Table21" msdata:rowOrder="0"><HoSoID>7</HoSoID><SoTien>20000</SoTien></Table2>
  </NewDataSet></diffgr:diffgram></DataSet>"""


def test_a_dataset_s_tables_are_joined_into_its_dossiers_as_the_mapping_reads_them() -> None:
    nest = [
        {"path": "diffgram.NewDataSet.Table1", "into": "QuaTrinh", "key": "HoSoID"},
        {"path": "diffgram.NewDataSet.Table2", "into": "LePhi", "key": "HoSoID"},
    ]
    with scripted_server([(200, {"Content-Type": "text/xml"}, DATASET)]) as (url, _):
        raws = read(url, "xml", path="diffgram.NewDataSet.Table", nest=nest)
    first, second = (r.record for r in raws)
    assert [s["TrangThai"] for s in first["QuaTrinh"]] == ["2", "4"] and first["LePhi"] == {
        "HoSoID": "7",
        "SoTien": "20000",
    }  # one row: a dict, as any single XML child (`each` reads it as a list of one)
    assert second["QuaTrinh"] == {"HoSoID": "8", "TrangThai": "2"} and "LePhi" not in second
    assert "<QuaTrinh" in raws[0].payload and raws[0].payload.count("<QuaTrinh") == 2  # staged with its rows


@pytest.mark.parametrize("into", ["a.b", "a[0]", ""])
def test_a_nest_s_into_is_one_key(into: str) -> None:
    with pytest.raises(Exception, match=r"nest\.into is one key"):
        read("http://127.0.0.1:9", path="HoSo", nest=[{"path": "Q", "into": into, "key": "ID"}])


def test_a_nest_path_the_answer_lacks_is_said_before_a_sync_loads_records_without_rows() -> None:
    answer = {"HoSo": [{"ID": 1}], "QuaTrinhXuLy": [{"HoSoID": 1}]}
    records = {
        "path": "HoSo",
        "nest": [{"path": "QuaTrinh", "into": "qt", "key": "HoSoID", "parent_key": "ID"}],
    }
    spec = {"request": {"path": "/ds"}, "records": records, "paginator": {"type": "single"}}
    with scripted_server([(200, {"Content-Type": "application/json"}, json.dumps(answer).encode())]) as (
        url,
        _,
    ):
        source = opened("rest", spec, Connection("c", host=url))
        with pytest.raises(ProtocolError, match=r"records\.nest\[0\]\.path 'QuaTrinh' is not in the answer"):
            source.probe()
