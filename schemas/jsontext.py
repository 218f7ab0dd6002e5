"""JSON in and out through orjson, several times faster than the standard library on the hot paths (pages,
staged payloads, canonical records). What orjson would read wrongly or refuses is read another way, so such
input reads exactly as the standard library reads it:
  - an integer beyond 64 bits: orjson turns it into a float, silently (a 20-digit id would lose its last digits
    and meet another record's); a text with a run of 19 digits is read by msgspec, which keeps it an integer;
  - NaN, a lone surrogate: the standard library's reading (a page's reader names them as defects);
  - nesting past 1024 levels: refused as a ValueError, never recursed into (the standard library would recurse
    to Python's limit, and whatever runs at that depth, a finalizer say, fails for want of stack)."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import orjson

DEPTH = 1024

# A run of 19 digits: an integer that may not fit 64 bits. Found by mapping every digit to "0" and everything else
# to " ", then one substring search: ~2 µs a record of 2 KB, where the regular expression `\d{19}` took 30 µs (it
# tries a match at every digit).
_DIGITS_ONLY = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_RUN = b"0" * 19

_EXACT = msgspec.json.Decoder()


def long_digits(data: bytes) -> bool:
    """Whether `data` holds a run of 19 digits (in a string or not: a run inside a string costs only speed)."""
    return _LONG_RUN in data.translate(_DIGITS_ONLY)


def loads(text: str | bytes) -> Any:
    """`text`'s value; ValueError when it is not JSON or nests past DEPTH levels."""
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    try:
        return _EXACT.decode(data) if long_digits(data) else orjson.loads(data)
    except RecursionError:  # msgspec's depth check (in C: nothing recursed)
        raise ValueError(f"JSON nested past {DEPTH} levels") from None
    except (orjson.JSONDecodeError, msgspec.DecodeError, UnicodeDecodeError) as exc:
        if str(exc).startswith("depth limit"):
            raise ValueError(f"JSON nested past {DEPTH} levels") from None
    return json.loads(text)  # accepts NaN and lone surrogates, or raises the usual, readable error


def dumps(value: Any) -> str:
    """Compact JSON, non-ASCII as is."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def canonical(value: Any) -> str:
    """Sorted keys, compact, non-ASCII as is: byte for byte what json.dumps(sort_keys=True, …) writes."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# What PostgreSQL's text and jsonb cannot hold (a NUL; a lone surrogate, which is not UTF-8) and the other control
# characters a reader cannot see: written as the escape that names them, so that they stay visible.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def visible(text: str) -> str:
    """`text` with NUL, lone surrogates and other control characters (not tab, newline, return) written as
    `\\u0000`: storable in PostgreSQL text and jsonb, and shown as what they are."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def storable(value: Any) -> Any:
    """`visible` on every string (keys included) inside dicts and lists: for error lists kept as jsonb."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value
