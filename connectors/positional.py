"""Records sent as rows of cells (the registry's `records.rows`): DataTables' server-side answer, jqGrid's
`rows[].cell`, ClickHouse's JSONCompact, a spreadsheet API's values under a header row, Frappe's keys and values.
Each row becomes the object {column: cell} before anything maps it, so that a mapping reads it as any record.

The page's reader (connectors.jsonpage.PageReader) scans each row as it scans any record, and hands the rows over
with the answer once the page is read: names the answer writes after its rows (`{"data": […], "meta": […]}`) are
known by then. A row is staged as its object, as a CSV row is (connectors.rows); one that costs its record keeps
its text as sent, so that a re-drive finds it as wrong as it was.

What is wrong in one row costs that row: it is no list, or it has a filled cell past the columns (kept as
`_<position>`, from 1, so that nothing is lost). A shorter row lacks its last columns: a spreadsheet API leaves
trailing empty cells out. Columns the answer names wrongly (twice, empty, not where `columns_path` says) refuse
the page: every record on it would be wrong.
"""

from __future__ import annotations

import re
from typing import Any

from connectors.base import JSON, Defect, RawRecord, kept
from connectors.jsonpage import ColumnsRefused, Scanned, describe_character, value_kind
from connectors.rows import column_name, is_filled
from connectors.spec.common import get_path, has_path
from connectors.spec.rest import RowsSpec
from mappings.paths import parse_steps
from schemas import jsontext
from schemas.personal_data import quote_answer


