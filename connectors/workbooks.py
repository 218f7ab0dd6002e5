"""What an export endpoint's "Excel" may be, each read as a book of named sheets of rows of cells.

- A spreadsheet file (xlsx, xlsm, xls, ods), read by calamine.
- An XML Spreadsheet 2003 (SpreadsheetML: a `Workbook` in `urn:schemas-microsoft-com:office:spreadsheet`), as .NET
  and PHP exports wrote Excel files before xlsx: read by our safe XML parser (no DTD, no entities, no network).
- An HTML page of tables (`html: true`), as ASP.NET WebForms and PHP exports write "Excel": a GridView rendered
  with Content-Type application/vnd.ms-excel and a .xls name, which Excel opens. Each table is a sheet, named by its
  id, else its caption, and always `Table<n>` (n from 1, in the page's order).

A cell is a JSON value: text, a number, a boolean, or an ISO 8601 date or time without a zone (a spreadsheet holds
none: the mapping's zone applies); an empty cell is an empty text. A cell the book says holds an error (#N/A, #DIV/0!) is an
Unreadable text, so that it costs its record, never read as empty.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from lxml import etree, html

from connectors.base import Unreadable
from connectors.errors import RefusedAnswer
from connectors.jsonpage import decode
from connectors.safexml import iter_elements, parse_document

Cell = str | int | float | bool
SPREADSHEET_2003 = "urn:schemas-microsoft-com:office:spreadsheet"
ERROR = "the cell holds a spreadsheet error: {}"
# An HTML page's own charset, when the HTTP answer names none: <meta charset> or http-equiv's content.
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


class Book(Protocol):
    sheet_names: list[str]

    def rows(self, name: str) -> Iterator[list[Cell]]: ...


def open_book(source: str, body: bytes, html_tables: bool, charset: str | None = None) -> Book:
    """The book the answer's bytes are: an XML Spreadsheet 2003, an HTML page of tables (only where the source says
    its exports are such: an HTML login page read as a book would be rows of nothing), else a spreadsheet file."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if SPREADSHEET_2003.encode() in head:
            return Spreadsheet2003(source, body)
        if html_tables:
            return HtmlTables(source, body, charset)
        raise RefusedAnswer(
            source,
            "answer is not a spreadsheet (it is markup: HTML or XML; an export of HTML tables is read with "
            "`html: true`)",
            excerpt=body[:512],
        )
    if body[:8] == OLE2:
        return Excel97(source, body)
    return Calamine(source, body)


OLE2 = bytes.fromhex("d0cf11e0a1b11ae1")  # an OLE2 compound file's signature: an Excel 97-2003 book
# What a sheet's grid may span, in cells (rows × columns of its used range): a dense sheet that unpacks to the
# 64 MiB cap holds ~3 million. A few bytes can name a cell at XFD1048576 (17 billion cells); calamine allocates
# the whole range (the process is aborted, not an exception raised), and a padded HTML table would be as large.
MAX_CELLS = 4_000_000


def check_grid(source: str, sheet: str, rows: int, columns: int) -> None:
    """Refuse, unread, a sheet whose grid spans more cells than MAX_CELLS."""
    if rows * columns > MAX_CELLS:
        raise RefusedAnswer(
            source,
            f"the sheet {sheet!r} spans {rows:,} rows by {columns:,} columns, over the cap of {MAX_CELLS:,} cells",
        )


def calamine_cell(cell: Any) -> Cell:
    """A calamine value as a JSON value: a whole number as an int (Excel holds every number as a float), a date
    or time as ISO 8601 without a zone, a duration in seconds."""
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < 2**53:
        return int(cell)
    if isinstance(cell, datetime | date | time):
        return cell.isoformat()
    if isinstance(cell, timedelta):
        return cell.total_seconds()
    return cell  # type: ignore[no-any-return]


