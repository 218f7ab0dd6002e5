"""Child rows a system sends beside its records, each naming its record by a key (the registry's `records.nest`):
an ASP.NET DataSet whose stored procedure returned the dossiers as Table and their steps as Table1, a SQL
export's arrays. Each record gets its own rows as a list under `into`, so that a mapping reads them with `each`
as if the system had nested them; the staged record is the record with its rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from connectors.base import JSON, RawRecord, kept
from connectors.jsonpage import keyed_list
from connectors.spec.common import as_text, get_path, leaf
from connectors.spec.rest import NestSpec
from schemas import jsontext

Row = TypeVar("Row")


def key_of(value: Any) -> str | None:
    """A key as compared: as text (12 and "12" are one key), an XML leaf's text; nothing else (an empty text, a
    list, an object) is a key, so a record without one gets no row whose key is missing too."""
    value = leaf(value)
    if value is None or isinstance(value, list | dict):
        return None
    return as_text(value).strip() or None


def grouped(rows: Iterable[tuple[dict[str, Any], Row]], spec: NestSpec) -> dict[str, list[Row]]:
    """(row as a dict, what to nest) by the row's key, in the order the system sent them."""
    groups: dict[str, list[Row]] = {}
    for row, kept_row in rows:
        key = key_of(get_path(row, spec.key))
        if key is not None:
            groups.setdefault(key, []).append(kept_row)
    return groups


def rows_of(record: dict[str, Any], spec: NestSpec, groups: dict[str, list[Row]]) -> list[Row]:
    """The record's rows. Its key may be one value, an object that names its row by the rows' own `key` path
    (JSON:API's `relationships.x.data`: {type, id}), or a list of either (a to-many relationship, a list of ids):
    then the rows of each, in the list's order."""
    value = get_path(record, spec.parent_key or spec.key)
    found: list[Row] = []
    for item in value if isinstance(value, list) else [value]:
        key = key_of(get_path(item, spec.key) if isinstance(item, dict) else item)
        found.extend(groups.get(key, ()) if key is not None else ())
    return found


def nest_json(document: Any, records: list[RawRecord], specs: list[NestSpec]) -> list[RawRecord]:
    """JSON records with their rows from the answer (a path that holds no list nests nothing)."""
    groups = []
    for spec in specs:
        rows = get_path(document, spec.path)
        if keyed_list(rows):  # rows PHP wrote as an object keyed by position
            rows = list(rows.values())
        rows = [(r, r) for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
        groups.append(grouped(rows, spec))
    out = []
    for raw in records:
        if raw.defects:  # quarantined as it is: its text stays as sent
            out.append(raw)
            continue
        record = dict(raw.record)
        for spec, group in zip(specs, groups, strict=True):
            record[spec.into] = rows_of(raw.record, spec, group)
        out.append(kept(record, jsontext.dumps(record), JSON))
    return out
