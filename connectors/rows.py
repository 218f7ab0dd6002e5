"""Answers that are tables: CSV text (`answer: csv`) and spreadsheets (`answer: spreadsheet`: xlsx, xls, ods, XML
Spreadsheet 2003, or an HTML page of tables: connectors.workbooks). Each row is one record, named by the header's
columns (or the registry's). A row that does not fit costs that row alone, never its page: too few values, more
values than columns, quotes that do not pair, a JSON cell that is not JSON, a cell holding a spreadsheet error,
undecodable bytes or control characters.

A record is staged as the JSON object of its columns, in their order (its text as the mapping and re-drive read
it); the answer's own bytes are in the message log with its page. CSV cells are text, as CSV has no types; a
spreadsheet's cells keep theirs (numbers, booleans; a date or time as ISO 8601 without a zone, as Excel holds
none: the mapping's zone applies). The mapping converts as it does for any record.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import sys
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from lxml import etree

from connectors.base import JSON, Defect, RawRecord, kept
from connectors.errors import ProtocolError, RefusedAnswer
from connectors.jsonpage import character_defects, decode, unreadable_defects
from connectors.nesting import nest_json
from connectors.spec.rest import CsvSpec, SheetSpec, TableSpec
from connectors.workbooks import Book, Cell, open_book
from schemas.jsontext import visible
from schemas.personal_data import quote_answer

# A cell is as long as its answer may be (the byte cap of every answer bounds it), not the csv module's 128 KiB:
# a long cell makes its record an excerpt (connectors.base.kept), never the page's error.
csv.field_size_limit(sys.maxsize)
# What a spreadsheet may unpack to (xlsx and ods are zip archives of XML), as much as any answer may be (the HTTP
# client's cap): past it, a zip bomb, refused unread. A page of a hundred dossiers unpacks to a few hundred KiB.
UNPACKED_LIMIT = 64 * 1024 * 1024
# What reading a damaged spreadsheet raises, beside calamine's own error: a torn archive, an encrypted member or a
# compression the zip module does not read (RuntimeError, NotImplementedError), a truncated or corrupt stream, a
# number past its type.
UNREADABLE = (
    ValueError, IndexError, OverflowError, EOFError, RuntimeError, zipfile.BadZipFile, zlib.error, etree.LxmlError,
)  # fmt: skip


# What a file's first bytes say it is, when it is no text: an answer of rows that is one of these is refused whole
# (read as text it would be hundreds of rows of junk, each quarantined, and the window would pass as read).
BINARY = {
    b"PK\x03\x04": "a ZIP archive (or an xlsx: `answer: spreadsheet`; a packed export: `archive`)",
    b"PK\x05\x06": "an empty ZIP archive",
    b"\x1f\x8b": "gzip-compressed (a packed export: `archive: {format: gzip}`)",
    b"\xd0\xcf\x11\xe0": "an Excel 97-2003 file (`answer: spreadsheet`)",
    b"%PDF-": "a PDF document",
}


def refuse_markup(
    source: str, body: bytes, content_type: str, charset: str | None, what: str, *, text: bool = True
) -> None:
    """Rows are awaited, and an HTML page (a login form, an error page answered with 200) or an XML document came,
    or a file that is no text (an archive, a workbook): read as rows it would be rows of junk, or none, and the
    window would pass as read (`text`: the rows are awaited as text, not packed). Refused as a whole, as a JSON reader refuses what is not JSON. Judged by the bytes
    (`body`: at least its first 2 KiB), not the media type: PHP sends text/html unless told otherwise, CSV and
    all."""
    body = body[:2048]
    for magic, kind in BINARY.items() if text else ():
        if body.startswith(magic):
            raise RefusedAnswer(source, f"answer is not {what}: it is {kind}", excerpt=body[:64], offset=0)
    text, _ = decode(body, charset or text_encoding(body))
    start = text.lstrip()[:1024].lower()
    if start.startswith("<"):
        said_html = "html" in content_type.lower()
        looks_html = start.startswith(("<!doctype html", "<html")) or "<body" in start
        kind = "HTML" if said_html or looks_html else "markup (XML or HTML)"
        raise RefusedAnswer(
            source, f"answer is not {what}: it is {kind} (at byte offset 0)", excerpt=body[:512], offset=0
        )


def text_encoding(body: bytes) -> str:
    """The encoding of text rows whose charset is not declared: UTF-8, or UTF-16/32 by a BOM or the NULs around its
    first character (json.detect_encoding), or UTF-16 without a BOM whose first character is not ASCII ("Đơn vị:
    …" above a report's header), which json.detect_encoding takes for UTF-8: told by the NULs of its ASCII
    characters, at odd offsets (little-endian) or even ones (big-endian). UTF-8 text holds no NUL."""
    found = json.detect_encoding(body)
    if found != "utf-8" or body.startswith(b"\xef\xbb\xbf"):
        return found
    head = body[:4096]
    head = head[: len(head) - len(head) % 2]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd >= len(head) // 8 and even * 8 <= odd:
        return "utf-16-le"
    if even >= len(head) // 8 and odd * 8 <= even:
        return "utf-16-be"
    return found


def read_csv(source: str, body: bytes, spec: CsvSpec, charset: str | None = None) -> list[RawRecord]:
    """The records of one CSV answer (UTF-8, or UTF-16/32 when its bytes say so: Excel's "Unicode Text")."""
    text, _broken = decode(body, charset or text_encoding(body))
    return _records(source, _csv_rows(text, spec), spec)


UNPAIRED = (
    "the cell's quotes do not pair: a quote is not closed, or one inside the text is not doubled; the row is kept "
    "as its first line, and the lines after it are read as rows"
)


class _Unpaired(list[str]):
    """A row whose quotes did not pair, as its first line reads alone, and the cell where they went wrong."""

    def __init__(self, cells: list[str], at: int) -> None:
        super().__init__(cells)
        self.at = at


def _unpaired_cell(line: str, delimiter: str, quote: str) -> int:
    """Which cell of a row's first line holds the quote that does not pair: one followed by text where a closed
    cell ends, or the cell still open at the end of the line (its quote may close on a later line, wrongly)."""
    cell, i, quoted, start = 0, 0, False, True
    while i < len(line):
        c = line[i]
        if quoted:
            if c == quote:
                if line[i + 1 : i + 2] == quote:  # a doubled quote is text
                    i += 1
                elif line[i + 1 : i + 2] in (delimiter, "\r", "\n", ""):
                    quoted = False
                else:
                    return cell
        elif c == delimiter:
            cell, start = cell + 1, True
            i += 1
            continue
        elif c == quote and start:
            quoted = True
        start = False
        i += 1
    return cell


def _csv_rows(text: str, spec: CsvSpec) -> Iterator[list[str]]:
    """The rows of CSV text, read strictly. A quote that does not pair would take the rows after it into one
    cell (a lenient reader runs it to the next quote or the end), losing them without a word: the row where it
    opened is given as its first line alone (_Unpaired, to be quarantined) and reading goes on at the next line."""
    lines = io.StringIO(text, newline="").readlines()
    dialect = {"delimiter": spec.delimiter, "quotechar": spec.quote}
    start = 0
    while start < len(lines):
        reader = csv.reader(itertools.islice(lines, start, None), strict=True, **dialect)
        done = 0  # the lines of the rows given so far
        try:
            for row in reader:
                done = reader.line_num
                yield row
            return
        except csv.Error:
            first = lines[start + done]
            cells = next(csv.reader([first], **dialect), [])
            yield _Unpaired(cells, _unpaired_cell(first, spec.delimiter, spec.quote))
            start += done + 1


def read_sheet(source: str, body: bytes, spec: SheetSpec, charset: str | None = None) -> list[RawRecord]:
    """The records of one spreadsheet answer (connectors.workbooks: xlsx, xlsm, xls, ods, XML Spreadsheet 2003,
    or an HTML page of tables where the spec says so), its first sheet or the one named, each with its rows of
    the `nest` sheets. Raises RefusedAnswer for what is no spreadsheet or would unpack past UNPACKED_LIMIT,
    ProtocolError for a sheet the workbook does not have."""
    from python_calamine import CalamineError

    try:
        _check_unpacked(source, body)
        book = open_book(source, body, spec.html, charset)
        records = _records(source, _cells(source, book, spec.sheet or book.sheet_names[0]), spec)
        beside = TableSpec(skip_rows=spec.skip_rows)  # each nest sheet: its own header, as many title rows
        sheets: dict[str, list[dict[str, Any]]] = {}
        # A nest sheet's rows that do not fit, by the row's identity: their defects go to the record they join.
        flawed: dict[int, tuple[Defect, ...]] = {}
        for n in spec.nest:
            rows = _records(source, _cells(source, book, n.path), beside)
            sheets[n.path] = [r.record for r in rows]
            flawed |= {id(r.record): r.defects for r in rows if r.defects}
    except (*UNREADABLE, CalamineError) as exc:
        raise RefusedAnswer(
            source, f"answer is not a spreadsheet ({type(exc).__name__}: {exc})", excerpt=body[:512]
        ) from None
    if not spec.nest:
        return records
    nested = nest_json(sheets, records, spec.nest)
    return [_with_flawed_rows(raw, spec, flawed) for raw in nested] if flawed else nested


def _with_flawed_rows(raw: RawRecord, spec: SheetSpec, flawed: dict[int, tuple[Defect, ...]]) -> RawRecord:
    """A record with the defects of the nest sheets' rows joined into it (a #N/A in its fees' sheet costs the
    dossier it belongs to, named `le_phi[0].Tên phí`, as any field of the record would)."""
    if raw.defects:
        return raw  # quarantined as it is
    found = tuple(
        Defect(f"{n.into}[{i}].{d.field}", d.reason)
        for n in spec.nest
        for i, row in enumerate(raw.record.get(n.into) or ())
        for d in flawed.get(id(row), ())
    )
    return kept(raw.record, raw.payload, JSON, found) if found else raw


def _cells(source: str, book: Book, name: str) -> Iterator[list[Cell]]:
    """A sheet's rows, one at a time, each cell a JSON value; ProtocolError when the workbook has no such sheet."""
    if name not in book.sheet_names:
        raise ProtocolError(
            source, f"the spreadsheet has no sheet {name!r}; its sheets: {', '.join(book.sheet_names)}"
        )
    return book.rows(name)


def _check_unpacked(source: str, body: bytes) -> None:
    if not body.startswith(b"PK"):
        return  # Excel 97-2003 (an OLE file) is not compressed
    try:
        unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(body)).infolist())
    except UNREADABLE:
        return  # the reader says what it is not
    if unpacked > UNPACKED_LIMIT:
        raise RefusedAnswer(
            source,
            f"answer of {len(body)} bytes unpacks to {unpacked} bytes, over the {UNPACKED_LIMIT}-byte cap",
            excerpt=body[:64],
        )


