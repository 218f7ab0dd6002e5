"""What the generated normalize code works with: per-record state, compiled rules and the rare-path helpers.

The generated code (mappings.codegen) inlines the common work; anything unusual — a failure, a text fix,
an XML one-child list, an index step — calls one of the small functions here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from mappings.convert import code_key, folded, what
from mappings.dates import quote
from mappings.errors import ConversionError
from mappings.paths import Path, as_list, compile_path, join_path
from mappings.spec import CodeTable, Rule
from mappings.text import TextFixed, to_nfc
from schemas.text_safety import problem

if TYPE_CHECKING:
    from pydantic import BaseModel

MISSING = "missing"
MISS = object()  # a code-table miss (a sentinel: no canonical value is ever this)
# A required field no rule filled, in a dict the generated function starts from its model's template (every field,
# in sorted order): the model check refuses it, and it is taken out before pydantic sees the dict (compiler).
ABSENT = object()


class Ctx:
    """One record's state: its root, the failures and text fixes so far, the list items being walked."""

    __slots__ = ("codes", "errors", "fixes", "frames", "odd", "ref", "root", "texts")

    def __init__(self, root: Any) -> None:
        self.root = root
        self.errors: list[tuple[str, str | None, str, Any]] = []  # field, source path, reason, raw value
        self.fixes: list[tuple[str, str]] = []
        self.texts: list[str] = []  # the free-text values produced, screened at once (mappings.compiler)
        self.codes: list[str] = []  # the code and identifier values produced, likewise
        # one [list target, index, its CompiledRule, the list's parent] per enclosing `each`
        self.frames: list[list[Any]] = []
        self.ref: date | None = None  # reference date, for code tables with periods
        self.odd = 0  # a value took a path the generated function does not check itself (mappings.modelcheck)

    def prefixes(self) -> tuple[str, str]:
        """The canonical and source prefixes of the list item being walked: `history[3].`, `history[3]`."""
        field_prefix, source_prefix = "", ""
        for target, index, compiled, parent in self.frames:
            field_prefix += f"{target}[{index}]."
            source_prefix = join_path(source_prefix, compiled.source_of(parent, self)[0] or "") + f"[{index}]"
        return field_prefix, source_prefix


class Zipped:
    """A list rule's `zip`: the items made of parallel lists, item i holding each list's i-th value (a Lotus Notes
    table kept as multi-value items). Read as a path is: `text` names it in error reports, `get` never raises."""

    __slots__ = ("columns", "from_root", "steps", "text")

    def __init__(self, columns: tuple[tuple[str, str], ...]) -> None:
        self.columns = tuple((key, compile_path(path)) for key, path in columns)
        self.text = "zip(" + ", ".join(f"{key}={path}" for key, path in columns) + ")"
        self.steps: tuple[Any, ...] = ()
        self.from_root = False

    def read(self, src: Any, nulls: frozenset[Any] | tuple[Any, ...]) -> list[dict[str, Any]]:
        """The items; ConversionError when the lists' lengths differ (never items paired wrongly)."""
        lists: list[tuple[str, list[Any]]] = []
        for key, path in self.columns:
            value = path.get(src)
            if isinstance(value, str):
                value = value.strip()
                value = None if value in nulls else value
            listed = as_list(value)
            lists.append((key, [value] if listed is None else listed))
        n = max((len(values) for _, values in lists), default=0)
        uneven = [(key, len(values)) for key, values in lists if len(values) not in (0, n)]
        if uneven:
            lengths = ", ".join(
                f"{path.text} has {len(values)}"
                for (_, values), (_, path) in zip(lists, self.columns, strict=True)
            )
            raise ConversionError(f"parallel lists of different lengths: {lengths}", dict(uneven))
        return [{key: values[i] if values else None for key, values in lists} for i in range(n)]

    def get(self, src: Any) -> list[dict[str, Any]] | None:
        try:
            return self.read(src, ("",))
        except ConversionError:
            return None


class CompiledRule:
    """A rule with its parsed paths (and its item rules, for lists): what error reports look up."""

    __slots__ = ("items", "paths", "rule", "zip")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.zip = Zipped(rule.zip) if rule.zip else None
        self.paths: tuple[Path, ...] = (
            (self.zip,) if self.zip is not None else tuple(compile_path(p) for p in rule.paths)  # type: ignore[assignment]
        )
        self.items: Program | None = None

    def source_of(self, src: Any, ctx: Ctx | None) -> tuple[str | None, Any]:
        """The path that gave the value (the first non-null of a fallback chain) and its raw value."""
        for p in self.paths:
            v = p.get(ctx.root if (p.from_root and ctx is not None) else src)
            if v is not None:
                return p.text, v
        return (" | ".join(p.text for p in self.paths) or None), None


@dataclass
class Program:
    """The rules of one model (the dossier, or a list's items) by dotted target, for locating errors."""

    by_target: dict[str, CompiledRule] = field(default_factory=dict)


