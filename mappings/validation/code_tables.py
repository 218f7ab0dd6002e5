"""`code_tables:`: vendor value -> canonical value tables, plain or in dated periods."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from mappings.convert import folded
from mappings.spec import CodeTable, Period
from mappings.targets import CODE_TARGETS
from mappings.validation.value_checks import ValueChecks
from mappings.yamllines import YMap, YSeq


class CodeTableChecks(ValueChecks):
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
                if k not in ("target", "values", "periods", "match"):
                    self.add(
                        spec.at(k), f"{key}.{k}", "unknown key (expected target, values, periods, match)"
                    )
            match = spec.get("match", "exact")
            if match not in ("exact", "text"):
                self.add(spec.at("match"), f"{key}.match", f"{match!r}: exact (the default) or text")
                continue
            target = spec.get("target")
            if target is None:
                self.add(line, f"{key}.target", f"missing (one of: {', '.join(CODE_TARGETS)})")
                continue
            if not isinstance(target, str) or target not in CODE_TARGETS:
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
            if match == "text":
                for period in periods:
                    self.same_as_text(spec, key, period.values)
            self.tables[str(name)] = CodeTable(str(name), target, tuple(periods), line, match)

    def same_as_text(self, spec: YMap, key: str, values: dict[str, Any]) -> None:
        """`match: text`: keys that are one text once case and spaces are set aside must mean one code."""
        seen: dict[str, tuple[str, Any]] = {}
        for raw, value in values.items():
            first = seen.setdefault(folded(raw), (raw, value))
            if first[1] != value:
                self.add(
                    spec.at("match"), f"{key}.match", f"{first[0]!r} and {raw!r} are one text, two codes"
                )

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