class Calamine:
    """xlsx, xlsm, ods, read by calamine. Before calamine reads a sheet, the file's own structure (an xlsx's
    sheet XML, an ods's content.xml) says how far its grid spans (checked against MAX_CELLS) and which cells hold
    an error (#N/A, #REF!), which calamine reads as empty: they are given back as what they are."""

    def __init__(self, source: str, body: bytes) -> None:
        from python_calamine import CalamineWorkbook

        self._source, self._body = source, body
        self._grids = grids(source, body)
        for name, grid in self._grids.read_at_open().items():
            check_grid(source, name, grid.rows, grid.columns)
        with _panics_refused(source, body):
            self._book = CalamineWorkbook.from_filelike(io.BytesIO(body))
        self.sheet_names: list[str] = list(self._book.sheet_names)

    def rows(self, name: str) -> Iterator[list[Cell]]:
        grid = self._grids.of(name)
        check_grid(self._source, name, grid.rows, grid.columns)
        with _panics_refused(self._source, self._body):
            sheet = self._book.get_sheet_by_name(name)
            rows = [[calamine_cell(c) for c in row] for row in sheet.iter_rows()]
        if grid.errors and rows and sheet.end:  # where the rows start: calamine gives a sheet's range
            top, left = sheet.end[0] + 1 - len(rows), sheet.end[1] + 1 - max(map(len, rows))
            for (r, c), text in grid.errors.items():
                if 0 <= r - top < len(rows) and 0 <= c - left < len(rows[r - top]):
                    rows[r - top][c - left] = Unreadable(text, ERROR.format(text[:20]))
        return iter(rows)


@contextmanager
def _panics_refused(source: str, body: bytes) -> Iterator[None]:
    """calamine's Rust panics (a slice past its end in a damaged file) reach Python as pyo3's PanicException,
    a BaseException: refused as any unreadable answer is, and nothing else caught."""
    try:
        yield
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":
            raise
        raise RefusedAnswer(
            source, f"answer is not a spreadsheet (PanicException: {str(exc)[:200]})", excerpt=body[:512]
        ) from None


@dataclass
class Grid:
    """What a sheet's own structure says before it is read: how far its used range spans (rows and columns from
    A1) and which cells hold an error, by (row, column) from 0, with the error's text."""

    rows: int = 0
    columns: int = 0
    errors: dict[tuple[int, int], str] = field(default_factory=dict)

    def spans(self, row: int, column: int) -> None:
        self.rows, self.columns = max(self.rows, row + 1), max(self.columns, column + 1)


class Grids(Protocol):
    def of(self, name: str) -> Grid: ...

    def read_at_open(self) -> dict[str, Grid]:
        """The sheets calamine reads as it opens the book (an ods's all), by name; an xlsx's wait to be asked."""
        ...


def grids(source: str, body: bytes) -> Grids:
    """The reader of a zipped book's sheets' grids, by its kind: an xlsx or an ods. Another archive calamine would
    open (an xlsb, binary records) is refused: nothing could tell how far its grid spans before calamine reads it.
    A damaged archive raises as it is read (connectors.rows refuses it)."""
    if not zipfile.is_zipfile(io.BytesIO(body)):
        return NoGrids()
    archive = zipfile.ZipFile(io.BytesIO(body))
    names = set(archive.namelist())
    if "xl/workbook.xml" in names:
        return XlsxGrids(source, archive)
    if "content.xml" in names:
        return OdsGrids(source, archive)
    raise RefusedAnswer(
        source,
        "answer is not a spreadsheet (a zip archive without xl/workbook.xml or content.xml)",
        excerpt=body[:64],
    )


class NoGrids:
    def of(self, name: str) -> Grid:
        return Grid()

    def read_at_open(self) -> dict[str, Grid]:
        return {}


_OFFICE_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_CELL = re.compile(r"([A-Z]+)([0-9]+)")


