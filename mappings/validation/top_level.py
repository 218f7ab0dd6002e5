"""The whole mapping file: its top-level keys, then each section in the order the Mapping needs them
(code tables before the field rules that name them)."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mappings.jsontexts import JsonTexts
from mappings.jsontexts import check_path as check_json_text_path
from mappings.spec import DEFAULT_DATE_FORMATS, DEFAULT_NULL_VALUES, DEFAULT_TIMEZONE, TOP_LEVEL_KEYS, Mapping
from mappings.typed import PRESETS, TypedValues, build
from mappings.validation.code_tables import CodeTableChecks
from mappings.validation.field_rules import FieldRuleChecks
from mappings.validation.record import RecordChecks
from mappings.yamllines import YMap, YSeq

_DIALECT = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYS = re.compile(r"^[\w@$-]+(\.[\w@$-]+)*$")  # `at`: keys from the record's root, dot-separated


class MappingValidator(RecordChecks, CodeTableChecks, FieldRuleChecks):
    """One file's validator: `mapping()` returns the Mapping, or None with the problems appended."""

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
        except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):  # OSError: too long for a file name
            self.add(doc.at("timezone"), "timezone", f"unknown time zone {timezone!r}")
        formats = self.formats(doc, "date_formats", doc.get("date_formats", list(DEFAULT_DATE_FORMATS)), True)
        self.global_formats = formats or DEFAULT_DATE_FORMATS
        nulls = self.null_values(doc)
        typed = self.typed_values(doc)
        json_text = self.json_text(doc)
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
            false_is_null=self.false_is_null,
            code_tables=self.tables,
            fields=fields,
            typed_values=typed,
            json_text=json_text,
        )

    def null_values(self, doc: YMap) -> tuple[str, ...]:
        value = doc.get("null_values", list(DEFAULT_NULL_VALUES))
        if not isinstance(value, list):
            self.add(doc.at("null_values"), "null_values", "a list of texts that mean 'no value'")
            return DEFAULT_NULL_VALUES
        out = []
        for i, v in enumerate(value):
            if v is False:  # JSON's false, where Odoo writes an empty field: the one value that is not text
                self.false_is_null = True
            elif not isinstance(v, str):
                line = value.at(i) if isinstance(value, YSeq) else doc.at("null_values")
                self.add(line, f"null_values[{i}]", f"{v!r}: null values are compared as text: quote it")
            else:
                out.append(v.strip())
        return tuple(out)

    def json_text(self, doc: YMap) -> JsonTexts | None:
        """`json_text`: the paths of values holding a JSON document as text; None when the file has none."""
        value = doc.get("json_text")
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            self.add(
                doc.at("json_text"), "json_text", "a list of paths (where a JSON document is written as text)"
            )
            return None
        paths = []
        for i, path in enumerate(value):
            line = value.at(i) if isinstance(value, YSeq) else doc.at("json_text")
            why = check_json_text_path(path)
            if why is not None:
                self.add(line, f"json_text[{i}]", f"{path!r}: {why}")
            else:
                paths.append(path)
        if len(paths) != len(value):
            return None
        return JsonTexts(tuple(paths))

    def typed_values(self, doc: YMap) -> TypedValues | None:
        """`typed_values`: a preset's name, or {preset, types, at, plain}; None when the file has none."""
        value = doc.get("typed_values")
        if value is None:
            return None
        line = doc.at("typed_values")
        presets = ", ".join(PRESETS)
        if isinstance(value, str):
            value = {"preset": value}
        if not isinstance(value, dict):
            self.add(line, "typed_values", f"a preset ({presets}) or {{preset, types, at, plain}}")
            return None
        unknown = sorted(str(k) for k in value if k not in ("preset", "types", "at", "plain"))
        if unknown:
            self.add(
                line, f"typed_values.{unknown[0]}", "unknown key (expected one of: preset, types, at, plain)"
            )
        preset, types, at = value.get("preset"), value.get("types"), value.get("at", "")
        plain = value.get("plain")
        if plain is not None and not isinstance(plain, bool):
            self.add(
                line, "typed_values.plain", "true or false: values outside wrappers are plain JSON (EJSON)"
            )
            return None
        if preset is not None and preset not in PRESETS:
            self.add(line, "typed_values.preset", f"{preset!r} is not a preset (one of: {presets})")
            return None
        if types is not None and (
            not isinstance(types, dict)
            or not types
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in types.items())
        ):
            self.add(
                line, "typed_values.types", "a table of wrapper keys and their kinds ({S: text, N: number})"
            )
            return None
        if preset is None and types is None:
            self.add(line, "typed_values", f"names a preset ({presets}) or a table of `types`, or both")
            return None
        if not isinstance(at, str) or (at and not _KEYS.match(at)):
            self.add(line, "typed_values.at", f"{at!r}: keys from the record's root, dot-separated (fields)")
            return None
        try:
            typed = build(preset, types, at, plain)
        except ValueError as exc:
            self.add(line, "typed_values.types", str(exc))
            return None
        self.type_keys = frozenset(typed.types)
        return typed
