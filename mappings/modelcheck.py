"""The canonical model's validation compiled into Python: the values of a valid record, without pydantic.

schemas.Dossier stays the schema of record. From its fields (types, required, defaults, enums, literals,
lengths, bounds, patterns, after-validators) this module generates one check function per model, compiled
once, that turns the dict the generated mapping produced into what `Dossier.model_dump()` would give — every
field present, defaults filled, the model validators' derivations applied (schemas.dossier.derived_flags,
on_time_of, check_id_number). Every dict it returns has its keys in sorted order (the canonical JSON is then
written without sorting). The generated mapping starts the dossier's and its list items' dicts from their
model's template (`template`: every field, in that order, with its default or ABSENT): those are checked and
completed in place; the others (a group such as applicant) are rebuilt as one dict display.

It only ever *accepts*. Anything it does not recognise as plainly valid (a value of another class, a bound
crossed, a validator that raised, a constraint it cannot read) raises Refused, and the caller hands the same
dict to pydantic, which decides and names the errors exactly as before. So a record this check refuses costs
a pydantic validation; a record it accepts must be one pydantic accepts with the same values: the agreement
test (tests/mappings/test_model_agreement.py) holds the two to that on generated and hostile records.
"""

from __future__ import annotations

import enum
import re
import types
import typing
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from itertools import count
from operator import itemgetter
from typing import Annotated, Any, Literal

import annotated_types
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo

from mappings.runtime import ABSENT
from schemas import dossier as schema
from schemas.text_safety import TextClass

Fields = frozenset[tuple[type[BaseModel], str]]  # (model, field name) pairs
# What the engine itself writes besides a mapping's rules (mappings.compiler): the source, the text fixes.
ENGINE_WRITES: Fields = frozenset({(schema.Dossier, "source"), (schema.Dossier, "text_fixes")})


class Refused(Exception):
    """Not plainly valid: pydantic decides."""


REFUSED = Refused()


def _fail() -> Any:
    raise REFUSED


def _check_applicant(out: dict[str, Any]) -> None:
    out["id_number"] = schema.check_id_number(out["type"], out["id_type"], out["id_number"])


_STATUS = itemgetter("status")


def _derive_dossier(out: dict[str, Any]) -> None:
    statuses = map(_STATUS, out["history"])  # read pair by pair: no list made
    out["flags"] = schema.derived_flags(
        out["ma_ho_so"], out["received_at"], out["submitted_at"], statuses, out["flags"]
    )
    out["on_time"] = schema.on_time_of(out["due_at"], out["finished_at"], out["returned_at"])


# Each model validator of the schema, as a function of the plain values. A validator missing here (one added to
# the model later) makes its model always Refused: slower, never wrong.
MODEL_RULES: dict[tuple[type[BaseModel], str], Callable[[dict[str, Any]], None]] = {
    (schema.Applicant, "_check_id"): _check_applicant,
    (schema.Dossier, "_derive"): _derive_dossier,
}


class _Constraints:
    """What a field's annotation says, gathered from every Annotated layer and the field's own metadata."""

    def __init__(self) -> None:
        self.min_length: int | None = None
        self.max_length: int | None = None
        self.ge: int | None = None
        self.le: int | None = None
        self.pattern: str | None = None
        self.after: list[Callable[[Any], Any]] = []
        self.unknown = False

    def add(self, meta: Any) -> None:
        if isinstance(meta, annotated_types.MinLen):
            self.min_length = max(self.min_length or 0, meta.min_length)
        elif isinstance(meta, annotated_types.MaxLen):
            self.max_length = min(self.max_length or meta.max_length, meta.max_length)
        elif isinstance(meta, annotated_types.Ge):
            self.ge = meta.ge  # type: ignore[assignment]
        elif isinstance(meta, annotated_types.Le):
            self.le = meta.le  # type: ignore[assignment]
        elif isinstance(meta, AfterValidator):
            self.after.append(meta.func)  # type: ignore[arg-type]
        elif isinstance(meta, FieldInfo):
            for inner in meta.metadata:
                self.add(inner)
        elif isinstance(meta, TextClass):
            pass  # screened by the engine before validation
        elif type(meta).__name__ == "_PydanticGeneralMetadata" and set(vars(meta)) == {"pattern"}:
            self.pattern = meta.pattern
        else:
            self.unknown = True


def _unwrap(annotation: Any, found: _Constraints) -> tuple[Any, bool]:
    """(the bare type, nullable), the constraints of every layer added to `found`."""
    nullable = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            base, *meta = typing.get_args(annotation)
            for m in meta:
                found.add(m)
            annotation = base
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            nullable = nullable or len(args) < len(typing.get_args(annotation))
            if len(args) != 1:
                found.unknown = True
                return annotation, nullable
            annotation = args[0]
        else:
            return annotation, nullable