@dataclass
class Scope:
    """Where generated statements read from and write to: the source dict, the output dict, cached lookups."""

    src: str
    out: str
    prefixes: dict[tuple[str, ...], str]
    model: type[BaseModel] | None = None  # the canonical model filled (None: the identity function)


@dataclass
class Generated:
    source: str
    namespace: dict[str, Any]
    function: str  # the name of the generated normalize function in namespace
    careful: str  # the same, each screened text brought to NFC as it is stored (for texts not all NFC)
    identity: str  # the name of the function that reads only record.id and record.updated_at
    program: Program  # the dossier's rules (with item programs), for mapping model errors back
    # (model, field) whose value the function checks itself as it stores it (mappings.modelcheck.vouched)
    vouched: frozenset[tuple[type[BaseModel], str]]
    written: frozenset[tuple[type[BaseModel], str]]  # every (model, field) a rule may fill
    templated: frozenset[
        type[BaseModel]
    ]  # models whose dicts start from their template (modelcheck.template)


# -- called by generated code ---------------------------------------------------------------------------------
def fail(ctx: Ctx, compiled: CompiledRule, src: Any, reason: str, value: Any) -> None:
    field_prefix, source_prefix = ctx.prefixes() if ctx.frames else ("", "")
    path, raw = compiled.source_of(src, ctx)
    if reason == MISSING:
        path = " | ".join(p.text for p in compiled.paths) or None  # name every path that was tried
    elif value is None:
        value = raw
    if path and source_prefix:
        path = " | ".join(join_path(source_prefix, p) for p in path.split(" | "))
    ctx.errors.append((field_prefix + compiled.rule.target, path, reason, value))


def err(ctx: Ctx, compiled: CompiledRule, src: Any, exc: Exception) -> None:
    if isinstance(exc, ConversionError):
        fail(ctx, compiled, src, exc.reason, exc.value)
    else:  # a faulty transform must not stop the batch: report it on its field
        fail(ctx, compiled, src, f"{type(exc).__name__}: {exc}", None)


def miss(ctx: Ctx, compiled: CompiledRule, src: Any) -> None:
    fail(ctx, compiled, src, MISSING, None)


def nfc(value: str, ctx: Ctx, target: str) -> str:
    """Called only for text that failed the NFC quick check: normalize it and record the fix."""
    fixed = to_nfc(value)
    return fixed_text(fixed, ctx, target) if type(fixed) is TextFixed else value


def fixed_text(fixed: TextFixed, ctx: Ctx, target: str) -> str:
    ctx.fixes.append(((ctx.prefixes()[0] if ctx.frames else "") + target, fixed.fix))
    return fixed.text


def listed(value: Any) -> list[Any]:
    items = as_list(value)
    if items is None:
        raise ConversionError(f"expected a list, got {what(value)}", value)
    return items


def index(value: Any, i: int) -> Any:
    if isinstance(value, list):
        return value[i] if -len(value) <= i < len(value) else None
    if isinstance(value, dict):  # XML: one child is a dict, i.e. a one-element list
        return value if i in (0, -1) else None
    return None


def unknown(name: str, value: Any, ref: date | None = None) -> Any:
    why = problem(value, code=True) if value.__class__ is str else None
    if why is not None:  # a code with a control or an invisible character: say which, not just "unknown"
        raise ConversionError(why, value)
    when = f" for {ref.isoformat()}" if ref is not None else ""
    raise ConversionError(f"unknown value {quote(value)} (not in code table {name}{when})", value)


def with_int_keys(values: dict[str, Any], match: str = "exact") -> dict[Any, Any]:
    """The table with each integer-looking key also as an int: a JSON 12 finds "12" in one lookup."""
    out: dict[Any, Any] = dict(values)
    for k, v in values.items():
        if k.isdigit() and str(int(k)) == k:
            out[int(k)] = v
    return TextKeys(out) if match == "text" else out


class TextKeys(dict):
    """A code table matched as text (`match: text`): what the exact lookup misses is looked up folded."""

    def __init__(self, values: dict[Any, Any]) -> None:
        super().__init__(values)
        self.folded = {folded(k): v for k, v in values.items() if isinstance(k, str)}

    def get(self, key: Any, default: Any = None) -> Any:
        found = dict.get(self, key, MISS)
        if found is MISS and isinstance(key, str):
            found = self.folded.get(folded(key), MISS)
        return default if found is MISS else found


class DatedTable:
    """A code table whose values depend on the record's reference date (receipt, else submission)."""

    def __init__(self, table: CodeTable) -> None:
        self.name = table.name
        self.periods = [(p.until, with_int_keys(p.values, table.match)) for p in table.periods]

    def __call__(self, value: Any, ref: date | None) -> Any:
        chosen: dict[Any, Any] | None = self.periods[-1][1]  # no reference date: the current table
        if ref is not None:
            chosen = next((values for until, values in self.periods if until is None or ref < until), None)
            if chosen is None:
                raise ConversionError(f"code table {self.name} has no period for {ref.isoformat()}", value)
        result = chosen.get(value if type(value) in (str, int) else code_key(value), MISS)
        return unknown(self.name, value, ref) if result is MISS else result
