"""Staged rows: tuples of their table's columns, in order, written by COPY in binary format as they are."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson

from connectors.store import staging
from connectors.store.staging import BadRow, DeletedRow, GoodRow

ROWS = {"good": GoodRow, "bad": BadRow, "deleted": DeletedRow}


def test_a_rows_fields_are_its_staged_tables_columns_in_order() -> None:
    for kind, row in ROWS.items():
        columns = [column.split()[0] for column in staging._SHAPES[kind].split(",")]
        assert list(row._fields) == columns, kind


def test_rows_are_staged_as_they_are_the_record_json_byte_for_byte(db) -> None:
    hcm = timezone(timedelta(hours=7))
    record = {"a": 'Nguyễn Văn Á \u2028 "quoted" \\ 😀', "b": [1, 2.5, None], "c": {"d": True}}
    data = orjson.dumps(record)
    at = datetime(2025, 6, 30, 23, 59, 59, 123456, tzinfo=hcm)
    good = GoodRow(0, "u" * 24, "r-1", "000.00.14.H23-250630-0001", "h" * 64, 4, at, None, at, "1.000046",
                   None, "288", "10507", None, at, data, ["ma_ho_so_date_mismatch", "ký tự"])  # fmt: skip
    bad = BadRow(1, "r-2", '[{"field": "status"}]', "mapping", '{"id": "r-2"}', "application/json", "x", None)
    stager = staging.Stager(db, 424242)
    stager.add([good], [bad], [DeletedRow(2, "v" * 24, "r-3")])
    assert stager.rows == {"good": 1, "bad": 1, "deleted": 1}
    got = db.execute(
        "SELECT seq, uid, status, received_at, due_at, record, flags FROM onestop.staged_424242_good"
    ).fetchone()
    assert got[:5] == (0, "u" * 24, 4, at, None)
    assert got[5] == record and got[6] == ["ma_ho_so_date_mismatch", "ký tự"]
    assert db.execute("SELECT record_id, source_updated_at FROM onestop.staged_424242_bad").fetchone() == (
        "r-2",
        None,
    )
    assert db.execute("SELECT uid, record_id FROM onestop.staged_424242_deleted").fetchone() == (
        "v" * 24,
        "r-3",
    )
    staging.drop(db, 424242)