NEW_LIST = object()  # a field whose default is a new empty list
UNSAFE = object()  # a default this check cannot copy safely


def default_of(info: FieldInfo) -> Any:
    """A field's value when no rule filled it: ABSENT (required), NEW_LIST, a plain default, or UNSAFE."""
    if info.default_factory is list:
        return NEW_LIST
    if info.is_required():
        return ABSENT
    if info.default_factory is None and (
        info.default.__class__ in (str, int, type(None)) or isinstance(info.default, enum.Enum)
    ):
        return info.default
    return UNSAFE


def literal(value: Any, bind: Callable[[str, Any], str]) -> str:
    """Python source for a default_of value in generated code: `ABSENT`, `[]` (a new list each time it runs), a
    plain value's repr, or the name `bind` gives any other (an enum member)."""
    if value is ABSENT:
        return "ABSENT"
    if value is NEW_LIST:
        return "[]"
    return repr(value) if value.__class__ in (str, int, type(None)) else bind("K", value)


def template(model: type[BaseModel]) -> dict[str, Any] | None:
    """Every field of `model` in sorted order with its value when no rule fills it (ABSENT when required;
    NEW_LIST stands for a new empty list): what the generated mapping starts a model's dict from, so that the
    check works in place and the canonical JSON needs no key sorting. None when a default cannot be copied."""
    values = {key: default_of(info) for key, info in sorted(model.model_fields.items())}
    return None if any(v is UNSAFE for v in values.values()) else values


