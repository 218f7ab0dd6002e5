"""xlsx, xlsm and ods, read by calamine (Rust): its grid and error cells found first (connectors.workbooks.grids)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

from connectors.base import Unreadable
from connectors.errors import RefusedAnswer
from connectors.workbooks.cells import ERROR, Cell, calamine_cell, check_grid
from connectors.workbooks.grids import grids


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
