"""Every parameter and form field the console takes, checked before it reaches a query: a clear 400 page for
what is not one (a NUL byte, a control character, text too long, a day outside the calendar the database keeps,
a key this console did not make), never a 500 from the database or the date arithmetic."""

from __future__ import annotations

import unicodedata
from datetime import datetime, time, timedelta

from connectors.store import failures
from onestop.console.errors import bad_input
from onestop.console.i18n import gettext as _
from schemas.dossier import HCM

FIRST_YEAR, LAST_YEAR = 2000, 2100  # the days a filter may name (dossiers of the one-stop era, with room)
MAX_KEYS = 500  # failures chosen in one form


def text(value: str | None, field: str, *, limit: int = 200, lines: bool = False) -> str:
    """A one-line (or, with `lines`, multi-line) text without control characters, surrogates or
    non-characters, at most `limit` characters; stripped. None and blanks are ''."""
    if value is None:
        return ""
    if len(value) > limit:
        raise bad_input(field, _("longer than %(limit)s characters", limit=limit))
    for ch in value:
        if lines and ch in "\n\r\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cs") or _noncharacter(ch):
            raise bad_input(field, _("has the control character %(char)s", char=f"U+{ord(ch):04X}"))
    return value.strip()


def _noncharacter(ch: str) -> bool:
    code = ord(ch)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def day(value: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A dd/mm/yyyy or yyyy-mm-dd day in Asia/Ho_Chi_Minh: its start (or, for `end`, the next day's)."""
    value = text(value, field, limit=20)
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            d = datetime.strptime(value, fmt).date()
            break
        except ValueError:
            continue
    else:
        raise bad_input(field, _("“%(value)s” is not a dd/mm/yyyy day", value=value))
    if not FIRST_YEAR <= d.year <= LAST_YEAR:
        raise bad_input(
            field, _("the day must be within %(first)s–%(last)s", first=FIRST_YEAR, last=LAST_YEAR)
        )
    if end:
        d += timedelta(days=1)
    return datetime.combine(d, time(), HCM)


def choice(value: str | None, field: str, allowed: tuple[str, ...], default: str = "") -> str:
    value = text(value, field, limit=40)
    if not value:
        return default
    if value not in allowed:
        raise bad_input(field, _("must be one of %(allowed)s", allowed=", ".join(allowed)))
    return value


def keys(values: list[str] | None, field: str = "keys") -> list[str]:
    """Failure keys as the console makes them (q…, d…@…, c…, t…, r…)."""
    chosen = [text(v, field, limit=64) for v in values or []]
    if len(chosen) > MAX_KEYS:
        raise bad_input(field, _("choose at most %(n)s items at a time", n=MAX_KEYS))
    try:
        failures.KeySet.parse(chosen)
    except ValueError:
        raise bad_input(field, _("not an item key made by the console")) from None
    return chosen


def number(value: str | None, field: str) -> int:
    """A positive id as the database keeps it (ASCII digits, within bigint)."""
    try:
        return failures._number(text(value, field, limit=20), failures.BIGINT)
    except ValueError:
        raise bad_input(field, _("must be a positive whole number")) from None


def cursor(value: str | None) -> str | None:
    value = text(value, "after", limit=200)
    if not value:
        return None
    try:
        failures.decode_cursor(value)
    except ValueError:
        raise bad_input("after", _("not a page position made by the console")) from None
    return value
