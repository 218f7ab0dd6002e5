"""Typed-value JSON read as plain JSON before a mapping's paths read it (the mapping's `typed_values`).

Document stores write each value inside a one-key wrapper that names its type: DynamoDB's AttributeValue
(`{"S": "…"}`, `{"N": "150000"}`, `{"L": [{"M": {…}}]}`, `{"NULL": true}`), Firestore's Value
(`{"stringValue": "…"}`, `{"integerValue": "12"}`, `{"mapValue": {"fields": {…}}}`, `{"arrayValue": {"values":
[…]}}`), and others of the same design. One table of wrapper keys, each with the kind of value it holds, reads
them all: a mapping then says `fullname`, not `fullname.S`, and a wrapper that does not fit its table (two type
keys, an unknown one, an `N` that is no number) is a failure of its record, never a value read past in silence
(a path `fee.N` on `{"S": "150000"}` would give nothing and drop the amount unseen).

    typed_values: dynamodb                      # a preset: the whole record is a map of typed values
    typed_values: {preset: firestore, at: fields}   # the typed map is the record's `fields`
    typed_values:                               # a table of one's own (or a preset's, extended)
      at: attributes
      types: {s: text, n: number, b: bool, z: null, l: list, m: map, a: "list:items", o: "map:props"}

Kinds: text (a JSON string), number (a decimal number, as text or JSON: an int when written as one, else its
text, checked: a phone kept in an N keeps its leading zero), integer (an
int64, as text or JSON), double (a JSON number; NaN and ±Infinity, written as text, are kept as that text), bool,
null (whatever it holds), keep (the value as it is: a geo point), list and map (their items typed values in turn;
`list:<key>`/`map:<key>`: inside an object at that key, absent when empty, as Firestore writes them),
text_set and number_set (DynamoDB's SS/BS and NS: lists of plain values), int32 (an integer of 32 bits, as text or
JSON: EJSON's `$numberInt`), float (a double written as text, EJSON's `$numberDouble`: `1.5`, `-0.0`; `NaN` and
`±Infinity` kept as that text; a JSON number too), date (a time: ISO 8601 text with its offset, or milliseconds
since 1970 as a number or as a typed value holding one — EJSON's canonical `{"$date": {"$numberLong":
"1733380200000"}}`, relaxed `{"$date": "2024-12-05T06:30:00Z"}` — read as ISO 8601 text in UTC,
`2024-12-05T06:30:00.000Z`, what a mapping's `iso` reads).

MongoDB's Extended JSON (v2, canonical or relaxed: what mongoexport, the drivers' `EJSON.stringify` and the former
Atlas Data API answer) wraps only the values JSON cannot say — `{"$oid": …}`, `{"$date": …}`, `{"$numberLong":
"…"}`, `{"$numberDecimal": "150000.00"}` — and writes texts, booleans, nulls, documents and arrays plain:

    typed_values: mongo_ejson                   # a preset whose values outside wrappers are plain
    typed_values: {types: {$when: date}, plain: true}   # a table of one's own, read the same way

With `plain`, an object is a wrapper when one of its keys is a type key, and then that key must be alone (EJSON
forbids other keys beside one: `{"$date": …, "ghiChu": …}` costs its record); any other object is a document and
any list an array, their values read in turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from mappings.convert import what

KINDS = (
    "text",
    "number",
    "integer",
    "double",
    "bool",
    "null",
    "keep",
    "list",
    "map",
    "text_set",
    "number_set",
    "int32",
    "float",
    "date",
)
CONTAINERS = ("list", "map")  # the kinds that may name the key their items are under (`list:values`)
PRESETS: dict[str, dict[str, str]] = {
    # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_AttributeValue.html
    "dynamodb": {
        "S": "text",
        "N": "number",
        "B": "text",
        "BOOL": "bool",
        "NULL": "null",
        "L": "list",
        "M": "map",
        "SS": "text_set",
        "NS": "number_set",
        "BS": "text_set",
    },
    # https://firebase.google.com/docs/firestore/reference/rest/v1/Value
    "firestore": {
        "nullValue": "null",
        "booleanValue": "bool",
        "integerValue": "integer",
        "doubleValue": "double",
        "timestampValue": "text",
        "stringValue": "text",
        "bytesValue": "text",
        "referenceValue": "text",
        "geoPointValue": "keep",
        "arrayValue": "list:values",
        "mapValue": "map:fields",
    },
    # https://www.mongodb.com/docs/manual/reference/mongodb-extended-json/ (v2, canonical and relaxed)
    "mongo_ejson": {
        "$oid": "text",
        "$date": "date",
        "$numberInt": "int32",
        "$numberLong": "integer",
        "$numberDouble": "float",
        "$numberDecimal": "number",
        "$binary": "keep",
        "$uuid": "text",
        "$timestamp": "keep",
        "$regularExpression": "keep",
        "$symbol": "text",
        "$code": "text",
        "$minKey": "keep",
        "$maxKey": "keep",
        "$undefined": "null",
    },
}
PLAIN_PRESETS = frozenset({"mongo_ejson"})  # presets whose values outside wrappers are plain JSON
MAX_DEPTH = 64  # DynamoDB nests at most 32 levels; deeper is a hostile document, not a dossier
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_INT64 = 2**63
_INT32 = 2**31
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS_RANGE = (  # milliseconds since 1970 that a datetime can hold: years 1 to 9999
    int((datetime(1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds() * 1000),
    int((datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH).total_seconds() * 1000),
)
_EXPONENT = 130
_SHOWN_KEYS = 3  # type keys a reason names (a wrapper may have thousands)
_WRAPPER = object()  # `plain`: the value is a wrapper, read by the table


@dataclass(frozen=True)
class TypedValues:
    """A validated `typed_values`: where the typed map is, and each wrapper key's (kind, items key or None)."""

    at: tuple[str, ...]  # keys from the record's root to the map of typed values; () = the record is that map
    types: dict[str, tuple[str, str | None]]
    plain: bool = False  # values outside wrappers are plain JSON (MongoDB's Extended JSON): see the module

    def decode(self, record: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The record with its typed map read as plain values, and its failures as (path, reason): a failing
        value reads as None, so that the record's id can still be named. Never raises for the record's data."""
        failures: list[tuple[str, str]] = []
        where = ".".join(self.at)
        if not self.at:
            return self._map(record, "", failures, 0), failures
        parents = [record]
        node: Any = record
        for key in self.at:
            node = node.get(key) if isinstance(node, dict) else None
            parents.append(node)
        if node is None:
            return record, failures  # an empty document: Firestore leaves `fields` out
        if not isinstance(node, dict):
            failures.append((where, f"the typed values are an object of names, got {what(node)}"))
            return record, failures
        value: Any = self._map(node, where, failures, 0)
        # a copy of each object on the way down, so that the record as received stays as it was (staging)
        for key, parent in zip(reversed(self.at), reversed(parents[:-1]), strict=True):
            value = {**parent, key: value}
        return value, failures

    def _map(
        self, items: dict[str, Any], path: str, failures: list[tuple[str, str]], depth: int
    ) -> dict[str, Any]:
        return {k: self._value(v, _join(path, k), failures, depth) for k, v in items.items()}

    def _value(self, wrapper: Any, path: str, failures: list[tuple[str, str]], depth: int) -> Any:
        if depth >= MAX_DEPTH:
            failures.append((path, f"typed values nested more than {MAX_DEPTH} deep"))
            return None
        if self.plain:
            plain = self._plain(wrapper, path, failures, depth)
            if plain is not _WRAPPER:
                return plain
        if not isinstance(wrapper, dict) or len(wrapper) != 1:
            failures.append((path, self._misfit(wrapper)))
            return None
        ((key, value),) = wrapper.items()
        known = self.types.get(key)
        if known is None:
            failures.append((path, f"unknown type key {_key(key)} (known: {', '.join(self.types)})"))
            return None
        kind, items_key = known
        try:
            return self._read(kind, items_key, key, value, path, failures, depth)
        except ValueError as exc:
            failures.append((path, f"{_key(key)}: {exc}"))
            return None

    def _plain(self, value: Any, path: str, failures: list[tuple[str, str]], depth: int) -> Any:
        """`plain`: a value that is no wrapper, read through (a document's values, an array's items, the rest as
        it is); _WRAPPER for one that is, or one that says it is and does not fit (a type key with others)."""
        if isinstance(value, list):
            return [self._value(v, f"{path}[{i}]", failures, depth + 1) for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        typed = [k for k in value if k in self.types]
        if not typed:
            return self._map(value, path, failures, depth + 1)
        if len(value) > 1:
            others = [k for k in value if k != typed[0]]
            keys = ", ".join(_key(k) for k in others[:_SHOWN_KEYS])
            more = f" and {len(others) - _SHOWN_KEYS} more" if len(others) > _SHOWN_KEYS else ""
            failures.append(
                (
                    path,
                    f"a typed value {_key(typed[0])} has other keys beside it ({keys}{more}): it is expected alone",
                )
            )
            return None
        return _WRAPPER

    def _read(
        self,
        kind: str,
        items_key: str | None,
        key: str,
        value: Any,
        path: str,
        failures: list[tuple[str, str]],
        depth: int,
    ) -> Any:
        if kind in CONTAINERS and items_key is not None:
            if not isinstance(value, dict):
                raise ValueError(f"an object holding {items_key!r} is expected, got {what(value)}")
            value = value.get(items_key, [] if kind == "list" else {})
        if kind == "text":
            if not isinstance(value, str):
                raise ValueError(f"a text is expected, got {what(value)}")
            return value
        if kind == "number":
            return _number(value)
        if kind == "integer":
            return _integer(value)
        if kind == "int32":
            return _integer(value, _INT32, "not a 32-bit integer")
        if kind == "date":
            if isinstance(value, dict):  # EJSON canonical: the milliseconds inside a wrapper of their own
                said = len(failures)
                value = self._value(value, path, failures, depth + 1)
                if len(failures) > said:
                    return None  # said by that wrapper
            return _date(value)
        if kind == "float":  # EJSON's $numberDouble: a double's text (its non-finite ones kept as text)
            if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
                return value
            if isinstance(value, str) and len(value) <= 64 and _NUMBER.fullmatch(value.strip()):
                number = float(value)
                if number not in (float("inf"), float("-inf")):
                    return number
                raise ValueError("not a number (beyond a double's range)")
            if isinstance(value, str):
                raise ValueError("not a number")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"a number is expected, got {what(value)}")
            return value
        if kind == "double":
            if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
                return value  # proto3 JSON's non-finite doubles: kept as text, an error only where a number is read
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"a number is expected, got {what(value)}")
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"true or false is expected, got {what(value)}")
            return value
        if kind == "null":
            return None
        if kind == "keep":
            return value
        if kind == "list":
            if not isinstance(value, list):
                raise ValueError(f"a list is expected, got {what(value)}")
            return [self._value(v, f"{path}[{i}]", failures, depth + 1) for i, v in enumerate(value)]
        if kind == "map":
            if not isinstance(value, dict):
                raise ValueError(f"an object is expected, got {what(value)}")
            return self._map(value, path, failures, depth + 1)
        if not isinstance(value, list):
            raise ValueError(f"a list is expected, got {what(value)}")
        if kind == "text_set":
            if not all(isinstance(v, str) for v in value):
                raise ValueError("a list of texts is expected")
            return value
        return [_number(v) for v in value]  # number_set

    def _misfit(self, wrapper: Any) -> str:
        if not isinstance(wrapper, dict):
            return f"a typed value is an object of one type key, got {what(wrapper)}"
        if not wrapper:
            return "a typed value without its type key"
        keys = ", ".join(_key(k) for k in list(wrapper)[:_SHOWN_KEYS])
        more = f" and {len(wrapper) - _SHOWN_KEYS} more" if len(wrapper) > _SHOWN_KEYS else ""
        return f"a typed value has {len(wrapper)} type keys ({keys}{more}): one is expected"


def _number(value: Any) -> int | str:
    """DynamoDB's N: a decimal number written as text (JSON numbers too, as a gateway may convert them). A whole
    number written plainly comes out an int, as JSON would have given it; any other (1.5, 1e3, a phone's 0912…) as
    its text, checked to be a number: the mapping's converters read it as one, and a text field keeps every
    character (an int would drop a leading zero)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"a number is expected, got {what(value)}")
    if isinstance(value, int):
        return value
    text = value.strip() if isinstance(value, str) else repr(value)
    if len(text) > 64 or not _NUMBER.fullmatch(text):
        raise ValueError("not a number")
    number = Decimal(text)
    if number and not -_EXPONENT <= number.adjusted() <= _EXPONENT:
        # DynamoDB holds 1E-130 to 9.99E+125: past that it is a hostile value (1e999999 costs a big int to print)
        raise ValueError(f"not a number (beyond 1E±{_EXPONENT})")
    whole = int(text) if _INTEGER.fullmatch(text) else None
    return whole if whole is not None and str(whole) == text else text


def _integer(value: Any, bound: int = _INT64, beyond: str = "not a 64-bit integer") -> int:
    """Firestore's integerValue, EJSON's $numberLong: an int64, written as text in JSON (a JSON number accepted
    too); with `bound` 2**31, EJSON's $numberInt."""
    if isinstance(value, bool):
        raise ValueError(f"an integer is expected, got {what(value)}")
    if isinstance(value, str) and len(value) <= 24 and _INTEGER.fullmatch(value.strip()):
        value = int(value)
    if not isinstance(value, int) or not -bound <= value < bound:
        raise ValueError(beyond)
    return value


def _date(value: Any) -> str:
    """A time as ISO 8601 text in UTC with milliseconds (what the mapping's `iso` reads): from ISO 8601 text with
    its offset (EJSON relaxed), or from milliseconds since 1970 (canonical, once its $numberLong is read)."""
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value.strip()) if len(value) <= 40 else None
        except ValueError:
            at = None
        if at is None:
            raise ValueError("not a time (ISO 8601 text or milliseconds since 1970)")
        if at.tzinfo is None:
            raise ValueError("a time without its offset")
    elif isinstance(value, int) and not isinstance(value, bool):
        if not _MS_RANGE[0] <= value <= _MS_RANGE[1]:
            raise ValueError("a time out of range (years 1 to 9999)")
        at = _EPOCH + timedelta(milliseconds=value)
    else:
        raise ValueError(f"a time is expected (ISO 8601 text or milliseconds since 1970), got {what(value)}")
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _join(path: str, key: str) -> str:
    plain = key and all(c.isalnum() or c in "_-@$" for c in key)
    if plain:
        return f"{path}.{key}" if path else key
    quoted = "['" + key.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return f"{path}{quoted}"


def _key(key: str) -> str:
    """A type key as a reason quotes it: a hostile one (a whole value, a control character) cut short."""
    return repr(key if len(key) <= 24 else key[:23] + "…")


def build(
    preset: str | None, types: dict[str, str] | None, at: str, plain: bool | None = None
) -> TypedValues:
    """A TypedValues from the validated `typed_values` (preset and/or types, at, plain: default the preset's).
    ValueError on a kind that is not one of KINDS or a `:<key>` on a kind that holds no items."""
    table = dict(PRESETS[preset]) if preset else {}
    table.update(types or {})
    parsed: dict[str, tuple[str, str | None]] = {}
    for key, spec in table.items():
        kind, sep, items_key = spec.partition(":")
        if kind not in KINDS:
            raise ValueError(f"{key}: unknown kind {kind!r} (one of: {', '.join(KINDS)})")
        if sep and (kind not in CONTAINERS or not items_key):
            raise ValueError(f"{key}: {spec!r}: only list and map name the key their items are under")
        parsed[key] = (kind, items_key or None)
    if plain is None:
        plain = preset in PLAIN_PRESETS
    return TypedValues(tuple(at.split(".")) if at else (), parsed, plain)
