"""docs/sources-reference.md, generated from the spec models (`onestop config reference`): every key a source
entry and its `rest:` section may say, its type, default and meaning. A test keeps the file in step."""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from connectors.spec.auth import AuthSpec, LoginPageSpec
from connectors.spec.common import Condition
from connectors.spec.feed import ACK_PLACEHOLDERS, FETCH_PLACEHOLDERS, FeedSpec, PeekSpec
from connectors.spec.request import GraphQLSpec, RequestSpec, XmlRpcSpec
from connectors.spec.rest import (
    PLACEHOLDERS,
    ArchiveSpec,
    CsvSpec,
    DetailSpec,
    EmbeddedSpec,
    ErrorRule,
    IncrementalSpec,
    NestSpec,
    PaginatorSpec,
    RecordErrorsSpec,
    RecordsSpec,
    RestSpec,
    ResumeSpec,
    RowsSpec,
    SheetSpec,
)
from connectors.spec.soap import FaultRule, SoapDetailSpec, SoapLoginSpec, SoapSpec
from connectors.spec.source import SourceConfig

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("a source entry (`sources:` item, or a `profiles:` entry it names)", SourceConfig),
    ("`rest:` (and `xml:`, kind xml: the same keys, `answer: xml`)", RestSpec),
    (
        "`rest.request:` (and `rest.auth.request:`, `rest.detail.request:`, `feed.fetch:`, `feed.ack:`, "
        "`feed.peek.request:`)",
        RequestSpec,
    ),
    ("`rest.request.graphql:` (and wherever a request is written)", GraphQLSpec),
    ("`rest.request.xmlrpc:` (and wherever a request is written)", XmlRpcSpec),
    ("`rest.records:` (and `soap.records:`)", RecordsSpec),
    ("`rest.records.nest:` (each item)", NestSpec),
    ("`rest.records.record_errors:`", RecordErrorsSpec),
    ("`rest.records.rows:` (and `soap.records.rows:`)", RowsSpec),
    ("`rest.paginator:` (and `soap.paginator:`)", PaginatorSpec),
    ("`rest.incremental:` (and `soap.incremental:`)", IncrementalSpec),
    (
        "`rest.errors:` (and `soap.errors:`, `rest.embedded.errors:`, `rest.detail.errors:`, "
        "`soap.detail.errors:`; each item)",
        ErrorRule,
    ),
    ("`rest.embedded:` (and `soap.embedded:`)", EmbeddedSpec),
    ("`rest.csv:`", CsvSpec),
    ("`rest.sheet:`", SheetSpec),
    ("`rest.archive:`", ArchiveSpec),
    ("`rest.detail:`", DetailSpec),
    ("`rest.resume:`", ResumeSpec),
    ("`soap.detail:`", SoapDetailSpec),
    ("a condition (`rest.errors[].when`, `rest.records.filter`)", Condition),
    ("`rest.auth:`", AuthSpec),
    ("`rest.auth.login_page:`", LoginPageSpec),
    ("`soap:`", SoapSpec),
    ("`soap.login:`", SoapLoginSpec),
    ("`soap.faults:` (each item)", FaultRule),
    ("`feed:`", FeedSpec),
    ("`feed.peek:`", PeekSpec),
]
_NAMES = {model: title for title, model in SECTIONS}


def _type(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(_type(a) for a in args if a is not type(None))
    if origin is list:
        return f"list of {_type(args[0])}" if args else "list"
    if origin is dict:
        return "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"see {_NAMES.get(annotation, annotation.__name__)}"
    name = getattr(annotation, "__name__", str(annotation))
    return {"str": "text", "int": "integer", "float": "number", "bool": "true/false", "timedelta": "duration",
            "datetime": "date-time", "Any": "any"}.get(name, name)  # fmt: skip


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    value = field.default
    if value is PydanticUndefined or value is None:
        return ""
    if isinstance(value, BaseModel):
        return (
            "`" + ", ".join(f"{k}: {v}" for k, v in value.model_dump(exclude_defaults=True).items()) + "`"
            if (value.model_dump(exclude_defaults=True))
            else ""
        )
    if hasattr(value, "total_seconds"):
        seconds = int(value.total_seconds())
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if seconds % size == 0:
                return f"`{seconds // size}{unit}`"
        return f"`{seconds}s`"
    if value in ([], {}):
        return ""
    return f"`{value}`"


def markdown() -> str:
    lines = [
        "# Source registry reference",
        "",
        "Generated from the spec models in `connectors/spec/` by `onestop config reference`; do not edit by hand.",
        "README, *Add a district*, shows a worked example.",
        "",
        "Placeholders in `rest.request` templates (and in `soap.request` and `soap.headers`): "
        + ", ".join(f"`{{{p}}}`" for p in sorted(PLACEHOLDERS))
        + "; in a login request (and `soap.login.request`) `{login}` and `{password}` (the connection's), and "
        "in `soap.request` and `soap.headers` too (a service that takes the credentials with every call); "
        "`{csrf}` too in a login request with `login_page` (the form's hidden token). "
        "`{last}` is `{offset}` + `{page_size}` - 1, the last index a page asks for: an HTTP range of items, "
        "`Range: items={offset}-{last}`, as Dojo JsonRest and Lotus Domino Access Services page. "
        "A value that is exactly one "
        "placeholder keeps its type; a key whose placeholder has no value is left out; `{{`, `}}` are braces.",
        "",
        "In `feed.fetch`: "
        + ", ".join(f"`{{{p}}}`" for p in sorted(FETCH_PLACEHOLDERS))
        + "; in `feed.ack`: "
        + ", ".join(f"`{{{p}}}`" for p in sorted(ACK_PLACEHOLDERS))
        + "; in `feed.peek.request`: `{batch_size}`.",
        "",
        "Durations are written `30s`, `15m`, `6h`, `1d`. Paths use the mappings' path language "
        "(`data.items`, `result[0].list`, `['@odata.nextLink']` for a key that holds a dot, `link[?(@.relation=='next')][0].url` for the first item of a list whose key has a value); in XML and SOAP answers, local names, attributes as `@name` "
        "(`Result.@TotalRecords`), below the root element (XML) or the SOAP Body's answer element (SOAP).",
    ]
    for title, model in SECTIONS:
        lines += ["", f"## {title}", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            key = field.alias or name
            meaning = (field.description or "").replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{key}` | {_type(field.annotation)} | {_default(field)} | {meaning} |")
    return "\n".join(lines) + "\n"
