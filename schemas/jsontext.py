"""JSON in and out through orjson, several times faster than the standard library on the hot paths (pages,
staged payloads, canonical records). What orjson refuses (integers beyond 64 bits, lone surrogates) goes
through the standard library, so such input reads and writes exactly as it always did."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # accepts what orjson refuses, or raises the usual, readable error


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
