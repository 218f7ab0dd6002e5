"""Named value transforms for the `transform:` key of a rule: a registry that is easy to extend.

A transform gets a non-null raw value (usually text) and returns the new value, None (= the value is
missing), or a mappings.text.TextFixed to record a text repair. It raises ConversionError for a value it
cannot handle. Names with an argument are written `name:argument` (e.g. `strip_prefix:DVC-`); a transform
registered with `arg="optional"` is written either way (`commune_code_by_name`, `commune_code_by_name:30`).

To add one:
    @register_transform("squash")                  # plain
    def squash(value): ...
    @register_transform("pad_left", arg=True)      # takes an argument: a factory returning the transform
    def pad_left(arg): return lambda value: text(value).rjust(int(arg), "0")
    @register_transform("pad", arg="optional")    # either way: the factory gets None without one
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from mappings.dates import quote
from mappings.errors import ConversionError
from mappings.text import TextFixed, to_nfc

Transform = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class TransformDef:
    name: str
    factory: Callable[[str | None], Transform]
    takes_arg: bool
    optional_arg: bool = False


TRANSFORMS: dict[str, TransformDef] = {}


def register_transform(
    name: str, *, arg: bool | Literal["optional"] = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        factory = fn if arg else (lambda _arg, _fn=fn: _fn)
        TRANSFORMS[name] = TransformDef(name, factory, bool(arg), optional_arg=arg == "optional")
        return fn

    return deco


def build_transform(spec: str) -> Transform:
    """The transform named by `spec` (`name` or `name:arg`); ValueError saying what is wrong."""
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"a transform is a name, not {spec!r}")
    name, sep, arg = spec.partition(":")
    known = TRANSFORMS.get(name)
    if known is None:
        raise ValueError(f"unknown transform {name!r} (known: {', '.join(sorted(TRANSFORMS))})")
    if known.takes_arg and not sep and not known.optional_arg:
        raise ValueError(f"transform {name!r} needs an argument: {name}:<value>")
    if not known.takes_arg and sep:
        raise ValueError(f"transform {name!r} takes no argument")
    return known.factory(arg if sep else None)


def text(value: Any) -> str:
    """A scalar as text (ints from JSON are fine); objects and lists are an error."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ConversionError(f"expected text, got {type(value).__name__}", value)


_NATIONAL = re.compile(r"^(\d\.\d{6})(?:\..+)?$")
_NON_DIGITS = re.compile(r"[^0-9]+")
_SPACES = re.compile(r"\s+")


@register_transform("national_procedure_code")
def national_procedure_code(value: Any) -> str:
    """`1.000656.000.00.00.H56` (localized: national part + agency code) -> `1.000656`."""
    m = _NATIONAL.match(text(value).strip())
    if m is None:
        raise ConversionError(f"no national procedure code (d.dddddd) in {quote(value)}", value)
    return m.group(1)


@register_transform("digits")
def digits(value: Any) -> str | None:
    """Only the digits (`030 085 001 234` -> `030085001234`); nothing left is missing."""
    s = text(value)
    if s.isascii() and s.isdigit():
        return s
    return _NON_DIGITS.sub("", s) or None


@register_transform("upper")
def upper(value: Any) -> str:
    return text(value).upper()


@register_transform("lower")
def lower(value: Any) -> str:
    return text(value).lower()


@register_transform("strip")
def strip(value: Any) -> str | None:
    return text(value).strip() or None


@register_transform("collapse_spaces")
def collapse_spaces(value: Any) -> str | None:
    """Runs of whitespace (line breaks, tabs) become one space."""
    return _SPACES.sub(" ", text(value)).strip() or None


@register_transform("nfc")
def nfc(value: Any) -> str | TextFixed:
    """NFC now (the engine applies NFC to every text result anyway; use this before another transform)."""
    return to_nfc(text(value))


@register_transform("strip_prefix", arg=True)
def strip_prefix(prefix: str | None) -> Transform:
    p = prefix or ""
    return lambda value: text(value).removeprefix(p) or None


@register_transform("strip_suffix", arg=True)
def strip_suffix(suffix: str | None) -> Transform:
    s = suffix or ""
    return lambda value: text(value).removesuffix(s) or None


@register_transform("after_last", arg=True)
def after_last(separator: str | None) -> Transform:
    """The text after the last `separator`: a resource name's last segment, whatever leads to it (Firestore's
    `projects/<p>/databases/(default)/documents/hoso/<id>` with `after_last:/`: one mapping for every project,
    where strip_prefix would name one). A value without the separator is of another shape: an error, not kept."""
    sep = separator or ""

    def last(value: Any) -> str | None:
        head, found, tail = text(value).rpartition(sep)
        if not found or not head:
            raise ConversionError(f"no {sep!r} in the value, before its last segment", value)
        return tail or None

    return last
