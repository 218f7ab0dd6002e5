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
    return Calamine(source, body)


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
    """xlsx, xlsm, xls, ods. calamine reads a cell holding an error (#N/A, #REF!) as empty: in an xlsx, such cells
    are found in the sheet's XML (`t="e"`) and given back as what they are (xls and ods keep reading them empty)."""

    def __init__(self, source: str, body: bytes) -> None:
        from python_calamine import CalamineWorkbook

        self._source, self._body = source, body
        self._book = CalamineWorkbook.from_filelike(io.BytesIO(body))
        self.sheet_names: list[str] = list(self._book.sheet_names)
        # An xlsx's archive and its sheets' files, read once, when a sheet is first asked for.
        self._files: tuple[zipfile.ZipFile | None, dict[str, str]] | None = None

    def rows(self, name: str) -> Iterator[list[Cell]]:
        sheet = self._book.get_sheet_by_name(name)
        rows = [[calamine_cell(c) for c in row] for row in sheet.iter_rows()]
        errors = self._errors(name) if rows and sheet.end else {}
        if errors:  # where the rows start: calamine gives a sheet's range, its rows as it pleases
            top, left = sheet.end[0] + 1 - len(rows), sheet.end[1] + 1 - max(map(len, rows))
            for (r, c), text in errors.items():
                if 0 <= r - top < len(rows) and 0 <= c - left < len(rows[r - top]):
                    rows[r - top][c - left] = Unreadable(text, ERROR.format(text[:20]))
        return iter(rows)

    def _errors(self, name: str) -> dict[tuple[int, int], str]:
        if self._files is None:
            self._files = _xlsx_sheet_files(self._source, self._body)
        archive, files = self._files
        if archive is None or name not in files:
            return {}
        return _error_cells(self._source, archive.read(files[name]))


_OFFICE_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_CELL = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")


def _xlsx_sheet_files(source: str, body: bytes) -> tuple[zipfile.ZipFile | None, dict[str, str]]:
    """An xlsx's archive and each sheet's XML file by the sheet's name (none for an xls or an ods)."""
    if not zipfile.is_zipfile(io.BytesIO(body)):
        return None, {}
    archive = zipfile.ZipFile(io.BytesIO(body))
    try:
        workbook = parse_document(archive.read("xl/workbook.xml"), source)
        relations = parse_document(archive.read("xl/_rels/workbook.xml.rels"), source)
    except KeyError:  # an ods: nothing to look for
        return None, {}
    targets = {r.get("Id"): r.get("Target") or "" for r in relations.iter("{*}Relationship")}
    files = {}
    for sheet in workbook.iter("{*}sheet"):
        target = targets.get(sheet.get(_OFFICE_RELATIONSHIP)) or ""
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if target and path in archive.namelist():
            files[sheet.get("name") or ""] = path
    return archive, files


def _error_cells(source: str, xml: bytes) -> dict[tuple[int, int], str]:
    """The cells of a sheet's XML that hold an error, by (row, column) from 0, with the error's text."""
    if b't="e"' not in xml and b"t='e'" not in xml:
        return {}
    found = {}
    for cell in iter_elements(xml, "c", source):
        at = _CELL.fullmatch(cell.get("r") or "")
        if cell.get("t") == "e" and at:
            column = 0
            for letter in at[1]:
                column = column * 26 + ord(letter) - 64
            value = cell.find("{*}v")
            found[int(at[2]) - 1, column - 1] = "" if value is None else value.text or ""
    return found


class Spreadsheet2003:
    """SpreadsheetML: Worksheet (ss:Name) / Table / Row (ss:Index) / Cell (ss:Index, ss:MergeAcross) / Data (ss:Type
    String, Number, DateTime, Boolean or Error; its text, rich text's too)."""

    def __init__(self, source: str, body: bytes) -> None:
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
        return _padded(self._rows(name))

    def _rows(self, name: str) -> Iterator[list[Cell]]:
        table = self._sheets[name].find(_ss("Table"))
        for row in () if table is None else table.iterfind(_ss("Row")):
            cells: list[Cell] = []
            for cell in row.iterfind(_ss("Cell")):
                at = cell.get(_ss("Index"))
                if at is not None and at.isdigit() and len(cells) < int(at) - 1 <= 16384:  # cells skipped
                    cells += [""] * (int(at) - 1 - len(cells))
                cells.append(self._value(cell.find(_ss("Data"))))
                across = cell.get(_ss("MergeAcross"))
                if across is not None and across.isdigit():
                    cells += [""] * min(int(across), 16384)
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
    columns (the text in the first). rowspan is not spread: exports of records do not use it."""

    def __init__(self, source: str, body: bytes, charset: str | None) -> None:
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
        return _padded(self._rows(name))

    def _rows(self, name: str) -> Iterator[list[Cell]]:
        for row in self._tables[name].xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr"):
            cells: list[Cell] = []
            for cell in row.xpath("./td | ./th"):
                cells.append(_shown(cell))
                span = cell.get("colspan", "1").strip()
                if span.isdigit() and int(span) > 1:
                    cells += [""] * min(int(span) - 1, 16384)
            yield cells


def _padded(rows: Iterator[list[Cell]]) -> Iterator[list[Cell]]:
    """Rows as wide as the widest, as a spreadsheet's grid is: a row's trailing empty cells are left out of the
    file (Excel's XML) or of the page, not of the table."""
    held = list(rows)
    width = max(map(len, held), default=0)
    return (row + [""] * (width - len(row)) for row in held)


def _shown(element: etree._Element) -> str:
    """An element's text as a browser shows it: whitespace runs (&nbsp; too) as one space, <br> a line break."""
    return "\n".join(" ".join(line.split()) for line in "".join(element.itertext()).split("\n")).strip()
