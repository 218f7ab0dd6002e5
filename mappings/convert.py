"""Value converters for rule types (int, float, bool, decimal -> VND, str) and code-table keys.

Each takes a non-null raw value and returns the converted one, or raises ConversionError with a reason
that quotes the offending value. Dates live in mappings.dates.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
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


_GROUPED = re.compile(r"^\d{1,3}(?:([.,])\d{3})(?:\1\d{3})*$")
_CURRENCY = re.compile(r"\s|vnđ|vnd|đ|₫", re.IGNORECASE)
_INT = re.compile(r"^[+-]?[0-9]+$")


def to_vnd(v: Any) -> int:
    """An amount of VND as an integer: 50000, 50000.0, "50.000", "50,000", "50.000,00", "50 000 đ"."""
    if isinstance(v, bool):
        raise ConversionError(f"not an amount: {v!r}", v)
    if isinstance(v, int):
        return v
    if isinstance(v, float | Decimal):
        number = Decimal(str(v))
    elif type(v) is str:
        s = _CURRENCY.sub("", v)
        if _GROUPED.match(s):  # thousands grouped with . (Vietnamese) or , (English)
            s = s.replace(".", "").replace(",", "")
        elif "." in s and "," in s:  # the last separator is the decimal one
            s = s.replace(".", "").replace(",", ".") if s.rfind(",") > s.rfind(".") else s.replace(",", "")
        else:
            s = s.replace(",", ".")
        try:
            number = Decimal(s)
        except InvalidOperation:
            raise ConversionError(f"not an amount: {quote(v)}", v) from None
    else:
        raise ConversionError(f"not an amount: got {what(v)}", v)
    if not number.is_finite() or number != number.to_integral_value():
        raise ConversionError(f"not a whole number of VND: {quote(v)}", v)
    return int(number)


def what(v: Any) -> str:
    return {dict: "an object", list: "a list"}.get(type(v), type(v).__name__)


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
