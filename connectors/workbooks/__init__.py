"""What an export endpoint's "Excel" may be, each read as a book of named sheets of rows of cells.

- A spreadsheet file: xlsx, xlsm or ods read by calamine (`calamine`), each sheet's grid and error cells found
  first in its own structure (`grids`); an Excel 97-2003 xls read by xlrd (`excel97`).
- An XML Spreadsheet 2003 (SpreadsheetML: a `Workbook` in `urn:schemas-microsoft-com:office:spreadsheet`), as .NET
  and PHP exports wrote Excel files before xlsx: read by our safe XML parser, no DTD, no entities, no network
  (`markup`).
- An HTML page of tables (`html: true`), as ASP.NET WebForms and PHP exports write "Excel": a GridView rendered
  with Content-Type application/vnd.ms-excel and a .xls name, which Excel opens. Each table is a sheet, named by its
  id, else its caption, and always `Table<n>` (n from 1, in the page's order) (`markup`).

A cell is a JSON value: text, a number, a boolean, or an ISO 8601 date or time without a zone (a spreadsheet holds
none: the mapping's zone applies); an empty cell is an empty text. A cell the book says holds an error (#N/A,
#DIV/0!) is an Unreadable text, so that it costs its record, never read as empty (`cells`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from connectors.errors import RefusedAnswer
from connectors.workbooks.calamine import Calamine
from connectors.workbooks.cells import Cell
from connectors.workbooks.excel97 import OLE2, Excel97
from connectors.workbooks.markup import SPREADSHEET_2003, HtmlTables, Spreadsheet2003

__all__ = ["Book", "Cell", "open_book"]


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