def _records(source: str, rows: Iterable[list[Any]], spec: TableSpec) -> list[RawRecord]:
    columns = list(spec.columns) if spec.columns is not None else None
    above, header_due, header = spec.skip_rows, spec.header, None
    found: list[RawRecord] = []
    first: tuple[str, ...] | None = None  # the first row that is not blank, whatever it is
    for row in rows:
        filled = sum(1 for cell in row if is_filled(cell))
        if not filled:
            continue  # a blank line, or a row of empty cells (a spreadsheet's trailing rows)
        first = first or _as_header(row)
        if above:  # a report's title above its header
            above -= 1
            continue
        if header_due:  # the answer's header: it names the columns, unless the registry does
            header_due, header = False, _as_header(row)
            _check_header(source, header, spec.required_columns)
            columns = columns or _named(source, row)
            continue
        if header is not None and _as_header(row) == header:
            continue  # the header again: pages appended into one export, a grid that repeats it per screen
        if filled < spec.min_cells:
            continue  # a subtotal, a signature: the printed report's layout, not a record
        found.append(_record(row, columns, spec))  # type: ignore[arg-type]
    if (
        header_due and first is not None
    ):  # text came, and no header below the rows to leave out: an error line
        _check_header(source, first, spec.required_columns, below=spec.skip_rows)
    return found