class XlsxGrids:
    """An xlsx's sheets' XML, found through the workbook's relationships: each cell's place (its `r`, else the
    next after the one before, as calamine places it) and whether it holds an error (`t="e"`)."""

    def __init__(self, source: str, archive: zipfile.ZipFile) -> None:
        self._source, self._archive = source, archive
        workbook = parse_document(archive.read("xl/workbook.xml"), source)
        try:
            relations = parse_document(archive.read("xl/_rels/workbook.xml.rels"), source)
        except KeyError:
            relations = None
        targets = {} if relations is None else {
            r.get("Id"): r.get("Target") or "" for r in relations.iter("{*}Relationship")
        }  # fmt: skip
        names = set(archive.namelist())
        self._files = {}
        for sheet in workbook.iter("{*}sheet"):
            target = targets.get(sheet.get(_OFFICE_RELATIONSHIP)) or ""
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            if target and path in names:
                self._files[sheet.get("name") or ""] = path
        for name in names - set(self._files.values()):  # what calamine reads as it opens the book
            if name.endswith(".xml"):
                _counts_checked(source, name, archive.read(name))

    def read_at_open(self) -> dict[str, Grid]:
        return {}

    def of(self, name: str) -> Grid:
        if name not in self._files:
            return Grid()
        xml = _counts_checked(self._source, self._files[name], self._archive.read(self._files[name]))
        if b't="e"' not in xml and b"t='e'" not in xml:
            grid = _quick_grid(xml)  # no error to find: how far it spans, from its bytes
            if grid is not None and grid.rows * grid.columns <= MAX_CELLS:
                return grid
        return self._parsed(xml)  # and a grid past the cap only for styled empty cells is let through

    def _parsed(self, xml: bytes) -> Grid:
        """The sheet's grid, parsed: each cell placed (its `r`, else the next after the one before, as calamine
        places it) and looked at."""
        grid, r = Grid(), -1
        for row in iter_elements(xml, "row", self._source, drop=True):
            r, c = _place(row.get("r"), r + 1), -1
            for cell in row.iterchildren("{*}c"):
                at = _CELL.fullmatch(cell.get("r") or "")
                c = _column(at[1]) if at else c + 1
                if at:
                    r = _place(at[2], r)
                if cell.get("t") == "e":
                    value = cell.find("{*}v")
                    grid.errors[r, c] = "" if value is None else value.text or ""
                if len(cell):  # a cell with a value or a formula (an empty styled cell is not in the range)
                    grid.spans(r, c)
        return grid


# A cell's start tag, and one that names its place: attributes matched whole (a quoted value may hold anything),
# so `r` is only ever an attribute's name.
_CELL_TAG = re.compile(rb"<(?:[\w.-]+:)?c[\s/>]")
_PLACED_CELL = re.compile(
    rb"<(?:[\w.-]+:)?c\s+(?:[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*')\s+)*?r\s*=\s*([\"'])([A-Z]+)([0-9]+)\1"
)


def _quick_grid(xml: bytes) -> Grid | None:
    """How far a sheet's cells span, read off its bytes where every cell names its place (as Excel and every
    library write them; a comment's text may add a place, never hide one), styled empty cells counted too;
    None where a cell does not name its place."""
    placed = _PLACED_CELL.findall(xml)
    if len(placed) != len(_CELL_TAG.findall(xml)):
        return None
    grid = Grid()
    if placed:
        letters, digits = {p[1] for p in placed}, {p[2] for p in placed}
        widest, tallest = max(map(len, letters)), max(map(len, digits))
        grid.columns = _column(max(x for x in letters if len(x) == widest).decode()) + 1
        grid.rows = int(max(x for x in digits if len(x) == tallest))
    return grid


_COUNT = re.compile(rb"""\b(uniqueCount|count)\s*=\s*["']([0-9]+)["']""")
_SHARED_STRINGS = re.compile(rb"<(?:[\w.-]+:)?sst\b")


def _counts_checked(source: str, name: str, xml: bytes) -> bytes:
    """An xlsx part whose counts are possible: one that says it holds more items than it has bytes lies, and
    calamine would reserve room for them all as it opens the book (shared strings' uniqueCount="4294967295": an
    allocation of 100 GB, the process aborted). The shared strings' `count` is how often they are used, not how
    many they are: any number."""
    shared = _SHARED_STRINGS.search(xml[:1024]) is not None
    for said in _COUNT.finditer(xml):
        if int(said[2]) > len(xml) and not (shared and said[1] == b"count"):
            raise RefusedAnswer(
                source, f"the workbook's {name} says it holds {int(said[2]):,} items in {len(xml):,} bytes"
            )
    return xml


def _place(said: str | None, otherwise: int) -> int:
    """A row's place from 0, by its `r` (from 1), else the one after the row before."""
    return int(said) - 1 if said is not None and said.isdigit() and int(said) > 0 else otherwise


def _column(letters: str) -> int:
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - 64
    return column - 1


_ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODS_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
# What a formula that failed shows, where the file says no more (ODF 1.2 has no error type; LibreOffice marks
# one with calcext:value-type="error", other writers only by the text): Excel's words and LibreOffice's Err:nnn.
_ERROR_TEXT = re.compile(r"#(?:N/A|NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|SPILL!|CALC!|GETTING_DATA)|Err:\d{3}")


class OdsGrids:
    """An ods's content.xml: each sheet's table walked as its grid puts its cells (rows and cells repeated, row
    groups and header rows walked through, covered cells counted), for how far its cells with content span and
    which formulas failed."""

    def __init__(self, source: str, archive: zipfile.ZipFile) -> None:
        self._found: dict[str, Grid] = {}
        for table in iter_elements(archive.read("content.xml"), "table", source):
            if table.tag == f"{{{_ODS_TABLE}}}table":
                self._found[table.get(f"{{{_ODS_TABLE}}}name") or ""] = self._grid(table)

    def read_at_open(self) -> dict[str, Grid]:
        return self._found

    def of(self, name: str) -> Grid:
        return self._found.get(name, Grid())

    @staticmethod
    def _grid(table: etree._Element) -> Grid:
        grid = Grid()
        r = 0
        for row in table.iter(f"{{{_ODS_TABLE}}}table-row"):
            rows, c = _repeated(row, "number-rows-repeated"), 0
            for cell in row:
                if cell.tag not in (f"{{{_ODS_TABLE}}}table-cell", f"{{{_ODS_TABLE}}}covered-table-cell"):
                    continue
                columns = _repeated(cell, "number-columns-repeated")
                if len(cell) or cell.get(f"{{{_ODS_OFFICE}}}value-type") is not None:  # content, repeated too
                    grid.spans(r + rows - 1, c + columns - 1)
                    text = "".join(cell.itertext()).strip()
                    if cell.get(f"{{{_CALCEXT}}}value-type") == "error" or (
                        cell.get(f"{{{_ODS_TABLE}}}formula") is not None
                        and cell.get(f"{{{_ODS_OFFICE}}}value-type") in (None, "string")
                        and _ERROR_TEXT.fullmatch(text) is not None
                    ):
                        grid.errors[r, c] = text
                c += columns
            r += rows
        return grid


def _repeated(element: etree._Element, attribute: str) -> int:
    said = (element.get(f"{{{_ODS_TABLE}}}{attribute}") or "1").strip()
    return int(said) if said.isdigit() and int(said) > 0 else 1


class Excel97:
    """An Excel 97-2003 book (BIFF records in an OLE2 compound file), read by xlrd: pure Python, so a damaged or
    hostile file is an exception, refused, never the process's end (calamine's reader aborts the process on some:
    an allocation of 600 GB, a slice past its end). A cell as calamine gives one: a date-formatted number as a
    date (a whole number), a time (under one day) or a date and time, to the millisecond; an error as what it is."""

    def __init__(self, source: str, body: bytes) -> None:
        import xlrd

        self._source, self._body = source, body
        with self._refused():  # xlrd writes its warnings to a log: ours has no use for them
            self._book = xlrd.open_workbook(
                file_contents=body, on_demand=True, ragged_rows=True, logfile=io.StringIO()
            )
            self.sheet_names: list[str] = self._book.sheet_names()

    @contextmanager
    def _refused(self) -> Iterator[None]:
        try:
            yield
        except RefusedAnswer:
            raise
        except Exception as exc:  # xlrd's own error, or struct's, an index's, a key's on a damaged file
            raise RefusedAnswer(
                self._source,
                f"answer is not a spreadsheet ({type(exc).__name__}: {str(exc)[:200]})",
                excerpt=self._body[:512],
            ) from None

    def rows(self, name: str) -> Iterator[list[Cell]]:
        with self._refused():
            sheet = self._book.sheet_by_name(name)
            filled = [(r, columns) for r in range(sheet.nrows) if (columns := self._filled(sheet, r))]
            if not filled:
                return iter([])
            top, bottom = filled[0][0], filled[-1][0]
            left, right = min(c[0] for _, c in filled), max(c[-1] for _, c in filled)
            check_grid(self._source, name, bottom - top + 1, right - left + 1)
            return iter([
                [self._cell(sheet, r, c) for c in range(left, right + 1)] for r in range(top, bottom + 1)
            ])  # fmt: skip

    @staticmethod
    def _filled(sheet: Any, r: int) -> tuple[int, int] | None:
        """The first and last columns of row r whose cells hold something (not empty, not a blank that is only
        formatted), or None."""
        held = [c for c, kind in enumerate(sheet.row_types(r)) if kind not in _NOTHING]
        return (held[0], held[-1]) if held else None

    def _cell(self, sheet: Any, r: int, c: int) -> Cell:
        import xlrd

        if c >= sheet.row_len(r):
            return ""
        kind, value = sheet.cell_type(r, c), sheet.cell_value(r, c)
        if kind == xlrd.XL_CELL_NUMBER:
            return calamine_cell(value)
        if kind == xlrd.XL_CELL_DATE:
            return _excel_date(value, self._book.datemode)
        if kind == xlrd.XL_CELL_BOOLEAN:
            return bool(value)
        if kind == xlrd.XL_CELL_ERROR:
            text = xlrd.error_text_from_code.get(value, f"#{value}")
            return Unreadable(text, ERROR.format(text))
        return value if kind == xlrd.XL_CELL_TEXT else ""


