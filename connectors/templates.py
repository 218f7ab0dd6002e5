"""Request templates: where a vendor wants the window, the page, the cursor or a token, written as placeholders.

`{"paging": {"page": "{page}"}, "from": "{start}"}` is rendered per request. A value that is exactly one
placeholder keeps the value's type (a page number stays a JSON number, a cursor of sort values a JSON array); a
placeholder inside other text is written as text (a list or an object as compact JSON). A key (or list item) whose placeholders have no value — no cursor before the first page, no end
bound — is left out, so a vendor never receives `cursor=None`. `{{` and `}}` are literal braces.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MISSING = object()


def placeholders(template: Any) -> set[str]:
    """Every placeholder a template (a string, or dicts and lists of them) names."""
    if isinstance(template, str):
        return {m[1] for m in _PLACEHOLDER.finditer(template) if m[1]}
    if isinstance(template, dict):
        return set().union(*(placeholders(k) | placeholders(v) for k, v in template.items()))
    if isinstance(template, list):
        return set().union(*(placeholders(v) for v in template))
    return set()


def _render_text(text: str, values: dict[str, Any]) -> Any:
    whole = _PLACEHOLDER.fullmatch(text)
    if whole and whole[1]:
        value = values.get(whole[1])
        return _MISSING if value is None else value
    missing = False

    def put(m: re.Match[str]) -> str:
        nonlocal missing
        if not m[1]:
            return m[0][0]
        value = values.get(m[1])
        if value is None:
            missing = True
            return ""
        return as_text(value)

    rendered = _PLACEHOLDER.sub(put, text)
    return _MISSING if missing else rendered


def as_text(value: Any) -> str:
    """A value written inside text: a list or an object (a structured cursor) as compact JSON, else str()."""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _render(template: Any, values: dict[str, Any]) -> Any:
    if isinstance(template, str):
        return _render_text(template, values)
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            k, v = _render(key, values), _render(value, values)
            if k is not _MISSING and v is not _MISSING:
                out[str(k)] = v
        return out
    if isinstance(template, list):
        return [v for v in (_render(item, values) for item in template) if v is not _MISSING]
    return template


def render(template: Any, values: dict[str, Any]) -> Any:
    """The template with its placeholders filled from `values` (None: the key is left out)."""
    rendered = _render(template, values)
    return None if rendered is _MISSING else rendered


def render_text(template: str, values: dict[str, Any]) -> str | None:
    """A single string template (a path): None when a placeholder it needs has no value."""
    rendered = _render_text(template, values)
    return None if rendered is _MISSING else str(rendered)
