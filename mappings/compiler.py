"""Compiling a validated Mapping into a fast `normalize(record, source) -> Outcome`.

Everything that can be decided once is decided at compile time (mappings.codegen turns the mapping into one
generated Python function; print `CompiledMapping.source` to read it). Per record, normalize runs that
function, injects the identity fields, validates schemas.Dossier and moves a valid one to the administrative
units of its reference date (mappings.units). Only when something failed does it map the model's validation
errors back to canonical fields (`history[3].at`) and source paths (`history[3].createdDate`), without
reporting a field the engine already reported.

canonical() is the one-pass form the pipeline uses: the same generated function, then the model's checks
compiled into Python (mappings.modelcheck; the generated function already checked the texts and ISO times it
stored, so a usual record only has its other fields looked at), the units, and the canonical JSON and its hash
written once — no Dossier object. A record those checks do not accept outright goes through pydantic exactly
as in normalize(), so its errors are today's; tests/mappings/test_model_agreement.py holds the two together.

The generated function leaves the NFC of the texts it screens to the engine, which checks them all at once,
joined; a record whose texts are not all NFC is read again by the same rules generated carefully (each text
brought to NFC and the fix recorded as it is stored).
"""

from __future__ import annotations

import hashlib
import linecache
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from pydantic import BaseModel, ValidationError

from mappings.codegen import Generator
from mappings.convert import code_key, what
from mappings.errors import ConversionError, FieldError, safe_reason, show_value
from mappings.modelcheck import ENGINE_WRITES, NEW_LIST, UNSAFE, compile_check, default_of
from mappings.paths import as_list, compile_path, join_path
from mappings.runtime import ABSENT, MISSING, Ctx, Program
from mappings.spec import Mapping
from mappings.targets import ROOT_MODEL, fields_of
from mappings.units import apply_units, apply_units_to
from schemas.dossier import Dossier
from schemas.personal_data import mask_text
from schemas.text_safety import (
    SUSPECT,
    SUSPECT_IN_CODE,
    escape,
    has_invisible,
    invisible_kinds,
    problem,
    remove_invisible,
)


@dataclass(slots=True)
class Canonical:
    """A valid record in one pass: its values (what `Dossier.model_dump()` gives, units applied), its canonical
    JSON (byte for byte `Dossier.canonical_json()`, UTF-8: staging writes these bytes as they are) and the SHA-256
    of that JSON (schemas.content_hash)."""

    values: dict[str, Any]
    data: bytes
    content_hash: str

    @property
    def json(self) -> str:
        return self.data.decode()


@dataclass(slots=True)
class Outcome:
    """The result of normalizing one source record: a Dossier, or the reasons there is none."""

    record_id: str | None
    source_updated_at: datetime | None
    dossier: Dossier | None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.dossier is not None

    def describe(self, source: str) -> list[str]:
        return [e.describe(source, self.record_id) for e in self.errors]