_NOTHING = (0, 6)  # xlrd's XL_CELL_EMPTY and XL_CELL_BLANK


def _excel_date(serial: float, datemode: int) -> Cell:
    """A date-formatted number as calamine reads it: a date, a time or both (ISO 8601, no zone); a number no date
    can be (before the epoch, past 9999) stays a number."""
    import xlrd

    if not 0 <= serial < 2958466:
        return calamine_cell(serial)
    if serial < 1:
        return (datetime(2000, 1, 1) + timedelta(milliseconds=round(serial * 86_400_000))).time().isoformat()
    try:
        moment = xlrd.xldate_as_datetime(serial, datemode)
    except (ValueError, OverflowError):
        return calamine_cell(serial)
    return moment.date().isoformat() if serial.is_integer() else moment.isoformat()


class Spreadsheet2003:
    """SpreadsheetML: Worksheet (ss:Name) / Table / Row (ss:Index) / Cell (ss:Index, ss:MergeAcross) / Data (ss:Type
    String, Number, DateTime, Boolean or Error; its text, rich text's too)."""

    def __init__(self, source: str, body: bytes) -> None:
        self._source = source
        root = parse_document(body, source)
        if etree.QName(root).localname != "Workbook":
            raise RefusedAnswer(
                source, f"answer is not a spreadsheet (an XML root <{etree.QName(root).localname}>)"
            )
        self._sheets = {
            sheet.get(_ss("Name")) or f"Sheet{n}": sheet
            for n, sheet in enumerate(root.iterfind(_ss("Worksheet")), 1)
        }
        self.sheet_names = list(self._sheets)

    def rows(self, name: str) -> Iterator[list[Cell]]:
        return _padded(self._source, name, self._rows(name))

    def _rows(self, name: str) -> Iterator[list[Cell]]:
        table = self._sheets[name].find(_ss("Table"))
        for row in () if table is None else table.iterfind(_ss("Row")):
            cells: list[Cell] = []
            for cell in row.iterfind(_ss("Cell")):
                at = _count(cell.get(_ss("Index")))
                if len(cells) < at - 1 <= MAX_COLUMNS:  # cells skipped
                    cells += [""] * (at - 1 - len(cells))
                cells.append(self._value(cell.find(_ss("Data"))))
                _spread(cells, _count(cell.get(_ss("MergeAcross")), 0) + 1)
            yield cells

    @staticmethod
    def _value(data: etree._Element | None) -> Cell:
        if data is None:
            return ""
        text, kind = "".join(data.itertext()), data.get(_ss("Type"), "String")
        if kind == "Number":
            try:
                return calamine_cell(float(text))
            except ValueError:
                return Unreadable(text, "the cell's Number is not a number")
        if kind == "Boolean":
            return text.strip() == "1"
        if kind == "DateTime":  # "2025-01-04T09:25:00.000": no zone, as Excel holds it
            return text.strip().removesuffix(".000")
        if kind == "Error":
            return Unreadable(text, ERROR.format(text.strip()[:20]))
        return text


