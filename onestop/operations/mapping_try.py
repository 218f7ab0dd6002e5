"""`onestop mapping try`: a dry run of a (changed) mapping against what it failed on before.

Reads the open quarantined records of every source of the dialect, normalizes them with the mapping as it is
on disk now (or another file), and says which would now pass and which still fail, and why. Writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mappings import compile_mapping, get_mapping, load_mapping
from onestop import registry
from onestop.db import connect
from onestop.pipeline import parse_payload


@dataclass
class TryResult:
    dialect: str
    tried: int = 0
    would_pass: list[tuple[str, str]] = field(default_factory=list)  # (source, record id)
    still_failing: list[tuple[str, str, list[str]]] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)


def _quarantined(sources: list[str]) -> Iterator[tuple[str, str, str, str]]:
    with connect() as conn, conn.cursor(name="mapping_try") as cur:  # a server-side cursor: bounded memory
        cur.execute(
            "SELECT source, record_id, content_type, payload FROM onestop.quarantine"
            " WHERE state = 'open' AND payload_purged_at IS NULL AND source = ANY(%s) ORDER BY id",
            (sources,),
        )
        yield from cur


def try_mapping(dialect: str, mapping_file: Path | None = None) -> TryResult:
    mapping = compile_mapping(load_mapping(mapping_file)) if mapping_file else get_mapping(dialect)
    sources = [s.name for s in registry.load().sources if s.dialect == dialect]
    result = TryResult(dialect)
    for source, record_id, content_type, payload in _quarantined(sources):
        result.tried += 1
        try:
            outcome = mapping.normalize(parse_payload(payload, content_type), source)
        except ValueError as exc:
            outcome = mapping.unreadable(str(exc))
        if outcome.dossier is not None:
            result.would_pass.append((source, record_id))
        else:
            reasons = [e.describe(source, record_id) for e in outcome.errors]
            result.still_failing.append((source, record_id, reasons))
            result.reasons.update(f"{e.field}: {e.reason.split(' (')[0]}" for e in outcome.errors)
    return result