class CompiledMapping:
    """A mapping ready to normalize records. Build with compile_mapping() or mappings.get_mapping()."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self.dialect = mapping.dialect
        self.tz = ZoneInfo(mapping.timezone)
        generated = Generator(mapping, self.tz).generate()
        self.source = generated.source
        self._program = generated.program
        filename = f"<mapping {mapping.dialect}: {mapping.file}>"
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True), filename)
        namespace = generated.namespace
        exec(compile(self.source, filename, "exec"), namespace)  # generated from the validated mapping
        self._run = namespace[generated.function]
        self._careful = namespace[generated.careful]
        # Records still to take the careful function first: set when one's texts were not all NFC (a source
        # that sends decomposed text tends to send it in every record), so such a source is not read twice.
        self._careful_next = 0
        self._identity = namespace[generated.identity]
        self._validate = Dossier.__pydantic_validator__.validate_python
        self._check = model_check()
        # The same check without the fields the generated function checked itself: for records where no
        # value took an unusual path (ctx.odd unset).
        self._lean = compile_check(
            ROOT_MODEL, generated.vouched, generated.written | ENGINE_WRITES, generated.templated
        )
        deleted = mapping.deleted
        self._deleted_paths = tuple(compile_path(p).get for p in deleted.paths) if deleted else ()
        self._deleted_equals = deleted.equals if deleted else frozenset()
        self._nulls = frozenset(mapping.null_values)
        self._typed = mapping.typed_values
        self._json_text = mapping.json_text

    def normalize(self, record: Any, source: str) -> Outcome:
        """One source record -> Outcome. Never raises for bad data: every failing field is an error."""
        record = self._plain(record)
        if record.__class__ is Outcome:
            return record  # type: ignore[return-value]
        produced = self._produce(record, source)
        if produced.__class__ is Outcome:
            return produced  # type: ignore[return-value]
        ctx, data = produced  # type: ignore[misc]
        return self._validated(record, ctx, data)

    def canonical(self, record: Any, source: str, deletion_checked: bool = False) -> Canonical | Outcome:
        """One source record -> its canonical record in one pass (values, canonical JSON, content hash), or,
        for a record the compiled model check does not accept outright, what normalize() gives: an Outcome
        with a Dossier or with today's errors, decided by pydantic on the same produced values. A caller that
        asked is_deleted() already says so (`deletion_checked`): not asked twice."""
        record = self._plain(record)
        if record.__class__ is Outcome:
            return record  # type: ignore[return-value]
        produced = self._produce(record, source, deletion_checked)
        if produced.__class__ is Outcome:
            return produced  # type: ignore[return-value]
        ctx, data = produced  # type: ignore[misc]
        if not ctx.errors:
            try:
                values = (self._check if ctx.odd else self._lean)(data)
                apply_units_to(values)
                text = orjson.dumps(values, option=_CANONICAL)
            except Exception:  # Refused, a validator's ValueError, a lone surrogate orjson will not write
                pass  # the check may have completed `data` in place: its validators are idempotent
            else:
                return Canonical(values, text, hashlib.sha256(text).hexdigest())
        return self._validated(record, ctx, data)

    def _plain(self, record: Any) -> Any:
        """The record with its typed values read as plain ones (typed_values) and its JSON texts read as JSON
        (json_text), or the Outcome of a record whose typed values do not fit the table or whose JSON text is
        none: each failure named by the field that reads it (else `(record)`) and the value's path, the record's
        id read from what did fit."""
        if (self._typed is None and self._json_text is None) or not isinstance(record, dict):
            return record
        plain, failures = self._typed.decode(record) if self._typed is not None else (record, [])
        if not failures and self._json_text is not None:
            plain, texts = self._json_text.decode(plain)
            if texts:
                # the reason quotes the parser, which may quote the text: masked, as an answer quoted in an error is
                errors = [
                    _field_error(self._reader(path) or "(record)", mask_text(path), mask_text(reason), None)
                    for path, reason in texts
                ]
                return Outcome(*self.identity(plain, decoded=True), None, errors)
        if not failures:
            return plain
        # The path and the reason name the record's own keys (a map keyed by phone numbers, a hostile type key):
        # masked, as an answer quoted in an error is
        errors = [
            _field_error(
                self._reader(path) or "(record)", mask_text(path), mask_text(f"typed value: {reason}"), None
            )
            for path, reason in failures[:_TYPED_SHOWN]
        ]
        if len(failures) > _TYPED_SHOWN:
            more = f"typed value: {len(failures) - _TYPED_SHOWN} more failures"
            errors.append(FieldError("(record)", None, more))
        return Outcome(*self.identity(plain, decoded=True), None, errors)

    def _reader(self, path: str, program: Program | None = None) -> str | None:
        """The canonical field whose rule reads the source `path` (`history[3].trang_thai` -> history[3].status)."""
        for target, compiled in (program or self._program).by_target.items():
            for p in compiled.paths:
                if p.from_root and program is not None:
                    continue
                if path == p.text or path.startswith(p.text + "."):
                    return target
                head, _, rest = path.removeprefix(p.text).partition("]")
                if compiled.items is not None and path.startswith(p.text + "[") and head[1:].isdigit():
                    inner = self._reader(rest.removeprefix("."), compiled.items) if rest else None
                    return f"{target}[{head[1:]}]" + (f".{inner}" if inner else "")
        return None

    def _produce(
        self, record: Any, source: str, deletion_checked: bool = False
    ) -> Outcome | tuple[Ctx, dict[str, Any]]:
        """The generated mapping's values for one record, screened, with the source and text fixes set."""
        if not isinstance(record, dict):
            error = FieldError(
                "(record)", None, f"a record is an object, got {what(record)}", show_value("", record)
            )
            return Outcome(None, None, None, [error])
        if self._deleted_paths and not deletion_checked and self.is_deleted(record, decoded=True):
            # A caller that skipped is_deleted() gets one clear reason, not a dozen missing fields.
            error = FieldError("(record)", None, "a deletion (record.deleted), not a dossier")
            return Outcome(*self.identity(record, decoded=True), None, [error])
        careful = self._careful_next > 0
        if careful:
            self._careful_next -= 1
        ctx, data, texts, codes = self._generated(self._careful if careful else self._run, record, source)
        # The function left the screened texts' NFC to here: all NFC when their concatenation is (a text that is
        # not NFC stays so whatever surrounds it: tests/mappings/test_compiler_nfc.py). Else the careful
        # function brings each to NFC and records the fix, as it stores it.
        if not careful and not (
            (texts.isascii() or unicodedata.is_normalized("NFC", texts))
            and (codes.isascii() or unicodedata.is_normalized("NFC", codes))
        ):
            self._careful_next = _CAREFUL_RUN
            ctx, data, texts, codes = self._generated(self._careful, record, source)
        # Every text value of the record, checked at once (schemas.text_safety): the joined free texts and codes
        # are printable in the common case; else one regex each says whether a control or an invisible character
        # is really there (not just a line break), and only then is the record walked field by field.
        if not (texts.isprintable() and codes.isprintable()) and (
            SUSPECT.search(texts) is not None or SUSPECT_IN_CODE.search(codes) is not None
        ):
            self._screen(record, data, ctx, ROOT_MODEL, ())
        if ctx.fixes:
            data["text_fixes"] = [{"field": f, "fix": x} for f, x in ctx.fixes]
        return ctx, data

    @staticmethod
    def _generated(
        function: Callable[[Any, Ctx], dict[str, Any]], record: dict[str, Any], source: str
    ) -> tuple[Ctx, dict[str, Any], str, str]:
        """One run of a generated function: its context, its values with the source set, and the record's free
        texts and codes, each joined."""
        ctx = Ctx(record)
        data = function(record, ctx)
        data["source"] = source
        ctx.codes.append(source)
        return ctx, data, "".join(ctx.texts), "".join(ctx.codes)

    def _validated(self, record: Any, ctx: Ctx, data: dict[str, Any]) -> Outcome:
        """pydantic's verdict on the produced values: the Dossier in its units, or every failing field."""
        data = _present(data)
        record_id = data.get("source_record_id")
        updated_at = data.get("source_updated_at")
        try:
            dossier = self._validate(data)
        except ValidationError as exc:
            errors = [_field_error(f, p, r, v) for f, p, r, v in ctx.errors]
            seen = {e.field for e in errors}
            errors += self._model_errors(record, exc.errors(include_url=False), seen)
            return Outcome(_safe_id(record_id), updated_at, None, errors)
        except Exception as exc:  # a model validator that raised something else: still this record's fault
            errors = [_field_error(f, p, r, v) for f, p, r, v in ctx.errors]
            errors.append(FieldError("(record)", None, safe_reason(f"{type(exc).__name__}: {exc}")))
            return Outcome(_safe_id(record_id), updated_at, None, errors)
        if ctx.errors:
            errors = [_field_error(f, p, r, v) for f, p, r, v in ctx.errors]
            return Outcome(_safe_id(record_id), updated_at, None, errors)
        # Units follow the reference date: from 2025-07-01 the district-era codes become 2025 codes.
        return Outcome(record_id, updated_at, apply_units(dossier), [])

    def is_deleted(self, record: Any, decoded: bool = False) -> bool:
        """Does the record announce a deletion (record.deleted)? Always False for a mapping without the rule."""
        if not self._deleted_paths or not isinstance(record, dict):
            return False
        if self._typed is not None and not decoded:
            record = self._typed.decode(record)[0]
        for get in self._deleted_paths:  # a fallback chain: the first path with a value decides
            value = get(record)
            if isinstance(value, str):
                value = value.strip()
                if value in self._nulls:
                    continue
            if value is None or (value is False and self.mapping.false_is_null):
                continue
            try:
                return code_key(value) in self._deleted_equals
            except ConversionError:  # a list or an object where a marker was expected: not a deletion
                return False
        return False

    def record_id(self, record: Any) -> str | None:
        """The source record id of a raw record (record.id), without normalizing it; None when absent.

        An id holding a control or invisible character comes back escaped (\\x00, \\u200b): such a record
        never becomes a dossier, and its id must still be writable (PostgreSQL text, UTF-8)."""
        return self.identity(record)[0]

    def identity(self, record: Any, decoded: bool = False) -> tuple[str | None, datetime | None]:
        """record_id() and updated_at() of a raw record, read in one pass."""
        if not isinstance(record, dict):
            return None, None
        if self._typed is not None and not decoded:
            record = self._typed.decode(record)[0]
        values = self._identity(record, Ctx(record))
        return _safe_id(values.get("source_record_id")), values.get("source_updated_at")

    def unreadable(self, reason: str) -> Outcome:
        """The outcome for a payload that could not even be parsed (not JSON, not XML, a refused DTD)."""
        return Outcome(None, None, None, [FieldError("(record)", None, safe_reason(reason), None)])

    def updated_at(self, record: Any) -> datetime | None:
        """The source's update time of a raw record (record.updated_at); None when absent or unreadable."""
        return self.identity(record)[1]

    # -- text screening (the rare path: a record whose texts hold a control or an invisible character) ---------
    def _screen(
        self, record: Any, node: dict[str, Any], ctx: Ctx, model: type[BaseModel], loc: tuple[Any, ...]
    ) -> None:
        """Walk the produced values of `model` in `node`: invisible characters leave free text (a TextFix each),
        a forbidden character in any text, or an invisible one in a code, is an error naming the field."""
        for key, value in list(node.items()):
            target = fields_of(model).get(key)
            if target is None:
                continue
            if value.__class__ is str and target.text is not None:
                code = target.text == "code"
                why = problem(value, code=code)
                if why is not None:
                    field_name, path, raw, _ = self._locate(record, (*loc, key), "")
                    ctx.errors.append((field_name, path, why, value if raw is None else raw))
                elif not code and has_invisible(value):
                    # A removed character may have kept a letter and its marks apart: NFC again.
                    cleaned = unicodedata.normalize("NFC", remove_invisible(value).strip())
                    field_name = self._locate(record, (*loc, key), "")[0]
                    ctx.fixes += [(field_name, kind) for kind in invisible_kinds(value)]
                    if cleaned:
                        node[key] = cleaned
                    else:  # nothing but invisible characters: no value (its template's, in a templated dict)
                        default = default_of(model.model_fields[key])
                        if default is UNSAFE or default is NEW_LIST:
                            del node[key]
                        else:
                            node[key] = default
            elif target.model is not None and value.__class__ is dict:
                self._screen(record, value, ctx, target.model, (*loc, key))
            elif target.model is not None and value.__class__ is list:
                for i, item in enumerate(value):
                    if item.__class__ is dict:
                        self._screen(record, item, ctx, target.model, (*loc, key, i))

    # -- model errors -> canonical fields and source paths ------------------------------------------------
    def _model_errors(self, record: Any, errors: list[Any], seen: set[str]) -> list[FieldError]:
        out: list[FieldError] = []
        above = {a for s in seen for a in _lineage(s)[1:]}  # the fields that hold one already reported
        for err in errors:
            message = err["msg"]
            for prefix in ("Value error, ", "Assertion failed, "):
                message = message.removeprefix(prefix)
            if (
                err["type"] == "string_too_long"
            ):  # the bound and the length (pydantic's words lack the length)
                message = f"longer than {err['ctx']['max_length']} characters ({len(err['input'])})"
            field_name, source_path, raw, named = self._locate(record, err["loc"], message)
            if named:  # "id_number: a CCCD has 12 digits": the field is applicant.id_number
                message = message.split(":", 1)[1].strip()
            if err["type"] == "missing":
                message = MISSING
            lineage = _lineage(field_name)
            if field_name in above or any(a in seen for a in lineage):
                continue  # already reported: by the engine, or by an earlier model error on the same field
            seen.add(field_name)
            above.update(lineage[1:])
            out.append(_field_error(field_name, source_path, message, raw))
        return out

    def _locate(self, record: Any, loc: tuple[Any, ...], message: str) -> tuple[str, str | None, Any, bool]:
        """pydantic's loc (history, 3, at) -> (history[3].at, history[3].createdDate, raw value, named)."""
        program, model, src = self._program, ROOT_MODEL, record
        field_prefix, source_prefix, names = "", "", []
        parts = [p for p in loc if isinstance(p, int) or not any(c in p for c in "[(")]  # drop union tags
        i = 0
        while i < len(parts):
            part = parts[i]
            target = fields_of(model).get(part) if isinstance(part, str) else None
            if target is None:
                break
            names.append(part)
            if target.kind == "list" and i + 1 < len(parts) and isinstance(parts[i + 1], int):
                index, dotted = parts[i + 1], ".".join(names)
                field_prefix += f"{dotted}[{index}]."
                compiled = program.by_target.get(dotted)
                if compiled is not None and compiled.items is not None:
                    path, items = compiled.source_of(src, None)
                    listed = as_list(items) or []
                    src = listed[index] if -len(listed) <= index < len(listed) else None
                    source_prefix = join_path(source_prefix, path or "") + f"[{index}]"
                    program = compiled.items
                model, names = target.model or model, []
                i += 2
                continue
            if target.kind == "model" and target.model is not None:
                model = target.model
            i += 1
        # A model validator names its field at the start of the message ("received_at: neither …").
        head = message.split(":", 1)[0]
        named = ":" in message and head in fields_of(model)
        if named:
            names.append(head)
        dotted = ".".join(names)
        field_name = field_prefix + dotted if dotted else field_prefix.rstrip(".") or "(record)"
        compiled = program.by_target.get(dotted)
        if compiled is None:
            return field_name, None, None, named
        path, raw = compiled.source_of(src, None)
        if path and source_prefix:
            path = " | ".join(join_path(source_prefix, p) for p in path.split(" | "))
        return field_name, path, raw, named


