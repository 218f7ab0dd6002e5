"""The validator's shared state and the checks of single values that several sections use: source paths,
transform names and date format lists (record keys, field rules and the top-level date_formats)."""

from __future__ import annotations

from typing import Any

from mappings.dates import parse_format
from mappings.errors import Problem
from mappings.paths import PathSyntaxError, parse_steps
from mappings.spec import DEFAULT_DATE_FORMATS, CodeTable
from mappings.transforms import build_transform
from mappings.yamllines import YMap, YSeq


class ValueChecks:
    """Base of the section checks: one instance validates one file and appends to its problem list."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        self.tables: dict[str, CodeTable] = {}  # filled by the code tables, read by the field rules' `code`
        self.global_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
        self.false_is_null = False  # null_values holds `false` (top_level)
        self.type_keys: frozenset[str] = frozenset()  # typed_values' wrapper keys, read past before any path

    def add(self, line: int, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, key, message))

    def formats(self, parent: YMap, key: str, value: Any, dates_ok: bool) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            self.add(
                parent.at(key.rsplit(".", 1)[-1]), key, "a list of date format names (iso, dd/MM/yyyy, …)"
            )
            return ()
        out = []
        for i, name in enumerate(value):
            line = value.at(i) if isinstance(value, YSeq) else parent.at(key.rsplit(".", 1)[-1])
            try:
                fmt = parse_format(name)
            except ValueError as exc:
                self.add(line, f"{key}[{i}]", str(exc))
                continue
            if fmt.partial and not dates_ok:
                self.add(line, f"{key}[{i}]", f"{name!r} is partial (no day): only for date fields")
                continue
            out.append(name)
        return tuple(out)

    def paths(self, value: Any, parent: Any, key: str, line: int) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        if not items:
            self.add(line, key, "an empty list of paths")
            return ()
        out = []
        for i, p in enumerate(items):
            pline = value.at(i) if isinstance(value, YSeq) else line
            try:
                steps, _ = parse_steps(p)
            except PathSyntaxError as exc:
                self.add(pline, key, str(exc))
                continue
            wrapper = next((s for s in steps if isinstance(s, str) and s in self.type_keys), None)
            if wrapper is not None:
                # `fullname.S` after typed_values has read {"S": …} as its text: never a value, a field lost unseen
                self.add(
                    pline, key, f"{p!r} steps into the type key {wrapper!r}, which typed_values reads past"
                )
                continue
            out.append(p)
        return tuple(out)

    def transforms(self, spec: YMap, key: str) -> tuple[str, ...]:
        value = spec.get("transform")
        if value is None:
            return ()
        names = value if isinstance(value, list) else [value]
        out = []
        for i, name in enumerate(names):
            line = value.at(i) if isinstance(value, YSeq) else spec.at("transform")
            try:
                build_transform(name)
            except ValueError as exc:
                self.add(line, f"{key}.transform", str(exc))
                continue
            out.append(name)
        return tuple(out)
