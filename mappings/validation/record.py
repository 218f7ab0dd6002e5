"""`record:`: where the source keeps each record's id, update time and (optionally) its deletion mark."""

from __future__ import annotations

from mappings.convert import code_key
from mappings.spec import DeletedRule, Rule
from mappings.validation.value_checks import ValueChecks
from mappings.yamllines import YMap, YSeq


class RecordChecks(ValueChecks):
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
