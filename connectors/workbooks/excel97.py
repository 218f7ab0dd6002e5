"""Excel 97-2003 (.xls), read by xlrd."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from connectors.base import Unreadable
from connectors.errors import RefusedAnswer
from connectors.workbooks.cells import ERROR, Cell, calamine_cell, check_grid

OLE2 = bytes.fromhex("d0cf11e0a1b11ae1")  # an OLE2 compound file's signature: an Excel 97-2003 book


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