class ModelCheck:
    """Generates `check_<Model>(d) -> dict` for a model and the models it contains."""

    def __init__(
        self,
        root: type[BaseModel],
        skip: Fields = frozenset(),
        written: Fields | None = None,
        templated: frozenset[type[BaseModel]] = frozenset(),
    ) -> None:
        self.skip = skip  # fields whose values the generated mapping checked as it stored them (vouch)
        # With `written` (the fields a mapping can fill at all), the others hold their defaults: not looked at,
        # and no other key can be there (a mapping's targets are the model's fields, checked when it loads).
        self.written = written
        # Models whose dicts the generated mapping starts from their template (with `written` only): every field
        # there, in sorted order, so they are checked in place and returned as they are.
        self.templated = templated if written is not None else frozenset()
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {
            "R": REFUSED,
            "M": ABSENT,
            "ABSENT": ABSENT,
            "str": str,
            "int": int,
            "dict": dict,
            "list": list,
            "datetime": datetime,
            "date": date,
            "isnfc": unicodedata.is_normalized,
            "HCM": schema.HCM,
            "FAIL": _fail,
        }
        self._ids = count()
        self._done: dict[type[BaseModel], str] = {}
        self.root = self.model(root)

    def build(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        source = "\n".join(self.lines) + "\n"
        exec(compile(source, "<model check>", "exec"), self.ns)  # generated from the schema's own fields
        self.source = source
        return self.ns[self.root]  # type: ignore[no-any-return]

    def bind(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{next(self._ids)}"
        self.ns[name] = value
        return name

    def model(self, model: type[BaseModel]) -> str:
        name = self._done.get(model)
        if name is not None:
            return name
        name = self._done[model] = f"check_{model.__name__}"
        body: list[str] = []
        decorators = model.__pydantic_decorators__
        rules = [MODEL_RULES.get((model, v)) for v in decorators.model_validators]
        known = set(model.model_fields)
        supported = (
            model.model_config.get("extra") == "forbid"
            and all(r is not None for r in rules)
            and not decorators.field_validators
            and not decorators.validators
        )
        if not supported:
            body.append("raise R")
        elif model in self.templated:
            # the dict holds every field in sorted order (its template): checked and completed in place
            for key, info in model.model_fields.items():
                body += self.field_in_place(key, info, model)
            for rule in rules:
                body.append(f"{self.bind('V', rule)}(d)")
            body.append("return d")
        else:
            # extra="forbid" (the full check), then each field read into a local, checked, and the values
            # written as one dict display in sorted key order: no merge of defaults and values, and the canonical
            # JSON needs no key sorting (orjson writes the dicts in their order).
            if self.written is None:
                body.append(f"if not d.keys() <= {self.bind('K', frozenset(known))}: raise R")
            slots: dict[str, str] = {}
            for key, info in model.model_fields.items():
                lines, slot = self.field(key, info, model)
                if lines is None:
                    body.append("raise R")  # a default this check cannot copy safely
                    continue
                body += lines
                slots[key] = slot
            body.append("o = {" + ", ".join(f"{k!r}: {slots[k]}" for k in sorted(slots)) + "}")
            for rule in rules:
                body.append(f"{self.bind('V', rule)}(o)")
            body.append("return o")
        self.lines.append(f"def {name}(d):")
        self.lines += ["    " + line for line in body]
        self.lines.append("")
        return name

    def field(self, key: str, info: FieldInfo, model: type[BaseModel]) -> tuple[list[str] | None, str]:
        """(Lines reading field `key` of `d` into a local and checking it, the expression of its value), or
        (None, "") when its default is one this check cannot copy safely."""
        k = repr(key)
        default = default_of(info)
        if default is UNSAFE:
            return None, ""
        absent = None if default is ABSENT else literal(default, self.bind)
        if self.written is not None and (model, key) not in self.written and absent is not None:
            return [], absent  # never filled: its default (a required field is read: the engine may fill it)
        if absent is None:
            head = [f"v = d.get({k}, M)", "if v is M: raise R"]
        elif absent == "[]":
            head = [f"v = d.get({k}, M)", "if v is M: v = []"]
        elif (model, key) in self.skip:
            return [], f"d.get({k}, {absent})"  # checked by the generated mapping as it stored it
        else:
            head = [f"v = d.get({k}, {absent})"]
        slot = f"f{next(self._ids)}"
        checks = [] if (model, key) in self.skip else self.checks(info)[0]
        return [*head, *checks, f"{slot} = v"], slot

    def field_in_place(self, key: str, info: FieldInfo, model: type[BaseModel]) -> list[str]:
        """Lines checking field `key` of a templated dict (present, ABSENT when required and not filled)."""
        k, required = repr(key), info.is_required()
        if self.written is not None and (model, key) not in self.written and not required:
            return []  # its template's default (never a value to check)
        if (model, key) in self.skip:
            return [f"if d[{k}] is M: raise R"] if required else []
        checks, changed = self.checks(info)
        if not checks and not required:
            return []
        head = [f"v = d[{k}]", *(["if v is M: raise R"] if required else [])]
        return [*head, *checks, *([f"d[{k}] = v"] if changed else [])]

    def checks(self, info: FieldInfo) -> tuple[list[str], bool]:
        """Lines checking the value `v` of a field (raising R), and whether they may replace it."""
        found = _Constraints()
        for meta in info.metadata:
            found.add(meta)
        bare, nullable = _unwrap(info.annotation, found)
        steps = self.value(bare, found)
        if not nullable:
            steps.insert(0, ("cond", "v is None"))
            prefix, indent = [], ""
        else:
            prefix, indent = ["if v is not None:"], "    "
        body: list[str] = []
        conds: list[str] = []
        changed = False
        for kind, text in steps:
            if kind == "cond":
                conds.append(text)
                continue
            if conds:
                body.append(f"if {' or '.join(conds)}: raise R")
                conds = []
            body.append(text)
            changed = True
        if conds:
            body.append(f"if {' or '.join(conds)}: raise R")
        if not body:
            return [], False
        if nullable and len(body) == 1 and body[0].startswith("if ") and body[0].endswith(": raise R"):
            return [f"if v is not None and ({body[0][3:-9]}): raise R"], False
        return [*prefix, *(indent + line for line in body)], changed

    def value(self, bare: Any, found: _Constraints) -> list[tuple[str, str]]:
        """Steps that check `v`: ("cond", an expression that refuses when true) or ("stmt", a statement that
        replaces v by its validated value)."""
        refuse = [("cond", "True")]
        if found.unknown:
            return refuse
        origin = typing.get_origin(bare)
        if origin is list:
            (item,) = typing.get_args(bare)
            inner = _Constraints()
            item, item_nullable = _unwrap(item, inner)
            if item_nullable or found.min_length is not None or found.max_length is not None:
                return refuse
            if isinstance(item, type) and issubclass(item, BaseModel):
                check = self.model(item)
                return [
                    ("cond", "v.__class__ is not list"),
                    ("stmt", f"v = [{check}(x) if x.__class__ is dict else FAIL() for x in v]"),
                ]
            steps = self.value(item, inner)
            if any(kind == "stmt" for kind, _ in steps) or not steps:
                return refuse
            ok = self.item_ok(steps)
            return [
                ("cond", "v.__class__ is not list"),
                ("stmt", f"v = [x if {ok}(x) else FAIL() for x in v]"),
            ]
        if origin is Literal:
            allowed = self.bind("L", frozenset(typing.get_args(bare)))
            return [("cond", f"v.__class__ is not str or v not in {allowed}")]
        if isinstance(bare, type) and issubclass(bare, BaseModel):
            return [("cond", "v.__class__ is not dict"), ("stmt", f"v = {self.model(bare)}(v)")]
        if isinstance(bare, type) and issubclass(bare, enum.IntEnum):
            # one of the enum's members (a code table's canonical value), or an int of the set
            cls, values = self.bind("E", bare), self.bind("S", frozenset(int(m) for m in bare))
            return [("cond", f"not (v.__class__ is {cls} or v.__class__ is int and v in {values})")]
        if bare is str:
            return self.text(found)
        if bare is int:
            if found.after or found.pattern or found.min_length or found.max_length:
                return refuse
            steps = [("cond", "v.__class__ is not int")]
            if found.ge is not None:
                steps.append(("cond", f"v < {found.ge!r}"))
            if found.le is not None:
                steps.append(("cond", f"v > {found.le!r}"))
            return steps
        if bare is datetime:
            if [f for f in found.after if f is not schema.hcm_default] or found.pattern:
                return refuse
            # A time without a zone (which hcm_default would place in Asia/Ho_Chi_Minh) never comes out of a
            # mapping: left to pydantic.
            return [("cond", "v.__class__ is not datetime or v.tzinfo is None")]
        if bare is date:
            return [("cond", "v.__class__ is not date")] if not found.after else refuse
        return refuse

    def item_ok(self, steps: list[tuple[str, str]]) -> str:
        """A function telling whether one list item passes `steps` (conditions only)."""
        name = f"item_ok{next(self._ids)}"
        self.lines += [f"def {name}(v):", f"    return not ({' or '.join(text for _, text in steps)})", ""]
        return name

    def text(self, found: _Constraints) -> list[tuple[str, str]]:
        steps = [("cond", "v.__class__ is not str"), *self.lengths(found)]
        if found.pattern is not None:
            # Python's `$` also matches before a final newline, pydantic's (Rust) does not: refuse those.
            pattern = self.bind("P", re.compile(found.pattern))
            steps.append(("cond", f"{pattern}.search(v) is None or v.endswith('\\n')"))
        for func in found.after:
            if func is schema.nfc:  # inline: a value already stripped and NFC is what nfc() returns
                steps.append(("cond", "v.strip() != v or not (v.isascii() or isnfc('NFC', v))"))
            else:
                steps.append(("stmt", f"v = {self.bind('F', func)}(v)"))
                steps.append(("cond", "v.__class__ is not str"))
                steps += self.lengths(found)  # checked again on the result: only ever stricter
        return steps

    @staticmethod
    def lengths(found: _Constraints) -> list[tuple[str, str]]:
        lo, hi = found.min_length, found.max_length
        if lo is not None and hi is not None:
            return [("cond", f"not {lo} <= len(v) <= {hi}")]
        if hi is not None:
            return [("cond", f"len(v) > {hi}")]
        if lo is not None:
            return [("cond", f"len(v) < {lo}")]
        return []


def compile_check(
    model: type[BaseModel],
    skip: Fields = frozenset(),
    written: Fields | None = None,
    templated: frozenset[type[BaseModel]] = frozenset(),
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """check(d) -> the model's plain values (as model_dump() gives them), or raises (Refused or a validator's
    ValueError): then pydantic decides. Fields in `skip` are taken as they are (see vouch); with `written`,
    only those fields can hold a value other than their default; dicts of `templated` models are checked and
    completed in place (see template)."""
    return ModelCheck(model, skip, written, templated).build()


def vouch(model: type[BaseModel], key: str, rule: Any) -> str | None:
    """Can the generated mapping check field `key` of `model` itself, as it stores the value of `rule`?

    Yes for a text read as text (stripped, brought to NFC by the engine: only its bounds remain to check) and
    a time read by fromisoformat (a datetime with its zone): the answer is the condition, on `v`, that refuses
    the stored value ("" when none can). None when the model check must look at the value.
    """
    info = model.model_fields.get(key)
    if info is None or rule.code is not None or rule.default is not None or rule.transforms:
        return None
    found = _Constraints()
    for meta in info.metadata:
        found.add(meta)
    bare, _nullable = _unwrap(info.annotation, found)
    if found.unknown:
        return None
    if rule.type == "str" and bare is str and all(f is schema.nfc for f in found.after):
        if found.after and rule.text != "free":  # the engine brings free text to NFC; nothing else
            return None
        conds = [text for _, text in ModelCheck.lengths(found)]
        if found.pattern is not None:
            return None
        return " or ".join(conds)
    if rule.type == "datetime" and bare is datetime and all(f is schema.hcm_default for f in found.after):
        return "" if not found.pattern else None
    return None