def _ss(name: str) -> str:
    return f"{{{SPREADSHEET_2003}}}{name}"


class HtmlTables:
    """The tables of an HTML page: a table's rows are its own (a table inside a cell is a table of its own); a cell
    is its text as shown (whitespace runs as one space, <br> a line break, &nbsp; alone empty); colspan=n spans n
    columns and rowspan=n rows (the text in the first, the cells it covers empty, as a merged cell reads)."""

    def __init__(self, source: str, body: bytes, charset: str | None) -> None:
        self._source = source
        if not charset and not body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
            said = _META_CHARSET.search(body[:4096])
            charset = said[1].decode() if said else "utf-8"
        text, _ = decode(body, charset)
        parser = html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, huge_tree=False)
        document = html.document_fromstring(text or "<html></html>", parser=parser)
        # The HTML parser recovers from anything but its limits, and past them stops without a word: the rest of
        # the page would be missing, not refused.
        fatal = [e for e in parser.error_log if e.level_name == "FATAL"]
        if fatal:
            why = fatal[0].message
            said = "answer is nested too deep to read" if "depth" in why else "answer is not a spreadsheet"
            raise RefusedAnswer(source, f"{said} (HTML: {why})", excerpt=body[:512])
        etree.strip_elements(document, "script", "style", with_tail=False)
        for br in document.iter("br"):  # a line break in a cell's text
            br.tail = "\n" + (br.tail or "")
        self._tables: dict[str, etree._Element] = {}
        for n, table in enumerate(document.iter("table"), 1):
            caption = table.find("caption")
            for name in (table.get("id"), "" if caption is None else _shown(caption), f"Table{n}"):
                if name:
                    self._tables.setdefault(name, table)
        self.sheet_names = list(self._tables)

    def rows(self, name: str) -> Iterator[list[Cell]]:
        return _padded(self._source, name, self._rows(name))

    def _rows(self, name: str) -> Iterator[list[Cell]]:
        below: dict[int, int] = {}  # a column's rows still spanned by a cell above it (rowspan)

        def spanned_from_above(until: int) -> None:
            while len(cells) < until or below.get(len(cells), 0) > 0:
                if below.get(len(cells), 0) > 0:
                    below[len(cells)] -= 1
                cells.append("")

        for row in self._tables[name].xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr"):
            cells: list[Cell] = []
            for cell in row.xpath("./td | ./th"):
                spanned_from_above(len(cells))
                first = len(cells)
                cells.append(_shown(cell))
                _spread(cells, _count(cell.get("colspan")))
                down = min(_count(cell.get("rowspan")), 65534)  # HTML's own cap
                for column in range(first, len(cells)) if down > 1 else ():
                    below[column] = down - 1
            spanned_from_above(max((c + 1 for c, n in below.items() if n > 0), default=0))
            yield cells


MAX_COLUMNS = 16_384  # Excel's: a row's cells spread by spans (colspan, MergeAcross, ss:Index) stop there


def _count(said: str | None, otherwise: int = 1) -> int:
    """A span's or an index's count as written (a number from 1), else `otherwise`."""
    said = (said or "").strip()
    return int(said) if said.isdigit() and int(said) > 0 else otherwise


def _spread(cells: list[Cell], span: int) -> None:
    """The empty cells a cell spanning `span` columns covers after itself (its text is in the first)."""
    cells += [""] * max(0, min(span - 1, MAX_COLUMNS - len(cells)))


def _padded(source: str, name: str, rows: Iterator[list[Cell]]) -> Iterator[list[Cell]]:
    """Rows as wide as the widest, as a spreadsheet's grid is: a row's trailing empty cells are left out of the
    file (Excel's XML) or of the page, not of the table. A grid past MAX_CELLS is refused before it is made."""
    held, width = [], 0
    for row in rows:
        held.append(row)
        width = max(width, len(row))
        check_grid(source, name, len(held), width)
    return (row + [""] * (width - len(row)) for row in held)


def _shown(element: etree._Element) -> str:
    """An element's text as a browser shows it: whitespace runs (&nbsp; too) as one space, <br> a line break."""
    return "\n".join(" ".join(line.split()) for line in "".join(element.itertext()).split("\n")).strip()
