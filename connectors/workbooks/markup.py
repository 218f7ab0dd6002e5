"""The "Excel" that is markup: an XML Spreadsheet 2003, and an HTML page of tables, each read by our safe parsers;
their spans spread as a merged cell reads, their grid padded and capped."""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree, html

from connectors.base import Unreadable
from connectors.errors import RefusedAnswer
from connectors.jsonpage import decode
from connectors.safexml import parse_document
from connectors.workbooks.cells import ERROR, Cell, calamine_cell, check_grid

SPREADSHEET_2003 = "urn:schemas-microsoft-com:office:spreadsheet"
# An HTML page's own charset, when the HTTP answer names none: <meta charset> or http-equiv's content.
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


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