def _field_error(field_name: str, path: str | None, reason: str, value: Any) -> FieldError:
    """A FieldError whose reason and value can be logged and stored: bad characters escaped, lengths capped."""
    return FieldError(field_name, path, safe_reason(reason), show_value(field_name, value))


_CAREFUL_RUN = 256  # records read by the careful function first after one whose texts were not all NFC
_TYPED_SHOWN = (
    50  # typed-value failures a record lists; the rest are counted (a hostile record may hold millions)
)


def _present(node: Any) -> Any:
    """The produced values without the ABSENT of required fields no rule filled (templated dicts): what pydantic
    is given, so that it names them missing."""
    if node.__class__ is dict:
        return {k: _present(v) for k, v in node.items() if v is not ABSENT}
    if node.__class__ is list:
        return [_present(v) for v in node]
    return node


def _safe_id(record_id: Any) -> Any:
    return escape(record_id) if record_id.__class__ is str else record_id


def _lineage(field_name: str) -> list[str]:
    """A field and the fields that hold it, nearest first: history[3].at, history[3], history. Two fields overlap
    when one is in the other's lineage: a set lookup each, where comparing every pair reported was quadratic (a
    record with 5,000 failing history events took 5 s)."""
    out, end = [field_name], len(field_name)
    while (cut := max(field_name.rfind(".", 0, end), field_name.rfind("[", 0, end))) > 0:
        out.append(field_name[:cut])
        end = cut
    return out


@cache
def model_check() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The canonical model's checks compiled once per process (mappings.modelcheck)."""
    return compile_check(ROOT_MODEL)


# Canonical JSON as schemas.jsontext.canonical writes a model_dump(mode="json"), with a zero offset written `Z` as
# pydantic writes it. Its keys are sorted: the model check writes every dict in sorted key order (orjson's own
# sorting cost ~4 µs a record).
_CANONICAL = orjson.OPT_UTC_Z


def compile_mapping(mapping: Mapping) -> CompiledMapping:
    return CompiledMapping(mapping)
