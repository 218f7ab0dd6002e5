"""Generating the normalize function of one mapping: Python source, compiled once.

A closure per rule costs several Python calls per field per record; at ~110 fields per iGate record that
alone eats the throughput budget. So each mapping becomes ONE function whose blocks inline the common work:

    # ma_ho_so <- fields.ma_ho_so
    try:
        v = src.get('code')
        if v.__class__ is str:
            v = v.strip()
            if v in NULLS:
                miss(ctx, C12, src)
            else:
                if not v.isascii() and not isnfc('NFC', v):
                    v = nfc(v, ctx, 'ma_ho_so')
                out['ma_ho_so'] = v
        elif v is None:
            miss(ctx, C12, src)
        else:
            out['ma_ho_so'] = str(v) if v.__class__ is int else to_str(v)
    except Exception as e:
        err(ctx, C12, src, e)

(The function is generated twice: as above, and trusting that the texts it screens are NFC — no isascii/isnfc
per text, the engine checks them all at once joined, and reads a record that fails with the careful one.)
Every block sits in its own `try` (free in CPython 3.11 until something raises), so one failing field is
recorded and the next still runs. List items are walked by an inline loop; nested groups (applicant.*) fill
a local dict; objects several paths go through (applicant.address) are looked up once. Names in the source
(C12, TAB3, P4, …) are bound in the function's namespace to compiled rules, code tables and date parsers.
Identifiers and keys are written with repr(), so nothing from a mapping file is ever executed as code.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from itertools import count, pairwise
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from mappings import runtime
from mappings.convert import CONVERTERS, code_key, to_int, to_str, to_vnd
from mappings.dates import DateParser, parse_format
from mappings.modelcheck import literal, template, vouch
from mappings.paths import Path, Where
from mappings.runtime import CompiledRule, Generated, Program, Scope
from mappings.spec import Mapping, Rule
from mappings.targets import ROOT_MODEL, inner_model
from mappings.text import TextFixed
from mappings.transforms import build_transform
from schemas.dossier import HCM

REFERENCE_FIELDS = ("received_at", "submitted_at")  # the reference date: receipt, else submission
_FIRST = ("source_record_id", "source_updated_at", *REFERENCE_FIELDS)


class Generator:
    def __init__(self, mapping: Mapping, tz: ZoneInfo) -> None:
        self.mapping = mapping
        self.tz = tz
        self.lines: list[str] = []
        self.depth = 0
        self._ids = count()
        self._parsers: dict[tuple[str, ...], DateParser] = {}
        self._bound: dict[int, str] = {}  # id(value) -> its name: each table/parser is bound once
        self.vouched: set[tuple[type[BaseModel], str]] = set()
        self.written: set[tuple[type[BaseModel], str]] = set()  # every (model, field) a rule may fill
        self.templated: set[type[BaseModel]] = set()  # models whose dicts start from their template
        self.trust_nfc = False  # the function being written leaves screened texts' NFC to its caller
        self.false_is_null = mapping.false_is_null
        self.dated = {n for n, t in mapping.code_tables.items() if len(t.periods) > 1 or t.periods[0].until}
        self.tables = {
            name: runtime.DatedTable(t)
            if name in self.dated
            else runtime.with_int_keys(t.periods[0].values, t.match)
            for name, t in mapping.code_tables.items()
        }
        offset = datetime(2020, 1, 1, tzinfo=HCM).utcoffset()  # the canonical zone's: times come out in it
        self.ns: dict[str, Any] = {
            "NULLS": frozenset(mapping.null_values),
            "MISS": runtime.MISS,
            "ABSENT": runtime.ABSENT,
            "TextFixed": TextFixed,
            "err": runtime.err,
            "miss": runtime.miss,
            "nfc": runtime.nfc,
            "fixed_text": runtime.fixed_text,
            "listed": runtime.listed,
            "index": runtime.index,
            "unknown": runtime.unknown,
            "to_str": to_str,
            "to_int": to_int,
            "to_vnd": to_vnd,
            "code_key": code_key,
            "isnfc": unicodedata.is_normalized,
            "fromiso": datetime.fromisoformat,
            "TZ": tz,
            "HCM": HCM,
            "OFFSET": offset,
            "FIXED": timezone(offset) if offset is not None else HCM,
        }

    # -- output helpers -------------------------------------------------------------------------------------
    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self.emit(header)
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def bind(self, prefix: str, value: Any) -> str:
        """A name in the generated namespace bound to `value` (a compiled rule, table, parser, …)."""
        name = self._bound.get(id(value))
        if name is None:
            name = self._bound[id(value)] = f"{prefix}{next(self._ids)}"
            self.ns[name] = value
        return name

    def local(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    # -- the function ---------------------------------------------------------------------------------------
    def generate(self) -> Generated:
        m = self.mapping
        # The record's id and update time are filled like fields, into the same dict (no second call).
        rules = {"source_record_id": m.record_id, "source_updated_at": m.updated_at, **m.fields}
        suffix = m.dialect if m.dialect.isidentifier() else "mapping"
        program = Program()
        # Twice: trusting that the screened texts are NFC (the caller checks them all at once, joined), and
        # careful (each text checked as it is stored): for a record whose texts are not all NFC.
        for name, trust, rules_of in (
            (f"normalize_{suffix}", True, program),
            (f"careful_{suffix}", False, Program()),
        ):
            self.trust_nfc = trust
            with self.block(f"def {name}(src, ctx):"):
                self.emit(f"out = {self.template(ROOT_MODEL)}")
                # the text values, screened per record
                self.emit("TX, CD = ctx.texts.append, ctx.codes.append")
                self.emit("odd = 0")  # set when a value took a path whose result the model check must look at
                self.model(rules, rules_of, Scope("src", "out", {}, ROOT_MODEL), root=True)
                self.emit("ctx.odd = odd")
                self.emit("return out")
            self.emit("")
        self.trust_nfc = False
        # The identity alone, for callers that key raw records before normalizing them (staging).
        with self.block(f"def identity_{suffix}(src, ctx):"):
            self.emit("out = {}")
            self.emit("TX, CD = ctx.texts.append, ctx.codes.append")
            identity = {k: rules[k] for k in ("source_record_id", "source_updated_at")}
            self.model(identity, Program(), Scope("src", "out", {}))
            self.emit("return out")
        return Generated(
            "\n".join(self.lines) + "\n",
            self.ns,
            f"normalize_{suffix}",
            f"careful_{suffix}",
            f"identity_{suffix}",
            program,
            frozenset(self.vouched),
            frozenset(self.written),
            frozenset(self.templated),
        )

    def template(self, model: type[BaseModel] | None) -> str:
        """A new dict for `model`'s values: every field in sorted order with its value when no rule fills it
        (modelcheck.template), or an empty dict for a model without one."""
        values = template(model) if model is not None else None
        if values is None:
            return "{}"
        self.templated.add(model)  # type: ignore[arg-type]
        return "{" + ", ".join(f"{key!r}: {literal(value, self.bind)}" for key, value in values.items()) + "}"

    def model(self, rules: dict[str, Rule], program: Program, scope: Scope, root: bool = False) -> None:
        """The blocks filling one model (the dossier, or one list item) from `rules`."""
        for target, rule in rules.items():
            program.by_target[target] = CompiledRule(rule)
        scope.prefixes = self.shared_prefixes(program, scope)
        order = list(rules)
        if root and self.dated:  # dated code tables need the reference date before anything else
            order.sort(key=lambda t: t not in _FIRST)
        self.fields(order, program, scope, "", root and bool(self.dated))

    def shared_prefixes(self, program: Program, scope: Scope) -> dict[tuple[str, ...], str]:
        """Objects several paths go through (applicant, applicant.address) are looked up once, into locals."""
        uses: dict[tuple[str, ...], int] = {}
        for compiled in program.by_target.values():
            if compiled.rule.join is not None:
                continue
            for path in compiled.paths:
                keys: list[str] = []
                for step, following in pairwise(path.steps):
                    # a prefix is an object a key is read in: one followed by an index is a list
                    if path.from_root or not isinstance(step, str) or not isinstance(following, str):
                        break
                    keys.append(step)
                    uses[tuple(keys)] = uses.get(tuple(keys), 0) + 1
        names: dict[tuple[str, ...], str] = {}
        for prefix in sorted(p for p, n in uses.items() if n > 1):
            var = self.local("p")
            parent = names.get(prefix[:-1])  # a prefix's parent is used at least as often: defined already
            if parent is None:
                self.emit(f"{var} = {scope.src}.get({prefix[-1]!r})")
            else:
                self.emit(f"{var} = {parent}.get({prefix[-1]!r}) if {parent} is not None else None")
            with self.block(f"if {var}.__class__ is not dict:"):
                self.emit(f"{var} = None")
            names[prefix] = var
        return names

    def fields(self, targets: list[str], program: Program, scope: Scope, group: str, reference: bool) -> None:
        """The blocks for the fields under `group` (a dotted prefix such as `applicant.`), in file order.

        A nested group (applicant.*) is filled where its first field appears, into a local dict.
        """
        members: dict[str, list[str]] = {}
        for target in targets:
            rest = target[len(group) :]
            if "." in rest:
                members.setdefault(rest.split(".", 1)[0], []).append(target)
        done: set[str] = set()
        for target in targets:
            rest = target[len(group) :]
            if reference and target not in _FIRST:
                self.reference()
                reference = False
            if "." not in rest:
                self.field(program.by_target[target], scope, rest)
                continue
            name = rest.split(".", 1)[0]
            if name in done:
                continue
            done.add(name)
            var = self.local("g")
            if scope.model is not None:
                self.written.add((scope.model, name))
            self.emit(f"{var} = {{}}")
            self.fields(
                members[name],
                program,
                Scope(scope.src, var, scope.prefixes, inner_model(scope.model, name)),
                f"{group}{name}.",
                False,
            )
            with self.block(f"if {var}:"):
                self.emit(f"{scope.out}[{name!r}] = {var}")
        if reference:
            self.reference()

    def reference(self) -> None:
        """Dated code tables pick their period by the reference date: set it once the times are read."""
        self.emit("at = out.get('received_at')")
        with self.block("if at is None or at is ABSENT:"):
            self.emit("at = out.get('submitted_at')")
        # days are HCM days
        self.emit("ctx.ref = at.astimezone(HCM).date() if at is not None and at is not ABSENT else None")

    def field(self, compiled: CompiledRule, scope: Scope, key: str) -> None:
        rule = compiled.rule
        self.emit(f"# {rule.target} <- {rule.key}".replace("\n", " "))
        if scope.model is not None:
            self.written.add((scope.model, key))
            if rule.precision:
                self.written.add((scope.model, rule.precision))
        if rule.has_const:
            self.emit(f"{scope.out}[{key!r}] = {self.bind('K', rule.const)}")
            return
        c = self.bind("C", compiled)
        with self.block("try:"):
            if rule.each is not None:
                # the items made of parallel lists (`zip`), or read at the rule's path
                if compiled.zip is not None:
                    self.emit(f"v = {self.bind('Z', compiled.zip)}.read({scope.src}, NULLS)")
                else:
                    self.read(compiled, scope, nfc=False)
                self.store_list(compiled, c, scope, key)
            elif self.is_simple(compiled):
                self.store_simple(compiled, c, scope, key)
            else:
                self.store_value(compiled, c, scope, key)
        with self.block("except Exception as e:"):
            self.emit(f"err(ctx, {c}, {scope.src}, e)")

    # -- reading --------------------------------------------------------------------------------------------
    def path(self, path: Path, scope: Scope) -> None:
        """`v = <the value at path>`, starting from the longest shared prefix already looked up."""
        base = "ctx.root" if path.from_root else scope.src
        steps, start = path.steps, 0
        if not steps:
            self.emit(f"v = {base}")
            return
        if not path.from_root:
            for n in range(len(steps) - 1, 0, -1):
                key = tuple(steps[:n])
                var = scope.prefixes.get(key) if all(isinstance(x, str) for x in key) else None  # type: ignore[arg-type]
                if var is not None and isinstance(steps[n], str):
                    self.emit(f"v = {var}.get({steps[n]!r}) if {var} is not None else None")
                    start = n + 1
                    break
        for i in range(start, len(steps)):
            step = steps[i]
            if isinstance(step, int):
                self.emit(f"v = index({base if i == 0 else 'v'}, {step})")
            elif isinstance(step, Where):  # the list of the items it keeps
                self.emit(f"v = {self.bind('W', step)}.pick({base if i == 0 else 'v'})")
            elif i == 0:  # a record is checked to be a dict, a list item replaced by {} when it is not
                self.emit(f"v = {base}.get({step!r})")
            else:
                self.emit(f"v = v.get({step!r}) if v.__class__ is dict else None")
        if self.false_is_null:  # only for a mapping that says so: the others pay nothing for it
            with self.block("if v is False:"):
                self.emit("v = None")

    def read(self, compiled: CompiledRule, scope: Scope, nfc: bool) -> None:
        """`v` = the first non-null value of the rule's paths, text stripped, null values -> None.

        With `nfc`, text is brought to NFC too (the fix recorded); transforms see the raw text first.
        """
        rule = compiled.rule
        if rule.join is not None:
            parts = self.local("j")
            self.emit(f"{parts} = []")
            for path in compiled.paths:
                self.path(path, scope)
                with self.block("if v is not None:"):
                    self.emit("v = (v if v.__class__ is str else to_str(v)).strip()")
                    with self.block("if v and v not in NULLS:"):
                        self.emit(f"{parts}.append(v)")
            self.emit(f"v = {rule.join!r}.join({parts}) or None")
        else:
            for n, path in enumerate(compiled.paths):
                if n:
                    self.emit("if v is None:")
                    self.depth += 1
                self.path(path, scope)
                with self.block("if v.__class__ is str:"):
                    self.emit("v = v.strip()")
                    with self.block("if v in NULLS:"):
                        self.emit("v = None")
            self.depth -= len(compiled.paths) - 1
        if nfc:
            self.nfc_block(rule.target)

    def nfc_block(self, target: str) -> None:
        with self.block("if v.__class__ is str and not v.isascii() and not isnfc('NFC', v):"):
            self.emit(f"v = nfc(v, ctx, {target!r})")

    def missing(self, compiled: CompiledRule, c: str, scope: Scope, key: str) -> None:
        rule = compiled.rule
        if rule.default is not None:
            self.emit(f"{scope.out}[{key!r}] = {self.bind('D', rule.default)}")
            if rule.precision:
                self.emit(f"{scope.out}[{rule.precision!r}] = 'day'")
        elif rule.required:
            self.emit(f"miss(ctx, {c}, {scope.src})")
        else:
            self.emit("pass")

    # -- storing --------------------------------------------------------------------------------------------
    def is_simple(self, compiled: CompiledRule) -> bool:
        rule = compiled.rule
        if len(compiled.paths) != 1 or rule.transforms or rule.join is not None:
            return False
        if rule.code is not None:
            return rule.code not in self.dated
        return rule.type == "str" or (rule.type == "datetime" and self.parser(rule).iso_only)

    def store_simple(self, compiled: CompiledRule, c: str, scope: Scope, key: str) -> None:
        """The common rules (text, a code, an ISO time from one path): one branch per value class."""
        rule, out = compiled.rule, scope.out
        # A text or a time read as text is checked here against its model field, as it is stored: the model
        # check then skips it (mappings.modelcheck). Any other way to a value sets `odd`: the full check.
        bad = vouch(scope.model, key, rule) if scope.model is not None else None
        if bad is not None:
            self.vouched.add((scope.model, key))  # type: ignore[arg-type]
        self.path(compiled.paths[0], scope)
        with self.block("if v.__class__ is str:"):
            self.emit("v = v.strip()")
            with self.block("if v in NULLS:"):
                self.missing(compiled, c, scope, key)
            with self.block("else:"):
                if rule.type == "datetime" and rule.code is None:
                    self.iso_datetime(rule, out, key, vouched=bad is not None)
                else:
                    if not (self.trust_nfc and rule.code is None and rule.text in ("free", "code")):
                        with self.block("if not v.isascii() and not isnfc('NFC', v):"):
                            self.emit(f"v = nfc(v, ctx, {rule.target!r})")
                    if rule.code is not None:
                        table = self.bind("TAB", self.tables[rule.code])
                        self.emit(f"r = {table}.get(v, MISS)")
                        self.emit(f"{out}[{key!r}] = unknown({rule.code!r}, v) if r is MISS else r")
                    else:
                        self.emit(f"{out}[{key!r}] = v")
                        self.screen(rule)
                        if bad:
                            with self.block(f"if {bad}:"):
                                self.emit("odd = 1")
        with self.block("elif v is None:"):
            self.missing(compiled, c, scope, key)
        with self.block("else:"):
            if (
                bad is not None and rule.type == "str"
            ):  # a JSON number as text: digits, only its length to check
                with self.block("if v.__class__ is int:"):
                    self.emit(f"{out}[{key!r}] = v = str(v)")
                    if bad:
                        with self.block(f"if {bad}:"):
                            self.emit("odd = 1")
                with self.block("else:"):
                    self.emit("odd = 1")
                    self.emit(f"{out}[{key!r}] = to_str(v)")
                return
            if bad is not None:
                self.emit("odd = 1")
            if rule.code is not None:  # int keys are in the table too (JSON numbers): one lookup
                table = self.bind("TAB", self.tables[rule.code])
                self.emit(f"r = {table}.get(v if v.__class__ is int else code_key(v), MISS)")
                self.emit(f"{out}[{key!r}] = unknown({rule.code!r}, v) if r is MISS else r")
            elif rule.type == "datetime":
                self.emit(f"{out}[{key!r}] = {self.bind('P', self.parser(rule).datetime)}(v)")
            else:
                self.emit(f"{out}[{key!r}] = str(v) if v.__class__ is int else to_str(v)")

    def screen(self, rule: Rule) -> None:
        """The text value `v` joins its record's free texts or codes: all are searched at once, per record, for
        forbidden and invisible characters (mappings.compiler); only a record with a hit is looked at closer."""
        if rule.text == "free":
            self.emit("TX(v)")
        elif rule.text == "code":
            self.emit("CD(v)")

    def iso_datetime(self, rule: Rule, out: str, key: str, vouched: bool = False) -> None:
        """fromisoformat inline; the parser sees only what it rejects, and names the error."""
        with self.block("try:"):
            self.emit("v = fromiso(v)")
        with self.block("except ValueError:"):
            self.emit(f"v = {self.bind('P', self.parser(rule).datetime)}(v)")
            if vouched:
                self.emit("odd = 1")
        with self.block("else:"):
            self.emit("t = v.tzinfo")  # Asia/Ho_Chi_Minh's usual offset is kept as is; no zone: the mapping's
            with self.block("if t is None:"):
                self.emit("v = v.replace(tzinfo=TZ)")
                if self.tz.key != HCM.key:  # read in another zone (Odoo's UTC): out in the province's
                    self.emit("v = v.astimezone(HCM)")
            with self.block("elif t != FIXED and v.utcoffset() != OFFSET:"):
                self.emit("v = v.astimezone(HCM)")
        self.emit(f"{out}[{key!r}] = v")

    def store_value(self, compiled: CompiledRule, c: str, scope: Scope, key: str) -> None:
        """Any rule: fallback chains, joins, transforms, dated tables, numbers, dates."""
        rule, out = compiled.rule, scope.out
        textual = rule.code is not None or rule.type == "str"
        self.read(compiled, scope, nfc=textual and not rule.transforms)
        for spec in rule.transforms:
            t = self.bind("T", build_transform(spec))
            with self.block("if v is not None:"):
                self.emit(f"v = {t}(v)")
                with self.block("if v.__class__ is TextFixed:"):
                    self.emit(f"v = fixed_text(v, ctx, {rule.target!r})")
                with self.block("if v.__class__ is str and v in NULLS:"):
                    self.emit("v = None")
        if rule.transforms and textual:
            self.nfc_block(rule.target)
        with self.block("if v is None:"):
            self.missing(compiled, c, scope, key)
        with self.block("else:"):
            if rule.code is not None and rule.code in self.dated:
                self.emit(f"{out}[{key!r}] = {self.bind('DT', self.tables[rule.code])}(v, ctx.ref)")
            elif rule.code is not None:
                table = self.bind("TAB", self.tables[rule.code])
                self.emit(f"r = {table}.get(v if v.__class__ in (str, int) else code_key(v), MISS)")
                self.emit(f"{out}[{key!r}] = unknown({rule.code!r}, v) if r is MISS else r")
            elif rule.type == "str":
                self.emit(f"{out}[{key!r}] = v = v if v.__class__ is str else to_str(v)")
                self.screen(rule)
            elif rule.type == "datetime":
                self.emit(f"{out}[{key!r}] = {self.bind('P', self.parser(rule).datetime)}(v)")
            elif rule.type == "date":
                p = self.bind("P", self.parser(rule).date)
                if rule.precision:
                    self.emit(f"{out}[{key!r}], {out}[{rule.precision!r}] = {p}(v)")
                else:
                    self.emit(f"{out}[{key!r}] = {p}(v)[0]")
            elif rule.type == "int":
                self.emit(f"{out}[{key!r}] = v if v.__class__ is int else to_int(v)")
            elif rule.type == "decimal":
                self.emit(f"{out}[{key!r}] = v if v.__class__ is int else to_vnd(v)")
            else:
                self.emit(f"{out}[{key!r}] = {self.bind('F', CONVERTERS[rule.type])}(v)")

    def store_list(self, compiled: CompiledRule, c: str, scope: Scope, key: str) -> None:
        """An inline loop over the items; each item is filled by the item rules into its own dict."""
        rule = compiled.rule
        assert rule.each is not None
        items = compiled.items = Program()
        frame, results, i, item, item_out = (self.local(p) for p in ("f", "l", "i", "s", "o"))
        with self.block("if v.__class__ is not list:"):
            self.emit("v = listed(v)")
        with self.block("if v:"):
            self.emit(f"{frame} = [{rule.target!r}, 0, {c}, {scope.src}]")
            self.emit(f"ctx.frames.append({frame})")
            self.emit(f"{results} = []")
            with self.block("try:"):
                with self.block(f"for {i}, {item} in enumerate(v):"):
                    self.emit(f"{frame}[1] = {i}")
                    with self.block(f"if not isinstance({item}, dict):"):
                        self.emit(f"{item} = {{}}")
                    self.emit(f"{item_out} = {self.template(inner_model(scope.model, key))}")
                    self.model(rule.each, items, Scope(item, item_out, {}, inner_model(scope.model, key)))
                    self.emit(f"{results}.append({item_out})")
            with self.block("finally:"):
                self.emit("ctx.frames.pop()")
            self.emit(f"{scope.out}[{key!r}] = {results}")
        if rule.required:
            with self.block("else:"):
                self.emit(f"miss(ctx, {c}, {scope.src})")

    def parser(self, rule: Rule) -> DateParser:
        formats = rule.formats or tuple(self.mapping.date_formats)
        if rule.type == "datetime":  # partial formats (MM/yyyy) only ever apply to date fields
            formats = tuple(f for f in formats if not parse_format(f).partial) or ("iso",)
        parser = self._parsers.get(formats)
        if parser is None:
            parser = self._parsers[formats] = DateParser(formats, self.tz)
        return parser
