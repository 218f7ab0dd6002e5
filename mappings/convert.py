"""Value converters for rule types (int, float, bool, decimal -> VND, str) and code-table keys.

Each takes a non-null raw value and returns the converted one, or raises ConversionError with a reason
that quotes the offending value. Dates live in mappings.dates.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from mappings.dates import quote
from mappings.errors import ConversionError


def to_str(v: Any) -> str:
    if type(v) is str:
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float | Decimal):
        return str(v)
    raise ConversionError(f"expected text, got {what(v)}", v)


def to_int(v: Any) -> int:
    if type(v) is int:
        return v
    if isinstance(v, bool):
        raise ConversionError(f"not an integer: {v!r}", v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if type(v) is str and _INT.match(v):  # not int(): it would take "1_000" and non-ASCII digits
        return int(v)
    raise ConversionError(f"not an integer: {quote(v)}", v)


def to_float(v: Any) -> float:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    if type(v) is str:
        try:
            return float(v.replace(",", "."))
        except ValueError:
            pass
    raise ConversionError(f"not a number: {quote(v)}", v)


TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t", "có", "x"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "f", "không"})


def to_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if type(v) is str:
        low = v.lower()
        if low in TRUE_WORDS:
            return True
        if low in FALSE_WORDS:
            return False
    raise ConversionError(f"not a yes/no value: {quote(v)}", v)


_INT = re.compile(r"^[+-]?[0-9]+$")
# Amounts are written the Vietnamese way — "." groups thousands, "," starts decimals (1.500.000,00) — or the
# English way (1,500,000.00), or grouped by spaces (1 500 000), or ungrouped (1500000, 1500000.0000 from SQL
# Server money). A grouped integer part is digits in groups of exactly three after a first group of one to three,
# all with the same separator; the decimals, if any, follow the *other* separator. An ambiguous "1.500" or "1,500"
# is grouped: 1500 (an amount of VND has no fraction worth writing). Anything else — "1.2.3.4", "1.5.000,00",
# "1,000.000,5", "1e3", "1_000", digits other than ASCII — is not an amount, rather than a guess.
_AMOUNT = re.compile(
    r"^(?P<sign>[+-]?)(?:"
    r"(?P<vn>[0-9]{1,3}(?:\.[0-9]{3})+)(?:,(?P<vn_frac>[0-9]+))?"  # 1.500.000 / 1.500.000,00
    r"|(?P<en>[0-9]{1,3}(?:,[0-9]{3})+)(?:\.(?P<en_frac>[0-9]+))?"  # 1,500,000 / 1,500,000.00
    r"|(?P<sp>[0-9]{1,3}(?:[ \u00a0\u2009\u202f][0-9]{3})+)(?:[.,](?P<sp_frac>[0-9]+))?"  # 1 500 000,00
    r"|(?P<plain>[0-9]+)(?:[.,](?P<plain_frac>[0-9]+))?"  # 1500000 / 1500000.0000 / 1500000,00
    r")\Z"
)
# The currency, once, before or after the number, with or without a space (matched on NFC text): 75.000 đồng,
# 75.000đ, 75.000 VNĐ, VND 75,000, ₫75.000.
_CURRENCY = r"(?:vnđ|vnd|đồng|đ|₫)"
_CURRENCY_BEFORE = re.compile(rf"^{_CURRENCY}\s*", re.IGNORECASE)
_CURRENCY_AFTER = re.compile(rf"\s*{_CURRENCY}\Z", re.IGNORECASE)
# Free of charge is an amount too: 0 (compared casefolded, NFC, spaces collapsed).
FREE_WORDS = frozenset({"miễn phí", "miễn lệ phí", "không thu phí", "không thu lệ phí"})


def to_vnd(v: Any) -> int:
    """An amount of VND as an integer: 50000, 50000.0, "50.000", "50,000", "50.000,00", "50 000 đ",
    "75.000 đồng", "VND 75,000", "₫75.000"; "Miễn phí" (free of charge) is 0."""
    if isinstance(v, bool):
        raise ConversionError(f"not an amount: {v!r}", v)
    if isinstance(v, int):
        return v
    if isinstance(v, float | Decimal):
        number = Decimal(str(v))
    elif type(v) is str:
        parsed = _amount(v)
        if parsed is None:
            raise ConversionError(f"not an amount: {quote(v)}", v)
        number = parsed
    else:
        raise ConversionError(f"not an amount: got {what(v)}", v)
    if not number.is_finite() or number != number.to_integral_value():
        raise ConversionError(f"not a whole number of VND: {quote(v)}", v)
    return int(number)


def _amount(text: str) -> Decimal | None:
    """The number an amount's text writes (see _AMOUNT), or None."""
    s = text.strip()
    if not s.isascii():  # a currency word or "miễn phí", perhaps decomposed (NFD)
        s = unicodedata.normalize("NFC", s)
        if " ".join(s.casefold().split()) in FREE_WORDS:
            return Decimal(0)
    s, before = _CURRENCY_BEFORE.subn("", s, count=1)
    if not before:
        s = _CURRENCY_AFTER.sub("", s, count=1)
    m = _AMOUNT.match(s)
    if m is None:
        return None
    sign, whole, fraction = m["sign"], "", None
    for style in ("vn", "en", "sp", "plain"):
        if m[style] is not None:
            whole, fraction = m[style], m[f"{style}_frac"]
            break
    integer = "".join(c for c in whole if c.isdigit())
    return Decimal(f"{sign}{integer}.{fraction or '0'}")


def what(v: Any) -> str:
    return {dict: "an object", list: "a list"}.get(type(v), type(v).__name__)


def folded(text: str) -> str:
    """A vendor value as a code table with `match: text` compares it: NFC, without case, runs of spaces as one."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def code_key(v: Any) -> str:
    """Vendor values are compared as text: 12 and "12" are the same key; true is "true"."""
    if type(v) is str:
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, int | float | Decimal):
        return str(v)
    raise ConversionError(f"expected a code, got {what(v)}", v)


CONVERTERS = {"int": to_int, "float": to_float, "bool": to_bool, "decimal": to_vnd, "str": to_str}