class RowNamer:
    """Names the rows of one source's pages (`records.rows`)."""

    def __init__(self, spec: RowsSpec, records_path: str) -> None:
        self.spec, self.records_path = spec, records_path
        self._cells_key = parse_steps(spec.cells_path)[0][0] if spec.cells_path else None
        # Where a defect the reader found in a cell points: `[3].x` in a row, `cell[3].x` in a jqGrid record.
        self._in_cells = re.compile(re.escape(spec.cells_path or "") + r"\[(\d+)\]")

    def records(self, document: Any, scanned: list[Scanned]) -> list[RawRecord]:
        """A page's rows as records, in their order; ColumnsRefused when the answer names its columns wrongly.
        A page without rows needs no names."""
        if not scanned:
            return []
        start = 0
        columns = self.spec.columns
        if self.spec.header:
            start = 1
            if columns is None:
                columns = self._header(scanned[0])
        if columns is None:
            columns = self._listed(document)
        return [self._record(i, columns, scanned[i]) for i in range(start, len(scanned))]

    def _where(self, i: int) -> str:
        return f"{self.records_path}[{i}]"

    # --- the columns ------------------------------------------------------------------------------------------

    def _header(self, first: Scanned) -> list[str]:
        """The names the first row gives (`header: true`)."""
        value, _text, defects, _raw = first
        where = f"the columns named at {self._where(0)!r}"
        if defects:
            raise ColumnsRefused(f"{where} cannot be read: {defects[0].reason}")
        cells, _beside, problem = self._cells(0, value)
        if problem is not None:
            held = get_path(value, self.spec.cells_path) if self.spec.cells_path else value
            raise ColumnsRefused(f"{where} are {value_kind(held)}, not a list of names")
        return _checked_names([_name(cell, j, where) for j, cell in enumerate(cells)], where)

    def _listed(self, document: Any) -> list[str]:
        """The names the answer lists at `columns_path`, each a text or an object naming it."""
        path, name_path = self.spec.columns_path or "", self.spec.column_name_path
        where = f"the columns named at {path!r}"
        if not has_path(document, path):
            keys = f"; the answer's keys are {sorted(document)[:20]}" if isinstance(document, dict) else ""
            raise ColumnsRefused(f"no columns at {path!r} (rows.columns_path){keys}")
        listed = get_path(document, path)
        if not isinstance(listed, list) or not listed:
            kind = value_kind(listed) if listed != [] else "an empty list"
            raise ColumnsRefused(f"{where} are {kind}, not a list of names")
        names = []
        for j, item in enumerate(listed):
            if isinstance(item, dict):
                name = get_path(item, name_path)
                if name is None:
                    raise ColumnsRefused(f"{where}: the column at position {j + 1} has no {name_path!r}")
                item = name
            names.append(_name(item, j, where))
        return _checked_names(names, where)

    # --- a row ------------------------------------------------------------------------------------------------

    def _cells(self, i: int, value: Any) -> tuple[list[Any], dict[str, Any], Defect | None]:
        """(the row's cells, the record's other keys, what keeps it from being read as a row)."""
        where, path = self._where(i), self.spec.cells_path
        if path is None:
            if isinstance(value, list):
                return value, {}, None
            return (
                [],
                {},
                Defect("(record)", f"{where}: a row must be a JSON list of cells, not {value_kind(value)}"),
            )
        if not isinstance(value, dict):
            said = f"{where}: a record must be a JSON object holding its cells at {path!r}, not {value_kind(value)}"
            return [], {}, Defect("(record)", said)
        beside = {k: v for k, v in value.items() if k != self._cells_key}
        if not has_path(value, path):
            return [], beside, Defect(path, f"{where}: the record has no cells at {path!r}")
        cells = get_path(value, path)
        if not isinstance(cells, list):
            return (
                [],
                beside,
                Defect(path, f"{where}: the cells must be a JSON list, not {value_kind(cells)}"),
            )
        return cells, beside, None

    def _record(self, i: int, columns: list[str], scanned: Scanned) -> RawRecord:
        value, text, found, raw_text = scanned
        sent = jsontext.visible(text) if raw_text else text
        cells, beside, problem = self._cells(i, value)
        if problem is not None:
            # the record's other keys are kept: what names it (jqGrid's id) names its quarantine row
            return kept(beside, sent, JSON, (*found, problem))
        where = self._where(i)
        defects = [self._renamed(d, columns) for d in found]
        record = dict(beside)
        for name, cell in zip(columns, cells, strict=False):
            if name in record and record[name] != cell:
                said = f"{where}: duplicate key: the record's key and its column {name!r} differ"
                defects.append(Defect(name, said))
            record[name] = cell
        extra = [j for j in range(len(columns), len(cells)) if is_filled(cells[j])]
        for j in extra:
            record.setdefault(f"_{j + 1}", cells[j])
        if extra:
            said = (
                f"{where}: the row has {len(cells)} cells where {len(columns)} columns are named: the cell at "
                f"position {extra[0] + 1} has no column"
            )
            defects.append(Defect(f"_{extra[0] + 1}", said))
        if defects:
            return kept(record, sent, JSON, tuple(defects))
        return kept(record, jsontext.visible(jsontext.dumps(record)), JSON)

    def _renamed(self, defect: Defect, columns: list[str]) -> Defect:
        """A defect the reader found inside a cell (`[3].x`), named by that cell's column (`ngay_nhan.x`)."""
        m = self._in_cells.match(defect.field)
        if m is None:
            return defect
        j = int(m[1])
        name = columns[j] if j < len(columns) else f"_{j + 1}"
        return Defect(name + defect.field[m.end() :], defect.reason)


def _name(cell: Any, j: int, where: str) -> str:
    """A column's name as the answer gives it: a text, or a number (a year, a code)."""
    if isinstance(cell, bool) or not isinstance(cell, str | int | float):
        raise ColumnsRefused(f"{where}: the column at position {j + 1} is {value_kind(cell)}, not a name")
    return str(cell)


def _checked_names(names: list[str], where: str) -> list[str]:
    """Names as the mapping's paths write them (connectors.rows.column_name: NFC, single spaces), each given,
    once, and storable."""
    written = [column_name(name) for name in names]
    first: dict[str, int] = {}
    for j, name in enumerate(written):
        if not name:
            raise ColumnsRefused(f"{where}: the column at position {j + 1} has no name")
        if bad := describe_character(name):
            raise ColumnsRefused(f"{where}: the name of the column at position {j + 1} holds {bad}")
        if (before := first.setdefault(name, j)) != j:
            raise ColumnsRefused(
                f"{where}: {quote_answer(name, 200)!r} names the columns at positions {before + 1} and {j + 1}"
            )
    return written
