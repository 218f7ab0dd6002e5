"""The path language shared by JSON and XML records (see mappings.spec for the reference).

`applicant.address.ward.code`, `history[0].status`, `HoSo.@id`, `$.code` (from the record root inside `each`).
A key that holds a dot or a bracket is quoted in brackets, as JSONPath writes it: `['@odata.nextLink']`,
`value[0]["Mã.hồ sơ"]`.
A filter keeps the items of a list whose key equals a text, as JSONPath writes it: `link[?(@.relation=='next')]`
(or `[?@.relation=='next']`) is the list of those items; `[0]` after it the first (FHIR's
`link[?(@.relation=='next')][0].url`, `identifier[?(@.system=='urn:x')][0].value`). Values compare as text.
A path is parsed once into steps and compiled to a small closure; resolving never raises: a missing key,
a None, a wrong type or an index out of range all yield None.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Getter = Callable[[Any], Any]

_KEY = re.compile(r"[^.\[\]\s][^.\[\]]*")  # a plain key: up to the next dot or bracket
_BRACKET = re.compile(r"""\[(?:(-?\d+)|'([^']+)'|"([^"]+)")\]""")  # [3], ['a.b'] or ["a.b"]
# [?(@.a.b=='text')] or [?@.a.b=="text"]: the items whose a.b is that text
_WHERE = re.compile(r"""\[\?(\()?@\.([^\s=!()\[\]'"]+)\s*==\s*(?:'([^']*)'|"([^"]*)")\s*(?(1)\))\]""")


class PathSyntaxError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Where:
    """A filter step: the items of a list whose value at `keys` is `value` as text (a list still, maybe empty)."""

    keys: tuple[str, ...]
    value: str

    def pick(self, items: Any) -> list[Any] | None:
        if isinstance(items, dict):  # XML: a single child element is a one-element list
            items = [items]
        if not isinstance(items, list):
            return None
        return [item for item in items if _text(_at(item, self.keys)) == self.value]


def _at(item: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        item = item.get(key) if isinstance(item, dict) else None
    return item


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


Step = str | int | Where


@dataclass(frozen=True, slots=True)
class Path:
    text: str
    steps: tuple[Step, ...]
    from_root: bool  # `$.x` inside `each` reads the record root instead of the list item
    get: Getter


def parse_steps(text: str) -> tuple[tuple[Step, ...], bool]:
    if not isinstance(text, str) or not text.strip():
        raise PathSyntaxError("a path must be a non-empty string")
    if text != text.strip():
        raise PathSyntaxError(f"path {text!r} has surrounding spaces")
    from_root = text == "$" or text.startswith("$.")
    body = text[2:] if text.startswith("$.") else ("" if text == "$" else text)
    if text.startswith("$["):
        from_root, body = True, text[1:]
    return _steps(text, body), from_root


def _steps(text: str, body: str) -> tuple[Step, ...]:
    """`a.b[0]['c.d']` → ('a', 'b', 0, 'c.d'): keys joined by dots, each followed by any indexes, quoted keys or
    filters."""
    steps: list[Step] = []
    if not body:
        return ()
    at, after_dot = 0, True  # a step starts the path and follows each dot
    while at < len(body):
        if body[at] == ".":
            if after_dot:
                raise PathSyntaxError(f"bad path {text!r}: an empty step at character {at}")
            at, after_dot = at + 1, True
            continue
        bracket = _BRACKET.match(body, at)
        where = _WHERE.match(body, at) if bracket is None else None
        if where is not None:
            if after_dot:
                raise PathSyntaxError(f"bad path {text!r}: a filter {where[0]} follows no key")
            keys = tuple(where[2].split("."))
            if not all(keys):
                raise PathSyntaxError(f"bad path {text!r}: an empty key in the filter {where[0]}")
            steps.append(Where(keys, where[3] if where[3] is not None else where[4]))
            bracket = where
        elif bracket is not None:
            if bracket[1] is not None:
                if after_dot:
                    raise PathSyntaxError(f"bad path {text!r}: an index [{bracket[1]}] follows no key")
                steps.append(int(bracket[1]))
            else:
                steps.append(bracket[2] if bracket[2] is not None else bracket[3])
        elif after_dot and (key := _KEY.match(body, at)) is not None:
            steps.append(key[0])
            bracket = key
        else:
            raise PathSyntaxError(f"bad path {text!r}: cannot read it from {body[at : at + 20]!r}")
        at, after_dot = bracket.end(), False
    if after_dot:
        raise PathSyntaxError(f"bad path {text!r}: it ends with a dot")
    return tuple(steps)


def compile_path(text: str) -> Path:
    steps, from_root = parse_steps(text)
    return Path(text, steps, from_root, _getter(steps))


def _getter(steps: tuple[Step, ...]) -> Getter:
    # Specialised closures for the common all-key paths: most fields are one to three keys deep.
    if not steps:
        return lambda r: r
    if all(type(s) is str for s in steps):
        if len(steps) == 1:
            (a,) = steps

            def g1(r: Any) -> Any:
                return r.get(a) if isinstance(r, dict) else None

            return g1
        if len(steps) == 2:
            a, b = steps

            def g2(r: Any) -> Any:
                if isinstance(r, dict):
                    r = r.get(a)
                    if isinstance(r, dict):
                        return r.get(b)
                return None

            return g2
        if len(steps) == 3:
            a, b, c = steps

            def g3(r: Any) -> Any:
                if isinstance(r, dict):
                    r = r.get(a)
                    if isinstance(r, dict):
                        r = r.get(b)
                        if isinstance(r, dict):
                            return r.get(c)
                return None

            return g3

    def gn(r: Any) -> Any:
        for s in steps:
            if type(s) is str:
                if not isinstance(r, dict):
                    return None
                r = r.get(s)
            elif type(s) is Where:
                r = s.pick(r)
                if r is None:
                    return None
            elif isinstance(r, list):
                if not -len(r) <= s < len(r):
                    return None
                r = r[s]
            elif isinstance(r, dict):
                # XML: a single child element comes out as a dict, i.e. a one-element list.
                if s not in (0, -1):
                    return None
            else:
                return None
        return r

    return gn


def as_list(value: Any) -> list[Any] | None:
    """What `each` iterates: a list; a dict counts as a one-element list (XML); None as empty.

    Returns None for anything else (a string, a number): the caller reports it.
    """
    if isinstance(value, list):
        return value
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return None


def join_path(prefix: str, path: str) -> str:
    """The source path of an item field: history[3] + createdDate -> history[3].createdDate."""
    if path.startswith("$."):
        return path[2:]
    if not prefix:
        return path
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"
