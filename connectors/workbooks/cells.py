"""What every reader of a book gives: cells as JSON values, an error cell as Unreadable text, a grid no larger
than MAX_CELLS."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from connectors.errors import RefusedAnswer

Cell = str | int | float | bool
ERROR = "the cell holds a spreadsheet error: {}"
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
