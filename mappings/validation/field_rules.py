"""`fields:`: one rule per canonical field, checked against the field it writes (lists recurse into `each`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mappings.paths import parse_steps
from mappings.spec import RULE_KEYS, TYPES, Rule
from mappings.targets import CODE_TARGETS, ENGINE_FIELDS, ROOT_MODEL, Target, fields_of, resolve
from mappings.validation.value_checks import ValueChecks
from mappings.yamllines import YMap

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


class FieldRuleChecks(ValueChecks):
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
        for listed in ("each", "zip"):
            if listed in has and target.kind != "list":
                self.add(
                    spec_map.at(listed),
                    f"{key}.{listed}",
                    f"`{listed}` is only for list fields; {name} is {_KIND_WORDS[target.kind]}",
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
        for k in sorted(has - {"path", "zip", "each", "required"}):
            self.add(
                spec.at(k), f"{key}.{k}", "does not apply to a list (put it on the item fields in `each`)"
            )
        if "path" in has and "zip" in has:
            self.add(spec.at("zip"), f"{key}.zip", "`zip` makes the items from parallel lists: drop `path`")
            return None
        if "path" not in has and "zip" not in has:
            self.add(line, key, "a list rule needs `path` (where the items are) or `zip` (parallel lists)")
            return None
        paths = self.paths(spec["path"], spec, f"{key}.path", spec.at("path")) if "path" in has else ()
        zipped = self.zip_columns(spec, key) if "zip" in has else None
        each = spec["each"]
        if not isinstance(each, YMap) or not each:
            self.add(spec.at("each"), f"{key}.each", "a mapping of item field -> rule")
            return None
        items = self.rules(each, f"{key}.each", spec.at("each"), target.model)
        if zipped:
            self.zip_keys_read(zipped, items)
        required = spec.get("required", False)
        return Rule(name, key, line, paths=paths, each=items, required=required is True, zip=zipped)

    def zip_columns(self, spec: YMap, key: str) -> tuple[tuple[str, str], ...] | None:
        """`zip:`, item key -> the path of its parallel list."""
        node, line = spec["zip"], spec.at("zip")
        if not isinstance(node, YMap) or not node:
            self.add(
                line,
                f"{key}.zip",
                "a mapping of item key -> the path of its list (`{ThoiDiem: QT_ThoiDiem}`)",
            )
            return None
        out = []
        for name, path in node.items():
            name, at = str(name), node.at(name)
            if not name or any(c in name for c in ".[]$@ "):
                self.add(at, f"{key}.zip.{name}", "an item key is one plain key (`each` reads it as a path)")
                continue
            for p in self.paths(path, node, f"{key}.zip.{name}", at) if isinstance(path, str) else ():
                out.append((name, p))
            if not isinstance(path, str):
                self.add(at, f"{key}.zip.{name}", "one path (the list this key's values come from)")
        return tuple(out) if len(out) == len(node) else None

    def zip_keys_read(self, zipped: tuple[tuple[str, str], ...], items: dict[str, Rule]) -> None:
        """Each item rule's path starts with a zip key (or reads the record, `$.`): anything else reads nothing."""
        keys = [k for k, _ in zipped]
        for rule in items.values():
            for path in rule.paths:
                steps, from_root = parse_steps(path)
                if not from_root and steps and steps[0] not in keys:
                    self.add(
                        rule.line, rule.key, f"path {path!r} names no `zip` key (they are: {', '.join(keys)})"
                    )

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
