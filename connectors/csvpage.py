"""A CSV answer (`answer: csv`): each row is one record, named by the header's columns (or the registry's). A row
that does not fit costs that row alone, never its page: too few values, more values than columns, a JSON cell that
is not JSON, undecodable bytes or control characters.

A record is staged as the JSON object of its columns, in their order (its text as the mapping and re-drive read
it); the row's own bytes are in the message log with its page. Cells are text, as CSV has no types: the mapping
converts (`type: int`, dates by their format) as it does for any text.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import unicodedata
from typing import Any

from connectors.base import JSON, Defect, RawRecord, kept
from connectors.errors import ProtocolError
from connectors.jsonpage import _bad_text, _offending, decode, describe_character
from connectors.spec.rest import CsvSpec
from schemas.jsontext import visible

# A cell is as long as its answer may be (the byte cap of every answer bounds it), not the csv module's 128 KiB:
# a long cell makes its record an excerpt (connectors.base.kept), never the page's error.
csv.field_size_limit(sys.maxsize)


def read_rows(source: str, body: bytes, spec: CsvSpec, charset: str | None = None) -> list[RawRecord]:
    """The records of one CSV answer. Raises ProtocolError when its header names a column twice (which one a
    mapping means is unknown: `csv.columns` names them) or has no column."""
    text, _broken = decode(body, charset or _charset(body))
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=spec.delimiter, quotechar=spec.quote)
    columns = list(spec.columns) if spec.columns is not None else None
    header_due = spec.header
    found: list[RawRecord] = []
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue  # a blank line, or a row of empty cells (a spreadsheet's trailing rows)
        if header_due:  # the answer's header: it names the columns, unless `csv.columns` does
            header_due = False
            columns = columns or _named(source, row)
            continue
        found.append(_record(row, columns, spec))  # type: ignore[arg-type]
    return found


def _charset(body: bytes) -> str:
    """UTF-8, or UTF-16/32 when the bytes say so (Excel's "Unicode Text" is UTF-16 with its BOM)."""
    return json.detect_encoding(body)


def _named(source: str, row: list[str]) -> list[str]:
    """The header's column names: trimmed, NFC (paths are written NFC), a nameless one by its position (`_5`)."""
    names = [unicodedata.normalize("NFC", cell.strip()) or f"_{i}" for i, cell in enumerate(row, 1)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ProtocolError(
            source,
            f"the CSV header names {', '.join(map(repr, twice))} twice: name the columns in `csv.columns`",
        )
    return names


def _record(row: list[str], columns: list[str], spec: CsvSpec) -> RawRecord:
    defects: list[Defect] = []
    extra = row[len(columns) :]
    if len(row) < len(columns) or any(cell.strip() for cell in extra):
        defects.append(
            Defect("(record)", f"the row has {len(row)} values where the header names {len(columns)} columns")
        )
    record: dict[str, Any] = dict(zip(columns, row, strict=False))
    for name in spec.json_columns:
        cell = record.get(name)
        if cell is None or not cell.strip():
            record.pop(name, None)
            continue
        try:
            record[name] = json.loads(cell, parse_constant=_no_constant, object_pairs_hook=_once)
        except ValueError as exc:
            defects.append(Defect(name, f"the cell is not JSON ({exc})"))
    for path, value in _offending(record, _bad_text):
        defects.append(Defect(path, describe_character(value)))
    text = json.dumps(record, ensure_ascii=False)
    return kept(record, visible(text), JSON, tuple(defects))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    if len(record) < len(pairs):
        raise ValueError("a key given twice")
    return record
