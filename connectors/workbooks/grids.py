"""What a zipped book's own structure says of each sheet before any reader builds it: how far its grid spans and
which cells hold an error. calamine allocates a sheet's whole range and reads an error cell as empty; a few bytes
can name a cell at XFD1048576, or a part that holds 4,294,967,295 strings."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Protocol

from lxml import etree

from connectors.errors import RefusedAnswer
from connectors.safexml import iter_elements, parse_document
from connectors.workbooks.cells import MAX_CELLS


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
