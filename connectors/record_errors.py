"""Errors a system lists beside its records, each naming by a path the record it belongs to (the registry's
`records.record_errors`): GraphQL's partial results, where one dossier's field that failed on the server leaves
`null` in the data and an error at ["hoSoThayDoi", "edges", 3, "node", "chuHoSo"]. The error costs that record
alone: it is quarantined naming the field, with the system's own words; the rest of the page goes on."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from connectors.base import Defect, RawRecord, listed
from connectors.errors import ProtocolError
from connectors.spec.common import get_path
from connectors.spec.rest import RecordsSpec
from mappings.paths import parse_steps
from schemas.personal_data import quote_answer

MESSAGE_CAP = 500  # bytes of the system's message kept in the record's reason


def field_of(steps: list[Any]) -> str:
    """A path the error names inside its record, in the mappings' path language (`node.quaTrinh[2].luc`)."""
    out = ""
    for step in steps:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "(record)"


def mark_record_errors(
    source: str, document: Any, records: list[RawRecord], spec: RecordsSpec
) -> list[RawRecord]:
    """`records` (as sent, before any filter), each one an error names carrying it as a defect. An error at or
    inside the records' list on a page that holds none refuses the page: GraphQL nulls the nearest field that may
    be null above one that failed, and a dossier whose required field failed can null the whole list, which would
    otherwise read as a page with nothing on it and the window pass as read."""
    rules = spec.record_errors
    errors = get_path(document, rules.path) if rules is not None else None
    if rules is None or not isinstance(errors, list) or not errors:
        return records
    root = parse_steps(rules.root)[0] if rules.root else ()
    prefix = list(parse_steps(spec.path)[0][len(root) :])
    found: dict[int, list[Defect]] = {}
    for error in errors:
        at = get_path(error, rules.at) if isinstance(error, dict) else None
        if not isinstance(at, list):
            continue  # names nothing: the page's `errors` rules say what it means
        message = get_path(error, rules.message)
        said = quote_answer(str(message), MESSAGE_CAP) if message is not None else "(no message)"
        if not records and (at[: len(prefix)] == prefix or prefix[: len(at)] == at):
            raise ProtocolError(
                source, f"the system reported an error at its records ({field_of(at)}) and sent none: {said}"
            )
        if len(at) <= len(prefix) or at[: len(prefix)] != prefix:
            continue  # names no record: the page's `errors` rules say what it means
        index = at[len(prefix)]
        if type(index) is not int or not 0 <= index < len(records):
            continue
        reason = f"the system reported an error for this field: {said}"
        found.setdefault(index, []).append(Defect(field_of(at[len(prefix) + 1 :]), reason))
    return [
        replace(r, defects=listed((*r.defects, *found[i]))) if i in found else r
        for i, r in enumerate(records)
    ]
