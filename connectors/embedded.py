"""Answers read in layers: the document a system writes as text inside its answer (the registry's `embedded`: an
ASMX method returning `string`, a JSON `data` holding a JSON text or base64 of one), read as safely as an answer,
and a SOAP answer element with its envelope's Header. Paths are read in the inner layer first."""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from typing import Any

from connectors.base import EXCERPT, RawRecord
from connectors.errors import RefusedAnswer
from connectors.jsonpage import PageReader
from connectors.safexml import Records, scan_answer
from connectors.spec.common import get_path, has_path, leaf
from connectors.spec.rest import HEADER, PagedSpec
from schemas import jsontext


@dataclass(frozen=True)
class Layered:
    """A page's answer in two layers: a path is read in `document` first, then in `answer`. The document written
    as text inside an answer (the registry's `embedded`) before the answer (a total beside a JSON-encoded
    `data`); a SOAP answer element before its envelope's Header (a continuation token WCF sends there)."""

    answer: Any  # as received, or the SOAP Header
    document: Any  # the one embedded in it (XML: without its records), or the SOAP answer element


@dataclass(frozen=True)
class Headed:
    """A page's answer with its HTTP headers, as a paginator reads it: `header:X-Total-Count` is a header's value
    (json-server, WordPress), `header:X-Pagination.TotalPages` a path inside a header that holds JSON (ASP.NET
    Core's X-Pagination); any other path is read in the answer."""

    document: Any
    headers: dict[str, str]

    def header(self, path: str) -> Any:
        name, dot, inner = path[len(HEADER) :].partition(".")
        value = next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)
        if not dot or value is None:
            return value
        try:
            return get_path(jsontext.loads(value), inner)
        except ValueError:  # not JSON, or nested past the parser's depth
            return None


def value_at(document: Any, path: str) -> Any:
    """The value at a paginator's path in a page's answer (None when it is not there)."""
    if isinstance(document, Headed):
        return document.header(path) if path.startswith(HEADER) else value_at(document.document, path)
    if isinstance(document, Layered):
        inner = found_at(document.document, path)
        return value_at(document.document if inner else document.answer, path)
    return get_path(document, path)


def found_at(document: Any, path: str) -> bool:
    if isinstance(document, Headed):
        return (
            document.header(path) is not None
            if path.startswith(HEADER)
            else found_at(document.document, path)
        )
    if isinstance(document, Layered):
        return found_at(document.document, path) or found_at(document.answer, path)
    return has_path(document, path)


def innermost(document: Any) -> Any:
    """The document a page's records and keys are read in."""
    while isinstance(document, Layered):
        document = document.document
    return document


def read_embedded(
    name: str, paged: PagedSpec, pages: PageReader | None, operation: str, answer: Any
) -> tuple[Layered, list[RawRecord] | Records | None]:
    """The document written as text inside an answer (`embedded`), read as safely as an answer is, with its
    records: JSON ones as RawRecords (None when `records` leads to no list),
    read by `pages`; XML ones to be read in chunks. A null or empty text is a page without records."""
    spec = paged.embedded
    assert spec is not None
    if not has_path(answer, spec.path):
        raise _refused(name, operation, f"no embedded document at {spec.path!r}", answer)
    value = leaf(get_path(answer, spec.path))
    if value is None or value == "":
        return Layered(answer, {}), []
    if isinstance(value, dict | list) and spec.format == "json" and not spec.base64:
        value = jsontext.dumps(value)  # a system that sometimes sends it as JSON, not as JSON text
    if not isinstance(value, str):
        raise _refused(
            name, operation, f"{spec.path!r} holds {type(value).__name__}, not {spec.format} text", answer
        )
    try:
        data = base64.b64decode("".join(value.split()), validate=True) if spec.base64 else value.encode()
    except (binascii.Error, ValueError) as exc:  # no value in the message: base64's or UTF-8's complaint
        what = "base64" if spec.base64 else "UTF-8"
        raise _refused(name, operation, f"the text at {spec.path!r} is not {what} ({exc})", answer) from None
    raw: list[RawRecord] | Records | None
    if spec.format == "xml":  # a text's XML declaration names the charset it had before it became text
        encoding = None if spec.base64 else "utf-8"
        document, raw = scan_answer(io.BytesIO(data), paged.records.path, name, encoding)
    else:
        assert pages is not None
        document, raw = pages.read(data, f"{operation}: the text at {spec.path!r}")
    return Layered(answer, document), raw


def _refused(name: str, operation: str, problem: str, answer: Any) -> RefusedAnswer:
    keys = f"; the answer's keys are {sorted(answer)[:20]}" if isinstance(answer, dict) else ""
    excerpt = jsontext.dumps(answer).encode("utf-8", "surrogatepass")[:EXCERPT]
    return RefusedAnswer(name, f"{operation}: {problem}{keys}", excerpt=excerpt)
