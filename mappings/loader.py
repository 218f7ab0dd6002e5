"""Reading and validating a mapping file: every problem found, each located to its file and line.

The reading (keys with their lines) is mappings.yamllines."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from mappings.convert import code_key
from mappings.dates import parse_format
from mappings.errors import MappingError, Problem
from mappings.paths import PathSyntaxError, parse_steps
from mappings.spec import (
    DEFAULT_DATE_FORMATS,
    DEFAULT_NULL_VALUES,
    DEFAULT_TIMEZONE,
    RULE_KEYS,
    TOP_LEVEL_KEYS,
    TYPES,
    CodeTable,
    DeletedRule,
    Mapping,
    Period,
    Rule,
)
from mappings.targets import CODE_TARGETS, ENGINE_FIELDS, ROOT_MODEL, Target, fields_of, resolve
from mappings.transforms import build_transform
from mappings.yamllines import YMap, YSeq, read_with_lines

_DIALECT = re.compile(r"^[a-z][a-z0-9_]*$")
# The rule types each kind of canonical field accepts; the first is the default when `type` is omitted.
_FITS: dict[str, tuple[str, ...]] = {
    "str": ("str",),
    "literal": ("str",),
    "int": ("int", "decimal"),
    "float": ("float", "int", "decimal"),
    "bool": ("bool",),
    "datetime": ("datetime",),
    "date": ("date",),
    "enum": ("int",),
}
_KIND_WORDS = {
    "str": "text",
    "literal": "text",
    "int": "an integer",
    "float": "a number",
    "bool": "a yes/no",
    "datetime": "a date-time",
    "date": "a date",
    "enum": "a code",
    "model": "a group of fields",
    "list": "a list",
    "other": "not mappable",
}


# -- validation ---------------------------------------------------------------------------------------------
class _Validator:
    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        self.tables: dict[str, CodeTable] = {}
        self.global_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS

    def add(self, line: int, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, line, key, message))

    def mapping(self, doc: Any, stem: str) -> Mapping | None:
        if not isinstance(doc, YMap):
            self.add(
                getattr(doc, "line", 1), "(top)", "a mapping file is a YAML mapping (dialect:, fields:, …)"
            )
            return None
        for k in doc:
            if k not in TOP_LEVEL_KEYS:
                self.add(doc.at(k), str(k), f"unknown key (expected one of: {', '.join(TOP_LEVEL_KEYS)})")

        dialect = doc.get("dialect")
        if dialect is None:
            self.add(1, "dialect", "missing (the dialect's name, as in the file name)")
        elif not isinstance(dialect, str) or not _DIALECT.match(dialect):
            self.add(
                doc.at("dialect"), "dialect", f"{dialect!r} is not a name (lowercase letters, digits, _)"
            )
        elif dialect != stem:
            self.add(doc.at("dialect"), "dialect", f"{dialect!r} does not match the file name {stem}.yaml")
        description = doc.get("description", "")
        if not isinstance(description, str):
            self.add(doc.at("description"), "description", "must be text")

        timezone = doc.get("timezone", DEFAULT_TIMEZONE)
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            self.add(doc.at("timezone"), "timezone", f"unknown time zone {timezone!r}")
        formats = self.formats(doc, "date_formats", doc.get("date_formats", list(DEFAULT_DATE_FORMATS)), True)
        self.global_formats = formats or DEFAULT_DATE_FORMATS
        nulls = self.null_values(doc)
        self.code_tables(doc)
        record = self.record(doc)
        fields = self.fields(doc)
        if self.problems or record is None or fields is None:
            return None
        return Mapping(
            file=self.file,
            dialect=dialect,
            description=description,
            record_id=record[0],
            updated_at=record[1],
            deleted=record[2],
            timezone=timezone,
            date_formats=self.global_formats,
            null_values=nulls,
            code_tables=self.tables,
            fields=fields,
        )

    # -- small top-level keys -----------------------------------------------------------------------------
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

    def null_values(self, doc: YMap) -> tuple[str, ...]:
        value = doc.get("null_values", list(DEFAULT_NULL_VALUES))
        if not isinstance(value, list):
            self.add(doc.at("null_values"), "null_values", "a list of texts that mean 'no value'")
            return DEFAULT_NULL_VALUES
        out = []
        for i, v in enumerate(value):
            if not isinstance(v, str):
                line = value.at(i) if isinstance(value, YSeq) else doc.at("null_values")
                self.add(line, f"null_values[{i}]", f"{v!r}: null values are compared as text: quote it")
            else:
                out.append(v.strip())
        return tuple(out)

    def record(self, doc: YMap) -> tuple[Rule, Rule, DeletedRule | None] | None:
        rec = doc.get("record")
        if rec is None:
            self.add(
                1, "record", "missing (record.id and record.updated_at: paths to the id and update time)"
            )
            return None
        if not isinstance(rec, YMap):
            self.add(doc.at("record"), "record", "a mapping with id and updated_at")
            return None
        for k in rec:
            if k not in ("id", "updated_at", "deleted"):
                self.add(rec.at(k), f"record.{k}", "unknown key (expected id, updated_at, deleted)")
        deleted = self.deleted(rec) if "deleted" in rec else None
        out = []
        for name, target, typ in (
            ("id", "source_record_id", "str"),
            ("updated_at", "source_updated_at", "datetime"),
        ):
            if name not in rec:
                what = "record id" if name == "id" else "update time (the sync watermark)"
                self.add(doc.at("record"), f"record.{name}", f"missing: the path to the source's {what}")
                continue
            spec = rec[name]
            key, line = f"record.{name}", rec.at(name)
            allowed = ("path", "transform") + (("formats",) if typ == "datetime" else ())
            if isinstance(spec, YMap):
                for k in spec:
                    if k not in allowed:
                        self.add(
                            spec.at(k), f"{key}.{k}", f"not allowed here (allowed: {', '.join(allowed)})"
                        )
            paths = self.paths(spec.get("path") if isinstance(spec, YMap) else spec, spec, key, line)
            transforms = self.transforms(spec, key) if isinstance(spec, YMap) else ()
            formats = None
            if isinstance(spec, YMap) and "formats" in spec:
                formats = self.formats(spec, f"{key}.formats", spec["formats"], False)
            if paths:
                out.append(
                    Rule(
                        target,
                        key,
                        line,
                        paths=paths,
                        type=typ,
                        transforms=transforms,
                        required=True,
                        formats=formats,
                        text="code" if typ == "str" else None,
                    )
                )
        return (out[0], out[1], deleted) if len(out) == 2 else None

    def deleted(self, rec: YMap) -> DeletedRule | None:
        """record.deleted: {path, equals}; both required, equals a value or a non-empty list of values."""
        spec, key, line = rec["deleted"], "record.deleted", rec.at("deleted")
        if not isinstance(spec, YMap):
            self.add(line, key, "a mapping {path, equals}: where to look, and the value(s) that mean deleted")
            return None
        for k in spec:
            if k not in ("path", "equals"):
                self.add(spec.at(k), f"{key}.{k}", "not allowed here (allowed: path, equals)")
        paths: tuple[str, ...] = ()
        if "path" in spec:
            paths = self.paths(spec["path"], spec, f"{key}.path", spec.at("path"))
        else:
            self.add(line, f"{key}.path", "missing: the path to the value that marks a deletion (e.g. _op)")
        if "equals" not in spec:
            self.add(line, f"{key}.equals", "missing: the value (or list of values) that marks a deletion")
            return None
        equals = self.equals(spec, f"{key}.equals")
        if not paths or not equals:
            return None
        return DeletedRule(key, line, paths, equals)

    def equals(self, spec: YMap, key: str) -> frozenset[str]:
        """The values, as text (compared like code-table keys: 1 and "1" are the same)."""
        value = spec["equals"]
        items = value if isinstance(value, list) else [value]
        if not items:
            self.add(spec.at("equals"), key, "an empty list: give the value(s) that mark a deletion")
            return frozenset()
        out = set()
        for i, item in enumerate(items):
            line = value.at(i) if isinstance(value, YSeq) else spec.at("equals")
            where = f"{key}[{i}]" if isinstance(value, list) else key
            if not isinstance(item, str | int | float) or (isinstance(item, str) and not item.strip()):
                self.add(line, where, f"{item!r}: a value is text, a number or true/false")
                continue
            out.add(code_key(item.strip() if isinstance(item, str) else item))
        return frozenset(out)

    # -- code tables --------------------------------------------------------------------------------------
    def code_tables(self, doc: YMap) -> None:
        tables = doc.get("code_tables", YMap())
        if not isinstance(tables, YMap):
            self.add(doc.at("code_tables"), "code_tables", "a mapping of table name -> {target, values}")
            return
        for name, spec in tables.items():
            key, line = f"code_tables.{name}", tables.at(name)
            if not isinstance(spec, YMap):
                self.add(line, key, "a code table is a mapping with target and values (or periods)")
                continue
            for k in spec:
                if k not in ("target", "values", "periods"):
                    self.add(spec.at(k), f"{key}.{k}", "unknown key (expected target, values, periods)")
            target = spec.get("target")
            if target is None:
                self.add(line, f"{key}.target", f"missing (one of: {', '.join(CODE_TARGETS)})")
                continue
            if target not in CODE_TARGETS:
                self.add(
                    spec.at("target"),
                    f"{key}.target",
                    f"unknown target {target!r} (one of: {', '.join(CODE_TARGETS)})",
                )
                continue
            if ("values" in spec) == ("periods" in spec):
                self.add(line, key, "give either values or periods")
                continue
            if "values" in spec:
                periods = [Period(None, self.values(spec, "values", f"{key}.values", target))]
            else:
                periods = self.periods(spec, f"{key}.periods", target)
            self.tables[str(name)] = CodeTable(str(name), target, tuple(periods), line)

    def values(self, parent: YMap, name: str, key: str, target: str) -> dict[str, Any]:
        """Vendor value (the key as written, compared as text) -> canonical value of the table's target."""
        values = parent[name]
        if not isinstance(values, YMap) or not values:
            self.add(parent.at(name), key, "a non-empty mapping of vendor value -> canonical value")
            return {}
        py = CODE_TARGETS[target]
        out: dict[str, Any] = {}
        for k, v in values.items():
            raw = values.raw_keys.get(k, str(k))
            line, vkey = values.at(k), f"{key}.{raw}"
            if raw in out:
                self.add(line, vkey, f"duplicate vendor value {raw!r}")
                continue
            if py is str:
                ok = isinstance(v, str)
            elif py is int:
                ok = isinstance(v, int) and not isinstance(v, bool)
            else:
                ok = isinstance(v, int) and not isinstance(v, bool) and v in py._value2member_map_
            if not ok:
                if py in (str, int):
                    self.add(line, vkey, f"{v!r} is not {'text' if py is str else 'an integer'}")
                else:
                    valid = ", ".join(str(m.value) for m in py)
                    self.add(line, vkey, f"{v!r} is not a {target} code (valid: {valid})")
                continue
            out[raw] = py(v) if py not in (str, int) else v
        return out

    def periods(self, spec: YMap, key: str, target: str) -> list[Period]:
        periods = spec["periods"]
        if not isinstance(periods, YSeq) or not periods:
            self.add(spec.at("periods"), key, "a list of {until, values}, the last one without until")
            return []
        out: list[Period] = []
        previous: date | None = None
        for i, p in enumerate(periods):
            pkey, line = f"{key}[{i}]", periods.at(i)
            if not isinstance(p, YMap):
                self.add(line, pkey, "a period is a mapping with until and values")
                continue
            for k in p:
                if k not in ("until", "values"):
                    self.add(p.at(k), f"{pkey}.{k}", "unknown key (expected until, values)")
            until = p.get("until")
            last = i == len(periods) - 1
            if until is None and not last:
                self.add(line, f"{pkey}.until", "missing (only the last period is open-ended)")
            if isinstance(until, datetime):
                until = until.date()
            elif isinstance(until, str):
                try:
                    until = date.fromisoformat(until)
                except ValueError:
                    self.add(p.at("until"), f"{pkey}.until", f"{until!r} is not a date (yyyy-mm-dd)")
                    until = None
            elif until is not None and not isinstance(until, date):
                self.add(p.at("until"), f"{pkey}.until", f"{until!r} is not a date (yyyy-mm-dd)")
                until = None
            if until is not None and previous is not None and until <= previous:
                self.add(
                    p.at("until"),
                    f"{pkey}.until",
                    f"periods must be in date order ({until} after {previous})",
                )
            previous = until or previous
            if "values" not in p:
                self.add(line, f"{pkey}.values", "missing")
                continue
            out.append(Period(until, self.values(p, "values", f"{pkey}.values", target)))
        return out

    # -- fields -------------------------------------------------------------------------------------------
    def fields(self, doc: YMap) -> dict[str, Rule] | None:
        fields = doc.get("fields")
        if not isinstance(fields, YMap) or not fields:
            self.add(
                doc.at("fields") if "fields" in doc else 1, "fields", "missing (canonical field -> rule)"
            )
            return None
        return self.rules(fields, "fields", doc.at("fields"), ROOT_MODEL)

    def rules(self, node: YMap, key: str, line: int, model: type[BaseModel]) -> dict[str, Rule]:
        """The rules of one model (the dossier, or a list's item model inside `each`) at `key` / `line`."""
        out: dict[str, Rule] = {}
        named: set[str] = set()  # targets that exist, even when their rule has problems
        for name, spec in node.items():
            target_name, rline = str(name), node.at(name)
            rkey = f"{key}.{target_name}"
            try:
                target = resolve(model, target_name)
            except LookupError as exc:
                self.add(rline, rkey, f"unknown target field: {exc}")
                continue
            named.add(target_name)
            if model is ROOT_MODEL and target_name in ENGINE_FIELDS:
                self.add(rline, rkey, f"not mappable: {ENGINE_FIELDS[target_name]}")
                continue
            rule = self.rule(spec, rkey, rline, target_name, target, self._chain_required(model, target_name))
            if rule is not None:
                out[target_name] = rule
        # A date's precision is written by the date's rule; mapping it too would be two writers for one field.
        for rule in out.values():
            if rule.precision:
                sibling = (
                    rule.target.rsplit(".", 1)[0] + "." + rule.precision
                    if "." in rule.target
                    else rule.precision
                )
                if sibling in out:
                    self.add(out[sibling].line, out[sibling].key, f"set from {rule.target} (its precision)")
        self.required_covered(line, key, model, named)
        return out

    def _chain_required(self, model: type[BaseModel], dotted: str) -> bool:
        parts, current, required = dotted.split("."), model, True
        for part in parts:
            target = fields_of(current)[part]
            required = required and target.required
            current = target.model or current
        return required

    def required_covered(self, line: int, key: str, model: type[BaseModel], rules: set[str]) -> None:
        """Every field the model requires has a rule: otherwise every record would fail on it."""

        def walk(m: type[BaseModel], prefix: str) -> None:
            for name, target in fields_of(m).items():
                dotted = prefix + name
                if not target.required or (m is ROOT_MODEL and name in ENGINE_FIELDS):
                    continue
                if target.kind == "model" and target.model is not None:
                    walk(target.model, dotted + ".")
                elif dotted not in rules:
                    self.add(line, key, f"required field {dotted} has no rule")

        walk(model, "")

    def rule(
        self, spec: Any, key: str, line: int, name: str, target: Target, model_required: bool
    ) -> Rule | None:
        if isinstance(spec, str | list):
            spec_map: YMap = YMap({"path": spec})
            spec_map.line, spec_map.key_lines, spec_map.raw_keys = line, {"path": line}, {}
        elif isinstance(spec, YMap):
            spec_map = spec
        else:
            self.add(line, key, "a rule is a path, a list of paths or a mapping (path, type, code, …)")
            return None
        problems_before = len(self.problems)
        for k in spec_map:
            if k not in RULE_KEYS:
                self.add(
                    spec_map.at(k),
                    f"{key}.{k}",
                    f"unknown rule key (expected one of: {', '.join(RULE_KEYS)})",
                )
        has = set(spec_map) & set(RULE_KEYS)

        if target.kind == "model":
            first = next(iter(fields_of(target.model))) if target.model else "…"
            self.add(line, key, f"{name} is a group of fields: map them one by one ({name}.{first}, …)")
            return None
        if target.kind == "other":
            self.add(line, key, f"{name} cannot be mapped")
            return None
        if "each" in has and target.kind != "list":
            self.add(
                spec_map.at("each"),
                f"{key}.each",
                f"`each` is only for list fields; {name} is {_KIND_WORDS[target.kind]}",
            )
            return None
        if target.kind == "list":
            return self.list_rule(spec_map, key, line, name, target, has)

        if "const" in has:
            extra = sorted(has - {"const"})
            if extra:
                self.add(line, key, f"`const` stands alone (drop {', '.join(extra)})")
                return None
            const = spec_map["const"]
            why = target.check(const)
            if why:
                self.add(
                    spec_map.at("const"),
                    f"{key}.const",
                    f"{const!r} does not fit {name}: {why}{_hint(const, target)}",
                )
                return None
            return Rule(
                name, key, line, const=const, has_const=True, type=_FITS.get(target.kind, ("str",))[0]
            )
        if "path" not in has:
            self.add(line, key, "a rule needs `path` or `const`")
            return None

        paths = self.paths(spec_map["path"], spec_map, f"{key}.path", spec_map.at("path"))
        transforms = self.transforms(spec_map, key)
        fits = _FITS[target.kind]
        code = spec_map.get("code")
        typ = spec_map.get("type")
        if typ is not None and typ not in TYPES:
            self.add(
                spec_map.at("type"),
                f"{key}.type",
                f"unknown type {typ!r} (expected one of: {', '.join(TYPES)})",
            )
        elif typ is not None and typ not in fits:
            self.add(
                spec_map.at("type"),
                f"{key}.type",
                f"type {typ} does not fit {name} ({_KIND_WORDS[target.kind]})",
            )
        if code is not None:
            if typ is not None:
                self.add(
                    spec_map.at("code"),
                    f"{key}.code",
                    "`code` and `type` exclude each other: the table gives the value",
                )
            self.code_use(spec_map, key, name, target, code)
        typ = typ if typ in TYPES else fits[0]
        formats = None
        if "formats" in has:
            if typ not in ("datetime", "date"):
                self.add(spec_map.at("formats"), f"{key}.formats", "only for date and datetime fields")
            else:
                formats = self.formats(spec_map, f"{key}.formats", spec_map["formats"], typ == "date")
        join = spec_map.get("join")
        if join is not None and (not isinstance(join, str) or typ != "str" or code is not None):
            self.add(
                spec_map.at("join"),
                f"{key}.join",
                "a separator (text) that joins the paths' values into one text",
            )
        default = spec_map.get("default")
        if default is not None:
            why = target.check(default)
            if why:
                hint = _hint(default, target)
                self.add(
                    spec_map.at("default"), f"{key}.default", f"{default!r} does not fit {name}: {why}{hint}"
                )
        required = spec_map.get("required", False)
        if not isinstance(required, bool):
            self.add(spec_map.at("required"), f"{key}.required", "true or false")
        elif required and default is not None:
            self.add(spec_map.at("required"), f"{key}.required", "has no effect with a default")
        if len(self.problems) > problems_before:
            return None
        return Rule(
            name,
            key,
            line,
            paths=paths,
            type=typ,
            code=code,
            transforms=transforms,
            default=default,
            required=bool(required) or (model_required and default is None),
            formats=formats,
            join=join,
            precision=target.precision if typ == "date" else None,
            text=target.text if typ == "str" and code is None else None,
        )

    def list_rule(
        self, spec: YMap, key: str, line: int, name: str, target: Target, has: set[str]
    ) -> Rule | None:
        if target.model is None:
            self.add(line, key, f"{name} is a list of plain values: it cannot be mapped")
            return None
        if "each" not in has:
            self.add(line, key, f"{name} is a list: give `each` with the rules for its items")
            return None
        for k in sorted(has - {"path", "each", "required"}):
            self.add(
                spec.at(k), f"{key}.{k}", "does not apply to a list (put it on the item fields in `each`)"
            )
        if "path" not in has:
            self.add(line, key, "a list rule needs `path` (where the items are)")
            return None
        paths = self.paths(spec["path"], spec, f"{key}.path", spec.at("path"))
        each = spec["each"]
        if not isinstance(each, YMap) or not each:
            self.add(spec.at("each"), f"{key}.each", "a mapping of item field -> rule")
            return None
        items = self.rules(each, f"{key}.each", spec.at("each"), target.model)
        required = spec.get("required", False)
        return Rule(name, key, line, paths=paths, each=items, required=required is True)

    def paths(self, value: Any, parent: Any, key: str, line: int) -> tuple[str, ...]:
        items = value if isinstance(value, list) else [value]
        if not items:
            self.add(line, key, "an empty list of paths")
            return ()
        out = []
        for i, p in enumerate(items):
            pline = value.at(i) if isinstance(value, YSeq) else line
            try:
                parse_steps(p)
            except PathSyntaxError as exc:
                self.add(pline, key, str(exc))
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

    def code_use(self, spec: YMap, key: str, name: str, target: Target, code: Any) -> None:
        line = spec.at("code")
        table = self.tables.get(code) if isinstance(code, str) else None
        if table is None:
            known = ", ".join(self.tables) or "none defined"
            self.add(line, f"{key}.code", f"unknown code table {code!r} (tables: {known})")
            return
        py = CODE_TARGETS[table.target]
        if target.kind == "enum":
            ok = py is target.enum
        else:
            ok = (py is str and target.kind in ("str", "literal")) or (
                py is int and target.kind in ("int", "float")
            )
        if not ok:
            wanted = next((k for k, v in CODE_TARGETS.items() if v is target.enum), target.kind)
            self.add(
                line, f"{key}.code", f"code table {code!r} gives {table.target} values; {name} takes {wanted}"
            )


def _hint(value: Any, target: Target) -> str:
    if target.kind in ("str", "literal") and isinstance(value, int | float) and not isinstance(value, bool):
        return f' (quote it: "{value}")'
    return ""


def parse_mapping(text: str, file: str, stem: str | None = None) -> Mapping:
    """Validate mapping text; MappingError with every problem found. `stem` is the expected dialect name."""
    doc, problems = read_with_lines(text, file)
    mapping = None
    if doc is not None:
        mapping = _Validator(file, problems).mapping(doc, stem if stem is not None else Path(file).stem)
    if problems or mapping is None:
        problems.sort(key=lambda p: p.line)
        raise MappingError(problems)
    return mapping


def load_mapping(path: str | Path) -> Mapping:
    """Read and validate one mapping file (everything is checked before any record is read)."""
    path = Path(path)
    return parse_mapping(path.read_text(encoding="utf-8"), str(path), path.stem)