def _check_header(source: str, header: tuple[str, ...], required: list[str], below: int = 0) -> None:
    """A header that lacks a required column (or none at all: `below` the rows to leave out, the answer ended):
    what came is no export (a vendor's error text sent with 200, a page of another report), refused whole, so
    that the window is not read as empty. `header` is then the first row that came."""
    missing = [name for name in required if below or column_name(name) not in header]
    if missing:
        raise RefusedAnswer(
            source,
            (
                f"the answer ends before its header (after {below} rows to leave out)"
                if below
                else f"the answer's header names no column {', '.join(map(repr, missing))}"
            )
            + f": it is not the export (its first row reads: {quote_answer(' | '.join(header), 512)})",
        )


def _as_header(row: list[Any]) -> tuple[str, ...]:
    """A row as a header reads: its cells' names (_name; a BOM left out too: files appended with theirs), without
    the empty cells at its end."""
    names = [column_name(str(cell).replace("\ufeff", "")) for cell in row]
    while names and not names[-1]:
        names.pop()
    return tuple(names)


def column_name(cell: str) -> str:
    """A column's name as the mapping's paths write it: NFC, its spaces (a no-break space, a line break in a
    wrapped header cell, two spaces typed for one) one space, none around it."""
    return " ".join(unicodedata.normalize("NFC", cell).split())


