"""XML-RPC (`request.xmlrpc`, `answer: xmlrpc`): Odoo's /xmlrpc/2, WordPress's xmlrpc.php, older PHP and Java
systems. A call is written by the standard library's marshaller (writing only: xmlrpc.client never parses an
answer here); an answer is read by our safe parser (no DTD, no entities, no network) and turned into plain
values, so that `records`, the paginator and `errors` read it as they read JSON: a struct is an object, an array
a list, `<nil/>` null; a dateTime.iso8601 or base64 value stays the text it was. A fault becomes
`{"fault": {"faultCode": …, "faultString": …}}`, for the `errors` rules to name, and fails the page otherwise."""

from __future__ import annotations

import math
import re
import xmlrpc.client
from typing import Any

from lxml import etree

from connectors.base import Unreadable
from connectors.errors import ConfigError, RefusedAnswer
from connectors.safexml import parse_document

# The standard's types and Apache XML-RPC's extensions (<ex:i8>, <ex:dateTime>, <ex:bigdecimal>…), read by their
# local names.
_NUMBERS = {"int": int, "i4": int, "i8": int, "i2": int, "i1": int, "biginteger": int, "double": float,
            "float": float}  # fmt: skip
# Texts: a time, base64 or a decimal written out is the mapping's to read (a float would lose the decimal's digits).
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DOUBLE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_KEPT = {"string", "dateTime.iso8601", "dateTime", "base64", "bigdecimal"}


def call_body(method: str, params: list[Any]) -> bytes:
    """The methodCall, in UTF-8; a value XML-RPC cannot hold (an int past 32 bits) says so."""
    try:
        return xmlrpc.client.dumps(
            tuple(params), methodname=method, allow_none=True, encoding="utf-8"
        ).encode()
    except (OverflowError, TypeError) as exc:  # the registry's parameters: said as its error
        raise ConfigError(f"xmlrpc {method}: a parameter XML-RPC cannot hold: {exc}") from exc


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _children(element: etree._Element) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str)]


def _value(endpoint: str, value: etree._Element) -> Any:
    inner = _children(value)
    if not inner:  # a <value> without a type is a string
        return value.text or ""
    typed = inner[0]
    kind = _local(typed)
    if kind == "struct":
        out: dict[str, Any] = {}
        for n, member in enumerate(_children(typed), 1):
            name, held = member.find("name"), member.find("value")
            if _local(member) != "member" or name is None or held is None:  # costs the record that holds it
                out[f"(member {n})"] = Unreadable("", "an XML-RPC struct member without its name and value")
                continue
            out[name.text or ""] = _value(endpoint, held)
        return out
    if kind == "array":
        data = typed.find("data")
        return [] if data is None else [_value(endpoint, v) for v in _children(data) if _local(v) == "value"]
    if kind == "nil":
        return None
    # A leaf that is not of its type costs the record that holds it (Unreadable), not the page.
    text = "".join(typed.itertext())
    if kind == "boolean":
        if text.strip() not in ("0", "1"):
            return Unreadable(text, "an XML-RPC boolean that is neither 0 nor 1")
        return text.strip() == "1"
    if kind in _NUMBERS:
        # As the specification writes them, ASCII digits only: Python's int() and float() also take "1_000",
        # other scripts' digits, nan and inf, which no JSON record holds.
        written = _INTEGER if _NUMBERS[kind] is int else _DOUBLE
        if written.fullmatch(text.strip()) is None:
            return Unreadable(text, f"an XML-RPC {kind} that is no number")
        try:
            number = _NUMBERS[kind](text.strip())
        except ValueError:  # past the digits Python converts (4,300)
            return Unreadable(text, f"an XML-RPC {kind} too long to read")
        if isinstance(number, float) and not math.isfinite(number):
            return Unreadable(text, f"an XML-RPC {kind} beyond any float")
        return number
    if kind in _KEPT:
        return text
    return Unreadable(text, f"an XML-RPC value of a type it does not have: <{kind[:40]}>")


def read_answer(endpoint: str, body: bytes) -> Any:
    """A methodResponse as plain values: its one parameter, or {"fault": {...}}."""
    root = parse_document(body, endpoint)
    if _local(root) != "methodResponse":
        raise RefusedAnswer(endpoint, f"not an XML-RPC answer: its root is <{_local(root)}>")
    fault = root.find("fault/value")
    if fault is not None:
        return {"fault": _value(endpoint, fault)}
    value = root.find("params/param/value")
    if value is None:
        raise RefusedAnswer(endpoint, "an XML-RPC answer without a parameter or a fault")
    return _value(endpoint, value)
