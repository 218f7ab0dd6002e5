"""tests/hostile/inputs.yaml read into typed inputs, and each input's page built (tests/hostile/pages.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.hostile import generators
from tests.hostile.pages import (
    CONTENT_TYPE,
    FORMAT,
    PROTOCOLS,
    Builder,
    Page,
    Raw,
    Record,
    Text,
    Value,
    empty_body,
    page_body,
)
from tests.hostile.server import Reply

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "inputs.yaml"
VIAS = ("pipeline", "dag", "cli")


@dataclass
class HostileRecord:
    """One hostile record of a page: what is set in it, and what must become of it."""

    settings: dict[str, Any]  # source path -> {file|text|json|generate}
    quarantined: list[str] | None = None  # acceptable field names ("*": any)
    loaded: dict[str, Any] | None = None  # {fix, field, flag}
    raw: str | None = None  # verbatim | digest
    record: Record | None = None  # built
    spliced: dict[str, bytes] = field(default_factory=dict)  # path -> the bytes written there


@dataclass
class HostileInput:
    name: str
    protocol: str
    via: str = "pipeline"
    good: int = 20
    records: list[HostileRecord] = field(default_factory=list)
    body: dict[str, Any] | None = None
    refused: list[str] | None = None  # regexes the run's error must match
    loaded: bool = False  # input-level: every record of the page loads
    attempts: str | None = None  # ">=2" | "1"
    forbidden: list[str] = field(default_factory=list)
    planted: list[str] = field(default_factory=list)
    rerun: bool = False

    @property
    def declared(self) -> str:
        """refused | quarantined | loaded: what the input counts as in the summary."""
        if self.refused is not None:
            return "refused"
        if any(r.quarantined is not None for r in self.records):
            return "quarantined"
        return "loaded"

    def describe(self) -> str:
        if self.refused is not None:
            return f"refused({', '.join(self.refused)})"
        parts = []
        for r in self.records:
            if r.quarantined is not None:
                parts.append(f"quarantined({'|'.join(r.quarantined)})")
            elif r.loaded is not None:
                extra = ", ".join(f"{k}={v}" for k, v in r.loaded.items())
                parts.append(f"loaded({extra})" if extra else "loaded")
        return "; ".join(parts) or "loaded"


def load(path: Path = MANIFEST) -> list[HostileInput]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    inputs, seen = [], set()
    for item in data["inputs"]:
        records = [
            HostileRecord(
                settings=dict(r.get("set") or {}),
                quarantined=r.get("quarantined"),
                loaded=r.get("loaded"),
                raw=r.get("raw"),
            )
            for r in item.get("records") or []
        ]
        loaded = item.get("loaded")
        inp = HostileInput(
            name=item["name"],
            protocol=item["protocol"],
            via=item.get("via", "pipeline"),
            good=int(item.get("good", 20)),
            records=records,
            body=item.get("body"),
            refused=item.get("refused"),
            loaded=bool(loaded),
            attempts=item.get("attempts"),
            forbidden=list(item.get("forbidden") or []),
            planted=list(item.get("planted") or []),
            rerun=bool(item.get("rerun")),
        )
        if inp.protocol not in PROTOCOLS or inp.via not in VIAS or inp.name in seen:
            raise ValueError(f"inputs.yaml: {inp.name}: bad protocol/via or a repeated name")
        seen.add(inp.name)
        inputs.append(inp)
    return inputs


def _setting(spec: dict[str, Any], fmt: str) -> Raw | Text | Value:
    if "file" in spec:
        return Raw((HERE / spec["file"]).read_bytes())
    if "text" in spec:
        return Text(spec["text"])
    if "json" in spec:
        return Value(spec["json"])
    if "generate" in spec:
        return Raw(generators.VALUES[spec["generate"]](fmt, **(spec.get("args") or {})))
    raise ValueError(f"a setting needs file, text, json or generate: {spec}")


def build(inp: HostileInput, builder: Builder) -> Page:
    """The input's HTTP answers: its body, or a page of good records with its hostile records in the middle
    (then an empty page, for a paged system that asks for the next one)."""
    protocol, fmt = inp.protocol, FORMAT[inp.protocol]
    media = CONTENT_TYPE[protocol]
    if inp.body is not None:
        body = inp.body
        if "generate" in body:
            return generators.BODIES[body["generate"]](builder, protocol, **(body.get("args") or {}))
        headers = {"Content-Type": media, **(body.get("headers") or {})}
        data = (HERE / body["file"]).read_bytes()
        return Page([Reply(int(body.get("status", 200)), headers, data)])
    good = builder.good(protocol, inp.good)
    for hostile in inp.records:
        settings = {path: _setting(spec, fmt) for path, spec in hostile.settings.items()}
        hostile.spliced = {p: s.data if isinstance(s, Raw) else b"" for p, s in settings.items()}
        hostile.record = builder.record(protocol, settings, planted=True)
    middle = len(good) // 2
    records = good[:middle] + [h.record for h in inp.records if h.record] + good[middle:]
    replies = [
        Reply(200, {"Content-Type": media}, page_body(protocol, records)),
        Reply(200, {"Content-Type": media}, empty_body(protocol)),
    ]
    return Page(replies, [r.record_id for r in good if r.record_id], records)
