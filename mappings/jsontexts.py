"""Values that hold a JSON document written as text, read as JSON before a mapping's rules read them (the mapping's
`json_text`).

A system whose fields are all scalar keeps a structured value as text: a ticketing system's multi-line text field
that an integration fills with a dossier's steps (Zendesk's `custom_fields[].value`), a SharePoint note, an
`nvarchar(max)` column of JSON. Named by a path, such a text is parsed where it stands, so that the rules read it
as any nested value (`history: {path: "custom_fields[?(@.id=='360000000021')][0].value", each: {…}}`):

    json_text:
      - "custom_fields[?(@.id=='360000000021')][0].value"
      - ghiChu.duLieu

A path ends at a key or an index (the value's place in its object or list). A text there that is not JSON, or
nests past the parser's depth, is a failure of its record, named by the field that reads it, never a value read
past in silence; a value there that is not text (already JSON, missing, null) is left as it is.
"""

from __future__ import annotations

from typing import Any

from mappings.paths import Where, parse_steps
from schemas import jsontext


class JsonTexts:
    """The paths of a mapping's `json_text`, each parsed once."""

    def __init__(self, paths: tuple[str, ...]) -> None:
        self.paths = paths
        self._steps = tuple(parse_steps(p)[0] for p in paths)

    def decode(self, record: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The record with each text at a path read as JSON, and the failures as (path, reason). The record as
        received is left as it was (staging and the quarantine keep it): what leads to a text is copied."""
        failures: list[tuple[str, str]] = []
        for text, steps in zip(self.paths, self._steps, strict=True):
            record, why = _replace(record, steps)
            if why is not None:
                failures.append((text, why))
        return record, failures


def _parsed(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not value.strip():
        return value, None  # already JSON (decoded before), or nothing there
    try:
        return jsontext.loads(value), None
    except (ValueError, RecursionError) as exc:
        return value, f"not JSON text: {str(exc)[:200]}"


def _replace(node: Any, steps: tuple[Any, ...]) -> tuple[Any, str | None]:
    """`node` with the text at `steps` read as JSON (a copy of each object and list on the way; `node` itself
    when the path leads nowhere), and why it could not be read."""
    if not steps:
        return _parsed(node)
    step, rest = steps[0], steps[1:]
    if isinstance(step, Where):  # [?(@.id=='360023')][k]: the list's k-th item of those it keeps
        if not rest or not isinstance(rest[0], int) or not isinstance(node, list):
            return node, None
        kept = [i for i, item in enumerate(node) if step.pick([item])]
        if not -len(kept) <= rest[0] < len(kept):
            return node, None
        step, rest = kept[rest[0]], rest[1:]
    if isinstance(step, int):
        if not isinstance(node, list) or not -len(node) <= step < len(node):
            return node, None
        inner, why = _replace(node[step], rest)
        if inner is node[step]:
            return node, why
        copy = list(node)
        copy[step] = inner
        return copy, why
    if not isinstance(node, dict) or step not in node:
        return node, None
    inner, why = _replace(node[step], rest)
    if inner is node[step]:
        return node, why
    return {**node, step: inner}, why


def check_path(text: Any) -> str | None:
    """Why `text` cannot be a json_text path (None: it can)."""
    if not isinstance(text, str):
        return "a path (text)"
    try:
        steps, from_root = parse_steps(text)
    except ValueError as exc:
        return str(exc)
    if from_root:
        return "a path from the record's root already: no `$.`"
    for i, step in enumerate(steps):
        if isinstance(step, Where) and (i + 1 == len(steps) or not isinstance(steps[i + 1], int)):
            return "a filter followed by an index ([0]): the path leads to one text"
    return None