def is_filled(cell: Any) -> bool:
    return cell.strip() != "" if isinstance(cell, str) else cell is not None


def _named(source: str, row: list[Any]) -> list[str]:
    """The header's column names (_name: NFC and single spaces, as paths are written), a nameless one by its
    position (`_5`)."""
    names = [column_name(str(cell)) or f"_{i}" for i, cell in enumerate(row, 1)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ProtocolError(
            source,
            f"the header names {', '.join(map(repr, twice))} twice: name the columns in the registry (`columns`)",
        )
    return names


def _record(row: list[Any], columns: list[str], spec: TableSpec) -> RawRecord:
    defects: list[Defect] = []
    if isinstance(row, _Unpaired):
        defects.append(Defect(columns[row.at] if row.at < len(columns) else "(record)", UNPAIRED))
    elif len(row) < len(columns) or any(is_filled(cell) for cell in row[len(columns) :]):
        defects.append(
            Defect("(record)", f"the row has {len(row)} values where the header names {len(columns)} columns")
        )
    record: dict[str, Any] = dict(zip(columns, row, strict=False))
    for name in spec.json_columns:
        cell = record.get(name)
        if not isinstance(cell, str) or not cell.strip():
            if cell is None or cell == "":
                record.pop(name, None)
            continue
        try:
            record[name] = json.loads(cell, parse_constant=_no_constant, object_pairs_hook=_once)
        except ValueError as exc:
            defects.append(Defect(name, f"the cell is not JSON ({exc})"))
        except RecursionError:
            defects.append(Defect(name, "the cell is not JSON (nested too deep)"))
    defects += character_defects(record) + unreadable_defects(record)
    text = json.dumps(record, ensure_ascii=False)
    return kept(record, visible(text), JSON, tuple(defects))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    if len(record) < len(pairs):
        raise ValueError("a key given twice")
    return record
