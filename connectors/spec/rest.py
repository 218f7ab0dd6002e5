"""A REST district system in the registry, declared the way dlt's rest_api and Airbyte's manifests describe an
API: a request template, a record selector, a paginator, an incremental window, error envelopes and auth."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from connectors.spec.auth import AuthSpec
from connectors.spec.common import Condition, Duration, Spec, check_path
from connectors.spec.request import RequestSpec
from connectors.templates import placeholders
from mappings.paths import Where, parse_steps

HEADER = "header:"  # a paginator path that reads a response header (connectors.embedded.Headed)
PLACEHOLDERS = frozenset(
    {"start", "end", "page", "page_size", "offset", "last", "cursor", "token", "login", "password"}
)
PaginatorType = Literal["page_number", "offset", "cursor", "next_link", "single"]
StopRule = Literal["short_page", "empty_page", "total_count", "total_pages", "has_more"]
TotalFormat = Literal["number", "content_range"]
CursorType = Literal["any", "text", "object", "list"]
_STOP_PATH = {"total_count": "total_path", "total_pages": "total_pages_path", "has_more": "has_more_path"}
_PLACEHOLDER_OF = {"page_number": "page", "offset": "offset", "cursor": "cursor"}


class PaginatorSpec(Spec):
    type: PaginatorType = Field(
        description="page_number ({page}), offset ({offset}), cursor ({cursor} from the answer), next_link (a URL "
        "from the answer's body or Link header), single (one request, no paging)"
    )
    page_size: int = Field(default=100, ge=1, le=5000, description="records asked per page ({page_size})")
    base: int = Field(default=1, description="page_number: the number of the first page")
    stop: StopRule = Field(
        default="short_page",
        description="page_number and offset: the last page is short (fewer than page_size), empty, reaches "
        "total_count records or total_pages pages, or says has_more false; cursor: only empty_page, for a cursor "
        "that may come back unchanged (Elasticsearch's scroll id): an empty page ends the read",
    )
    total_path: str | None = Field(
        default=None,
        description="stop total_count: the record count's path; any paginator path may read a response header: "
        "`header:X-Total-Count`, or a path in a header holding JSON: `header:X-Pagination.TotalCount`",
    )
    total_format: TotalFormat = Field(
        default="number",
        description="how the total at `total_path` is written: number, or content_range — an HTTP "
        "Content-Range, `items 0-49/250` (Dojo JsonRest, Lotus Domino Access Services, asked with "
        "`Range: items={offset}-{last}`; PostgREST's `0-49/250`), its total the number after `/`; a total "
        "not counted (`*`) or another shape fails the run naming it. A page refused with HTTP 416 (Range Not "
        "Satisfiable: PostgREST's PGRST103 with `Prefer: count=exact`) after a page that gave the total is past "
        "the end of a list that shrank under the read: the slice is read again from its first page",
    )
    total_pages_path: str | None = Field(default=None, description="stop total_pages: the page count's path")
    total_counts_more: bool = Field(
        default=False,
        description="stop total_count/total_pages: the system's total counts records it never sends (hidden, "
        "withdrawn): an empty page before the total ends the read. Else such a page is asked for again once and, "
        "still empty, fails the run so that the next one reads the window again (a page that failed quietly "
        "loses nothing)",
    )
    has_more_path: str | None = Field(
        default=None,
        description="stop has_more (or cursor): the path of a flag, true while more pages follow",
    )
    cursor_path: str | None = Field(
        default=None,
        description="cursor: the next cursor's path in the answer; a list or an object there (Elasticsearch's "
        "`hits.hits[-1].sort`, a `LastEvaluatedKey`) goes back as that JSON value",
    )
    cursor_header: str | None = Field(
        default=None, description="cursor: ... or the response header carrying it"
    )
    cursor_type: CursorType = Field(
        default="any",
        description="cursor: what the cursor is: any (text, or a JSON value as it came), text, object (a "
        "DynamoDB-style `LastEvaluatedKey`) or list (Elasticsearch's sort values); a cursor of another kind fails "
        "the run naming it, never sent back as something the system did not mean. An object or a list goes in a "
        "JSON body, not in the path, query or headers (a key's values in a URL)",
    )
    next_path: str | None = Field(default=None, description="next_link: the next page's URL in the answer")
    link_header: bool = Field(default=False, description='next_link: the next URL in `Link: <…>; rel="next"`')
    next_request: RequestSpec | None = Field(
        default=None,
        description="cursor: the request for every page after the first, when it is not `request` again "
        '(Elasticsearch\'s scroll: `POST /_search/scroll` with `{scroll: 1m, scroll_id: "{cursor}"}`); it sends '
        "{cursor}, `request` need not (REST only)",
    )
    last_page_when: Condition | None = Field(
        default=None,
        description="cursor and next_link: the answer is the last page when this holds, whatever cursor or link it "
        "still gives (Zendesk's incremental export: `{path: end_of_stream, equals: true}`, its `after_cursor` kept "
        "for the next run by `resume`)",
    )
    release: RequestSpec | None = Field(
        default=None,
        description="cursor: a call made once the read of a window ends — done, failed or stopped — with its last "
        "{cursor}, so that the system frees what it holds for the read (Elasticsearch's `DELETE /_search/scroll`, "
        "a server-side cursor); its answer is not read, and its failure is logged, never fails the run (REST only)",
    )

    def requests(self) -> dict[str, RequestSpec]:
        """The paginator's own requests (next_request, release), by their key."""
        return {k: r for k in ("next_request", "release") if (r := getattr(self, k)) is not None}

    def paths(self) -> dict[str, str]:
        """The paths this paginator reads in an answer, by their key."""
        names = ("total_path", "total_pages_path", "has_more_path", "cursor_path", "next_path")
        return {name: path for name in names if (path := getattr(self, name)) is not None}

    @model_validator(mode="after")
    def _complete(self) -> PaginatorSpec:
        for name, path in self.paths().items():
            check_path(path, name)
        if self.type in ("page_number", "offset"):
            needed = _STOP_PATH.get(self.stop)
            if needed and not getattr(self, needed):
                raise ValueError(f"stop: {self.stop} needs `{needed}` (where the answer says it)")
            if self.type == "offset" and self.stop == "total_pages":
                raise ValueError("offset paging stops on short_page, empty_page, total_count or has_more")
        elif self.type == "cursor" and "stop" in self.model_fields_set and self.stop != "empty_page":
            raise ValueError(
                f"a cursor paginator stops on empty_page (a cursor that may come back unchanged), not {self.stop}: "
                "without `stop` it ends when the answer gives no next cursor"
            )
        elif "stop" in self.model_fields_set and self.type != "cursor":
            raise ValueError(
                f"a {self.type} paginator has no `stop`: it ends when the answer gives no next page"
            )
        for key, request in self.requests().items():
            if self.type != "cursor":
                raise ValueError(f"`{key}` sends {{cursor}}: it needs a cursor paginator, not {self.type}")
            if "cursor" not in request.names():
                raise ValueError(
                    f"`{key}` must send {{cursor}} (the cursor the last page gave): without it "
                    + (
                        "every page would be the first"
                        if key == "next_request"
                        else "the call frees nothing of this read"
                    )
                )
        if self.total_format != "number" and (self.stop != "total_count" or not self.total_path):
            raise ValueError(
                f"total_format: {self.total_format} reads a total: it needs stop: total_count and total_path "
                "(`header:Content-Range`)"
            )
        if self.type == "cursor" and not (self.cursor_path or self.cursor_header):
            raise ValueError("a cursor paginator needs `cursor_path` or `cursor_header`")
        if self.cursor_type != "any" and self.type != "cursor":
            raise ValueError(
                f"cursor_type says what a cursor paginator's cursor is: this paginator is {self.type}"
            )
        if self.cursor_type in ("object", "list") and self.cursor_header:
            raise ValueError(
                f"cursor_type: {self.cursor_type} reads a JSON value in the answer (cursor_path): a header is text"
            )
        if self.last_page_when is not None and self.type not in ("cursor", "next_link"):
            raise ValueError(
                f"last_page_when ends a cursor or next_link read; a {self.type} paginator stops by `stop`"
            )
        if self.type == "next_link" and not (self.next_path or self.link_header):
            raise ValueError("a next_link paginator needs `next_path` or `link_header: true`")
        return self


class NestSpec(Spec):
    """Rows the system sends beside its records, each naming its record by a key (an ASP.NET DataSet's Table1,
    Table2 from one stored procedure; a SQL export's child array): each record gets its own rows as a list."""

    path: str = Field(description="where the rows are in the answer, written as `records` is")
    into: str = Field(description="the key each record gets: the list of its rows (what the mapping reads)")
    key: str = Field(description="the path, in a row, of the value that names its record")
    parent_key: str | None = Field(
        default=None,
        description="the path, in a record, of the value a row's key equals (default: `key`); there an object is "
        "read at `key` too (JSON:API's `relationships.x.data`), and a list names its rows in its order (a to-many "
        "relationship, a list of ids)",
    )

    @model_validator(mode="after")
    def _paths(self) -> NestSpec:
        for name in ("path", "key", "parent_key"):
            if (value := getattr(self, name)) is not None:
                check_path(value, f"nest.{name}")
        if not self.into or any(c in self.into for c in ".[]"):
            raise ValueError("nest.into is one key (the mapping reads it as a list: `each`)")
        return self


class RecordErrorsSpec(Spec):
    """Errors the answer lists beside its records, each naming by a path the record it belongs to: GraphQL's
    partial results (`{"data": {...}, "errors": [{"message": ..., "path": ["list", "edges", 3, "node", "x"]}]}`).
    Such an error costs its record alone, quarantined naming the field with the system's message; an error that
    names no record is left to `errors`. The defaults are the GraphQL specification's."""

    path: str = Field(default="errors", description="the list of errors in the answer")
    at: str = Field(
        default="path", description="in each error, its path: a list of keys and indexes, starting at `root`"
    )
    root: str = Field(default="data", description="where in the answer the errors' paths start")
    message: str = Field(default="message", description="in each error, the system's message")

    @model_validator(mode="after")
    def _paths(self) -> RecordErrorsSpec:
        for name in ("path", "at", "message"):
            check_path(getattr(self, name), f"record_errors.{name}")
        if self.root:
            check_path(self.root, "record_errors.root")
        return self


def distinct_columns(value: list[str] | None) -> list[str] | None:
    """Columns named in the registry: at least one, each once (a name given twice would take one cell's place)."""
    if value is not None:
        twice = sorted({c for c in value if value.count(c) > 1})
        if twice or not value:
            raise ValueError(f"columns must be named once each: {twice}" if twice else "no columns named")
    return value


class RowsSpec(Spec):
    """Records sent as rows: each an array of cells, its columns named elsewhere (DataTables' server-side
    `data: [["HS-001", …], …]`, jqGrid's `rows: [{"id": "17", "cell": […]}]`, ClickHouse's JSONCompact with
    `meta`, a spreadsheet's `values` under a header row, Frappe's `{keys, values}`). Each row becomes the object
    {column: cell} before anything maps it, and is staged as that object. A row shorter than the columns lacks
    its last ones (a spreadsheet API leaves trailing empty cells out); a longer one with a filled cell past them
    costs its record, that cell kept as `_<position>` (from 1); a row that is no list costs its record. Columns
    the answer names wrongly (twice, empty, not at `columns_path`) refuse the page: every record would be
    wrong."""

    columns: list[str] | None = Field(
        default=None,
        description="the columns' names, in the rows' order (a DataTables screen's column order); with `header`, "
        "used instead of the header row's",
    )
    columns_path: str | None = Field(
        default=None,
        description="where the answer lists its columns, in the rows' order, read in the same document as "
        "`records` (ClickHouse's `meta`, Frappe's `keys`): each a text, or an object whose name is at "
        "`column_name_path`",
    )
    column_name_path: str = Field(
        default="name",
        description="`columns_path`: in a column given as an object, the path of its name (ClickHouse's `name`)",
    )
    header: bool = Field(
        default=False,
        description="the first row of each page names the columns (a spreadsheet's values) and is no record",
    )
    cells_path: str | None = Field(
        default=None,
        description="each record is an object holding its row at this path (jqGrid's `cell`): the record's "
        "other keys (jqGrid's `id`) are kept beside the named cells",
    )

    _distinct = field_validator("columns")(classmethod(lambda cls, v: distinct_columns(v)))

    @model_validator(mode="after")
    def _named_once(self) -> RowsSpec:
        for name in ("columns_path", "column_name_path", "cells_path"):
            if (path := getattr(self, name)) is not None:
                check_path(path, f"rows.{name}")
        if self.columns is not None and self.columns_path is not None:
            raise ValueError(
                "rows: `columns` and `columns_path` both name the columns: keep the one that holds"
            )
        if self.columns_path is not None and self.header:
            raise ValueError(
                "rows: `columns_path` names the columns, and `header: true` would read the first row as "
                "names too: keep one"
            )
        if self.columns is None and self.columns_path is None and not self.header:
            raise ValueError(
                "rows: say how the columns are named: `columns` (in order), `columns_path` (where the answer "
                "lists them) or `header: true` (the first row)"
            )
        if "column_name_path" in self.model_fields_set and self.columns_path is None:
            raise ValueError(
                "rows.column_name_path reads the names listed at `columns_path`, which is not set"
            )
        steps = parse_steps(self.cells_path)[0] if self.cells_path is not None else ("",)
        if not steps or not isinstance(steps[0], str):
            raise ValueError("rows.cells_path starts with a key of the record (jqGrid's `cell`)")
        return self


class RecordsSpec(Spec):
    path: str = Field(
        default="",
        description="the list of records in the answer ('' = the answer is the list); an object keyed by "
        'position (`{"40": {…}, "41": {…}}`, as PHP writes a filtered array) is read as that list',
    )
    filter: Condition | None = Field(default=None, description="keep only the items for which this holds")
    one_as_object: bool = Field(
        default=False,
        description="an object where the list should be is a list of that one record: JSON converted from XML "
        "(PHP's json_encode of SimpleXML, Newtonsoft's SerializeXmlNode) writes a single child so",
    )
    nest: list[NestSpec] = Field(
        default=[], description="child rows sent beside the records, joined to each record by a key"
    )
    empty_when: Condition | None = Field(
        default=None,
        description="an answer without the records' path is a page without records when this holds (HAL, as "
        "Spring HATEOAS writes an empty page, leaves `_embedded` out: `{path: page.totalElements, equals: 0}`); "
        "else such an answer is refused",
    )
    record_errors: RecordErrorsSpec | None = Field(
        default=None,
        description="errors listed beside the records, each naming its record by a path (`graphql` or `{}`: "
        "GraphQL's `errors[].path` from `data`): each costs its record alone (JSON answers)",
    )
    rows: RowsSpec | None = Field(
        default=None,
        description="each record is a row, an array of cells, its columns named by the registry, the answer or "
        "its first row (DataTables, jqGrid, ClickHouse's JSONCompact): read as the object {column: cell} "
        "(JSON answers). A row shorter than the columns lacks its last ones; a row that is no list, or has a "
        "filled cell past the columns (kept as `_<position>`), costs its record; columns the answer names twice, "
        "empty or nowhere refuse the page",
    )

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        check_path(value, "records")
        if value and any(isinstance(step, Where) for step in parse_steps(value)[0]):
            raise ValueError(
                "records: a path with a filter ([?(@.k=='v')]): keep records with `filter` instead"
            )
        return value

    @field_validator("record_errors", mode="before")
    @classmethod
    def _graphql(cls, value: Any) -> Any:
        return {} if value == "graphql" else value

    @model_validator(mode="after")
    def _record_errors_reach_the_records(self) -> RecordsSpec:
        if self.record_errors is not None and self.rows is not None and self.rows.header:
            raise ValueError(
                "record_errors name records by their place in the answer's list, where a header row comes first"
            )
        if self.record_errors is not None:
            root = parse_steps(self.record_errors.root)[0] if self.record_errors.root else ()
            if not self.path or parse_steps(self.path)[0][: len(root)] != root:
                raise ValueError(
                    f"record_errors: the records ({self.path or 'the answer'!r}) are not below its root "
                    f"{self.record_errors.root!r}: no error's path could name one"
                )
        return self


class IncrementalSpec(Spec):
    format: str = Field(
        default="iso",
        description="how {start} and {end} are written, in the source's timezone: iso, epoch_s, epoch_ms, dotnet "
        "(`/Date(ms)/`, as WCF and OData v2 write it), excel (a spreadsheet's serial day number) or a pattern of yyyy MM dd HH mm ss (e.g. "
        "`yyyy-MM-dd HH:mm:ss`, `dd/MM/yyyy`; a 12-hour clock with hh and tt, written AM/PM: "
        "`M/d/yyyy h:mm:ss tt`; text in single quotes is literal; yy is the year's last two digits, MMM and MMMM "
        "the month's English abbreviation and name in upper case: `dd-MMM-yy` is Oracle's DD-MON-RR, `05-DEC-26`)",
    )
    step: Duration | None = Field(
        default=None,
        description="split the window into slices of at most this long (a system that caps a query)",
    )
    as_text: bool = Field(
        default=False,
        description="write a number ({start} and {end} as epoch_s, epoch_ms or excel) as its text, where the "
        "system types values by a wrapper and wants a string inside it, a JSON number refused: DynamoDB's "
        '`{N: "{start}"}`, MongoDB Extended JSON\'s `{$date: {$numberLong: "{start}"}}`',
    )

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        from mappings.dates import window_format

        window_format(value)
        return value

    @field_validator("step")
    @classmethod
    def _step(cls, value: Any) -> Any:
        if value is not None and value.total_seconds() <= 0:
            raise ValueError("step is a positive duration (30m, 6h, 1d)")
        return value


class ResumeSpec(Spec):
    """A system that keeps the reader's place itself: its last page gives a link or a cursor (Microsoft Graph's
    `@odata.deltaLink`, Zendesk's `after_cursor`) from which the next run reads only what changed since."""

    path: str = Field(
        description="where the last page of a read gives the place the next run starts from: a link "
        "(next_link paginator: the next run's first page is that URL, on the connection's host) or a cursor "
        "(cursor paginator: the next run's first page is asked as a page after the first, `next_request` or "
        "`request`, with it as {cursor}). Kept with the watermark, in the load's transaction: a run whose load "
        "fails keeps the place it started from. A read whose last page gives none leaves the next run to read "
        "its window afresh; backfills neither use nor move it"
    )
    expired: list[int] = Field(
        default=[410],
        description="HTTP statuses by which the system says the kept place is no longer good (Graph's 410 Gone, "
        "`resyncRequired`): the run forgets it and reads its window afresh, from the first request (a full read "
        "for a system whose request sends no window); any other failure fails the run, the place kept",
    )

    _path = field_validator("path")(classmethod(lambda cls, v: check_path(v, "resume.path")))

    @field_validator("expired")
    @classmethod
    def _statuses(cls, value: list[int]) -> list[int]:
        if any(not 400 <= code <= 599 for code in value):
            raise ValueError(f"expired: HTTP error statuses are 400 to 599, not {value}")
        return value


class ErrorRule(Spec):
    when: Condition = Field(description="the answer is an error when this holds")
    message: str | None = Field(default=None, description="the path of the vendor's message")
    code: str | None = Field(default=None, description="the path of the vendor's error code")
    means: Literal["auth", "transient", "error"] = Field(
        default="error",
        description="auth: credentials refused (fail fast, or log in again); transient: retried with backoff; "
        "error: the run fails",
    )
    status: list[int] = Field(
        default=[],
        description="a REST source's JSON answers: the HTTP statuses whose answers this rule reads, instead of 2xx "
        "ones — DynamoDB and the other AWS JSON APIs answer every error with 400 and a `__type`, a "
        "ThrottlingException to retry as an UnrecognizedClientException to fail fast; an answer of such a status "
        "that no rule explains is what its status says (401/403 credentials, 429/5xx retried, others fail)",
    )

    @model_validator(mode="after")
    def _paths(self) -> ErrorRule:
        if any(not 200 <= code <= 599 for code in self.status):
            raise ValueError(f"status: HTTP statuses are 200 to 599, not {self.status}")
        for path in (self.message, self.code):
            if path:
                check_path(path, "path")
        return self


class EmbeddedSpec(Spec):
    """An answer whose data is a document written as text inside it: an ASMX or WCF method that returns
    `string`, a JSON API whose `data` is a JSON-encoded string, an ASP.NET DataSet's XML escaped in an element."""

    path: str = Field(
        description="where the text is in the answer as received ('' = the answer is that text)"
    )
    format: Literal["json", "xml"] = Field(
        description="what the text is: JSON, or XML (read as safely as an answer: no DTD, no entities; local-name "
        "paths below its root element, attributes as `@name`)"
    )
    base64: bool = Field(
        default=False,
        description="the text is base64 of the document's bytes (JSON read as UTF-8; XML as it declares)",
    )
    errors: list[ErrorRule] = Field(
        default=[],
        description="error envelopes inside the embedded document (the source's `errors` read the answer as "
        "received, first)",
    )

    _path = field_validator("path")(classmethod(lambda cls, v: check_path(v, "embedded.path")))


def _records(value: Any) -> Any:
    return {"path": value} if isinstance(value, str) else value


class PagedSpec(Spec):
    """What every paged request/answer system declares, whatever writes its requests (REST and XML templates,
    a SOAP operation): where the records are, how pages follow, the window, error envelopes, the charset."""

    records: RecordsSpec = Field(
        default=RecordsSpec(), description="where the records are: a path, or {path, filter, nest}"
    )
    paginator: PaginatorSpec = Field(description="how the next page is asked for and when to stop")
    incremental: IncrementalSpec | None = Field(
        default=None, description="the window sent as {start}/{end}: its format and slicing"
    )
    errors: list[ErrorRule] = Field(
        default=[], description="error envelopes in 2xx answers; the first match wins"
    )
    charset: str | None = Field(default=None, description="the answers' charset when it is not UTF-8")
    embedded: EmbeddedSpec | None = Field(
        default=None,
        description="the answer's data is a JSON or XML document written as text at a path of it: `records` and "
        "the paginator's paths are read in that document (a paginator path it lacks, in the answer itself)",
    )

    _coerce_records = field_validator("records", mode="before")(classmethod(lambda cls, v: _records(v)))

    @field_validator("charset")
    @classmethod
    def _charset(cls, value: str | None) -> str | None:
        if value is not None:
            import codecs

            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown charset {value!r}") from None
        return value

    @model_validator(mode="after")
    def _embedded_records(self) -> PagedSpec:
        if self.embedded is not None and self.embedded.format == "xml" and not self.records.path:
            raise ValueError(
                "an embedded XML document needs `records`: the record element's path below its root "
                "(Table, for <NewDataSet><Table>…)"
            )
        return self

    def check_placeholders(self, used: set[str], where: str, page: bool = True) -> None:
        """The placeholders a request template uses fit the paginator and the window (`page`: it is the page
        request, which must send what paging and the window need; else, a paginator's own request, it only uses
        known ones)."""
        from difflib import get_close_matches

        for name in sorted(used - PLACEHOLDERS):
            near = get_close_matches(name, PLACEHOLDERS, n=1)
            hint = f" (did you mean {{{near[0]}}}?)" if near else ""
            raise ValueError(
                f"unknown placeholder {{{name}}} in {where}{hint}; known: {sorted(PLACEHOLDERS)}"
            )
        if "last" in used and self.paginator.type not in ("page_number", "offset"):
            raise ValueError(
                f"{{last}} in {where} is the last index of a page ({{offset}} + {{page_size}} - 1): it needs a "
                f"page_number or offset paginator, not {self.paginator.type}"
            )
        if not page:
            return
        needed = _PLACEHOLDER_OF.get(self.paginator.type)
        if needed == "cursor" and self.paginator.next_request is not None:
            needed = None  # the pages after the first are asked by next_request, which sends it
        if needed and needed not in used:
            raise ValueError(f"a {self.paginator.type} paginator needs {{{needed}}} somewhere in {where}")
        if self.incremental is not None and not used & {"start", "end"}:
            raise ValueError(f"incremental is declared but {where} never sends {{start}} or {{end}}")
        if self.incremental is None and used & {"start", "end"}:
            raise ValueError(f"{where} sends {{start}}/{{end}}: declare `incremental:` (at least its format)")


class DetailRules(Spec):
    """A system whose list gives each dossier's summary, and one call per dossier its whole record (its history,
    fees, documents): dlt's resolved parameters, Airbyte's substreams. Each listed record's detail is read and
    written over it before anything maps it; a detail that cannot be read costs its record alone. What every
    detail call declares, whatever writes it (connectors.detail)."""

    values: dict[str, str] = Field(
        description="each placeholder of the detail call and the path of its value in the listed record: "
        "`{id: id}`, `{ma: hoSo.maHoSo}` (REST: written into the URL path percent-encoded)"
    )
    record: str = Field(
        default="", description="where the dossier is in the detail answer ('' = the answer is the dossier)"
    )
    into: str | None = Field(
        default=None,
        description="the key of the listed record that gets the detail; absent: the detail's keys are written "
        "over the listed record's",
    )
    errors: list[ErrorRule] = Field(
        default=[],
        description="error envelopes in the detail's answers (`means: error` costs that record)",
    )
    parallel: int = Field(
        default=2, ge=1, le=16, description="detail calls in flight at once (the source's `rate_limit` holds)"
    )
    skip: Condition | None = Field(
        default=None,
        description="no detail call for a listed record where this holds (a deletion: there is nothing to read; "
        "the mapping's `record.deleted` recognizes it)",
    )

    def check_sent(self, used: set[str], also: set[str]) -> None:
        """The detail call sends values of the listed record, and only placeholders it has (`also`: its
        credentials)."""
        for name, path in self.values.items():
            check_path(path, f"detail.values.{name}")
        check_path(self.record, "detail.record")
        if self.into is not None and (not self.into or any(c in self.into for c in ".[]")):
            raise ValueError("detail.into is one key (the mapping reads the detail below it)")
        if unknown := sorted(used - set(self.values) - also):
            raise ValueError(
                f"detail.request uses {{{unknown[0]}}}, which `detail.values` does not name (it names "
                f"{sorted(self.values)}; a page's placeholders are not sent to a detail call)"
            )
        if not used & set(self.values):
            raise ValueError(
                "detail.request sends no value of the listed record: every record would get the same detail"
            )


class DetailSpec(DetailRules):
    request: RequestSpec = Field(
        description="the detail call (a template): placeholders are the names in `values`, and {token}"
    )

    @model_validator(mode="after")
    def _consistent(self) -> DetailSpec:
        self.check_sent(self.request.names(), {"token"})
        return self


class TableSpec(Spec):
    """A record per row, whatever writes the rows (CSV text, a spreadsheet): how its columns are named."""

    header: bool = Field(
        default=True, description="the first row names the columns (a nameless one: `_<position>`)"
    )
    columns: list[str] | None = Field(
        default=None,
        description="the columns' names, in order: instead of the header's (it is still skipped), or where there "
        "is none; needed when a header names a column twice",
    )
    skip_rows: int = Field(
        default=0, ge=0, le=100,
        description="rows above the header to leave out (a report's title, its date line); blank rows are always "
        "left out",
    )  # fmt: skip
    required_columns: list[str] = Field(
        default=[],
        description="columns the header must name: an answer whose first row lacks one is no export (an error "
        "said in a line of text with HTTP 200, a page of another report) and is refused whole, its first row "
        "quoted, rather than read as a page without rows",
    )
    min_cells: int = Field(
        default=1, ge=1, le=1000,
        description="a row below the header with fewer filled cells is a printed report's layout (a subtotal "
        "line, a signature, a note under the table), left out; a dossier row with some cells empty is still a "
        "record, quarantined naming its missing fields (which a `records.filter` on its id cell would drop unseen)",
    )  # fmt: skip
    json_columns: list[str] = Field(
        default=[],
        description="columns whose cells are JSON text (a list or an object, as mongoexport writes them): read as "
        "such, an empty cell as missing; a cell that is not JSON costs its record",
    )

    _distinct = field_validator("columns")(classmethod(lambda cls, v: distinct_columns(v)))

    @model_validator(mode="after")
    def _named(self) -> TableSpec:
        if not self.header and self.columns is None:
            raise ValueError("without a header row, `columns` names the columns")
        if self.required_columns and not self.header:
            raise ValueError("`required_columns` checks a header row: it needs `header: true`")
        return self


class ArchiveSpec(Spec):
    """An export that comes packed (`answer: csv`, `ndjson` or `spreadsheet`): a ZIP archive of files, or one
    gzip-compressed file, each read as an answer of its own, their records one after another."""

    format: Literal["zip", "gzip"] = Field(
        description="zip (an archive of files: a CSV per day or per table, an xlsx) or gzip (one compressed file; "
        "not `Content-Encoding: gzip`, which every answer may use)"
    )
    members: str = Field(
        default="*",
        min_length=1,
        description="zip: the files read, by their name without folders (`*.csv`, `hoso_*.xlsx`; case ignored); "
        "the others (a README) are left out",
    )


class CsvSpec(TableSpec):
    """How a CSV answer is written: an export endpoint's, a spreadsheet saved as CSV (`;` in Vietnamese Excel),
    Excel's "Unicode Text" (UTF-16, tab), mongoexport's (nested fields as dotted names, lists as JSON text)."""

    delimiter: str = Field(
        default=",", min_length=1, max_length=1, description="the field separator: , ; | or a tab"
    )
    quote: str = Field(default='"', min_length=1, max_length=1, description="the quote around a field")

    @model_validator(mode="after")
    def _readable(self) -> CsvSpec:
        if self.delimiter == self.quote or self.delimiter in "\r\n" or self.quote in "\r\n":
            raise ValueError("the delimiter and the quote are two characters, neither a line break")
        return self


class SheetSpec(TableSpec):
    """A spreadsheet answer (an "Xuất Excel" endpoint): xlsx, xls (Excel 97-2003), ods or XML Spreadsheet 2003, one
    sheet of it; or, with `html`, an HTML page of tables."""

    sheet: str | None = Field(
        default=None,
        description="the sheet's name (default: the first); with `html`, the table's id, its caption, or `Table<n>` "
        "(n from 1, in the page's order)",
    )
    html: bool = Field(
        default=False,
        description="the export is an HTML page of tables that Excel opens (ASP.NET WebForms' GridView or PHP "
        "rendered as application/vnd.ms-excel): each table a sheet; needs `sheet`, so that a page without that "
        "table (a login page) is refused, not read as rows",
    )
    nest: list[NestSpec] = Field(
        default=[],
        description="sheets of child rows (a dossier's steps, its fees), each joined to its record by a key: "
        "`path` is the sheet's name; each sheet's first row (after `skip_rows`) names its columns",
    )

    @model_validator(mode="after")
    def _named_table(self) -> SheetSpec:
        if self.html and not self.sheet:
            raise ValueError("`html: true` needs `sheet`: the table's id, caption or Table<n>")
        return self


class RestSpec(PagedSpec):
    request: RequestSpec = Field(description="the page request (a template)")
    auth: AuthSpec = Field(
        default=AuthSpec(), description="credentials, from the source's Airflow connection"
    )
    answer: Literal["json", "xml", "ndjson", "csv", "spreadsheet", "xmlrpc"] = Field(
        default="json",
        description="what the answers are: json, xml (read streaming, safely; `records` and every path are "
        "local-name paths below the root element, attributes as `@name`), ndjson (a JSON record per line), csv "
        "(a record per row, see `csv`) or spreadsheet (xlsx, xls or ods: a record per row of a sheet, see "
        "`sheet`) or xmlrpc (a methodResponse, read safely into plain values: its parameter is the document the "
        "paths read, a fault `{fault: {faultCode, faultString}}`); ndjson, csv and spreadsheet have no envelope: "
        "paged by numbers or offsets to a short or empty page, a cursor header, the Link header",
    )
    csv: CsvSpec | None = Field(default=None, description="`answer: csv`: how its rows are written")
    archive: ArchiveSpec | None = Field(
        default=None,
        description="`answer: csv`, `ndjson` or `spreadsheet` that comes packed: a ZIP archive (its files' records "
        "one after another) or a gzip file; unpacked in memory, at most 1000 files and 64 MiB",
    )
    sheet: SheetSpec | None = Field(
        default=None, description="`answer: spreadsheet`: which sheet, its columns"
    )
    detail: DetailSpec | None = Field(
        default=None,
        description="a call per listed record for its whole dossier (the list gives summaries), answered as the "
        "pages are (JSON, or XML for `answer: xml`); not made for a listed record whose id and update time (read "
        "by the mapping from the summary) the unified database holds as listed",
    )
    resume: ResumeSpec | None = Field(
        default=None,
        description="the next run starts where the last read ended, at a link or cursor its last page gave "
        "(a delta link, an incremental export's cursor), not at the watermark's time; JSON answers, cursor or "
        "next_link paging",
    )

    @model_validator(mode="after")
    def _consistent(self) -> RestSpec:
        used = self.request.names()
        self.check_placeholders(used, "request")
        if any(rule.status for rule in self.errors) and (self.answer != "json" or self.embedded is not None):
            raise ValueError(
                "errors[].status reads the JSON body of an HTTP error answer: it needs `answer: json` without "
                "`embedded`"
            )
        nested = [
            *(self.embedded.errors if self.embedded else []),
            *(self.detail.errors if self.detail else []),
        ]
        if any(rule.status for rule in nested):
            raise ValueError(
                "`status` is read by the source's own `errors` only (not embedded's or detail's)"
            )
        structured = self.paginator.cursor_type in ("object", "list")
        asked = (self.request, *self.paginator.requests().values())
        if structured and any("cursor" in placeholders([r.path, r.query, r.headers]) for r in asked):
            raise ValueError(
                f"cursor_type: {self.paginator.cursor_type}: {{cursor}} goes in a JSON body, not in the path, query "
                "or headers, where it would be JSON text in a URL or a header, its key's values (an id number) "
                "written in logs and proxies"
            )
        for key, request in self.paginator.requests().items():
            names = request.names()
            self.check_placeholders(names, f"paginator.{key}", page=False)
            used = used | (names - {"cursor"})
        for request in (self.request, *self.paginator.requests().values()):
            if "password" in placeholders([request.path, request.query]):
                raise ValueError(
                    "{password} goes in a header or the body, never in the path or the query: a URL is written "
                    "in logs and proxies"
                )
        in_answer = [p for p in self.paginator.paths().values() if not p.startswith(HEADER)]
        around = self.records.path or self.embedded is not None or self.errors or in_answer
        rows = {"ndjson": "an NDJSON answer", "csv": "a CSV answer", "spreadsheet": "a spreadsheet"}
        if self.answer in rows and around:
            raise ValueError(
                f"{rows[self.answer]} is its records, one per line or row, with nothing around them: no `records` "
                "path, `embedded`, `errors` or paginator path (page to a short or empty page, or by a cursor header "
                "or the Link header)"
            )
        for key, answer in (("csv", "csv"), ("sheet", "spreadsheet")):
            if getattr(self, key) is not None and self.answer != answer:
                raise ValueError(
                    f"`{key}` says how a {answer} answer is written: it needs `answer: {answer}`"
                )
        if self.archive is not None and self.answer not in rows:
            raise ValueError(
                "`archive` unpacks an answer of rows: it needs `answer: csv`, `ndjson` or `spreadsheet`"
            )
        if self.resume is not None:
            if self.paginator.type not in ("cursor", "next_link"):
                raise ValueError(
                    "resume starts the next run at a link or a cursor: it needs a cursor or next_link paginator, "
                    f"not {self.paginator.type}"
                )
            if self.answer != "json":
                raise ValueError("resume reads its link or cursor in a JSON answer: it needs `answer: json`")
            if self.paginator.cursor_type in ("object", "list"):
                raise ValueError(
                    "resume keeps a text (a link, a cursor): cursor_type object or list cannot be kept"
                )
        if self.records.record_errors is not None and self.answer != "json":
            raise ValueError("records.record_errors reads errors beside the records of a JSON answer")
        embedded_xml = self.embedded is not None and self.embedded.format != "json"
        if self.records.rows is not None and (self.answer not in ("json", "xmlrpc") or embedded_xml):
            raise ValueError(
                "records.rows reads rows of cells in a JSON (or XML-RPC) answer; CSV and spreadsheet rows are "
                "named by `csv` and `sheet`, XML records by their elements"
            )
        if self.answer == "xml" and self.embedded is None and not self.records.path:
            raise ValueError(
                "an XML answer needs `records`: the record element's path below the root (DanhSach.HoSo)"
            )
        if (
            "token" in (used | (self.detail.request.names() if self.detail else set()))
            and self.auth.type != "login"
        ):
            raise ValueError(
                "{token} is the token of a `login` auth; this source's auth is " + self.auth.type
            )
        if self.auth.type == "login" and not (
            self.auth.header or self.auth.cookie_session or "token" in used
        ):
            raise ValueError(
                "login auth: say where the token goes (auth.header, or {token} in the request), "
                "or leave out token_path for a cookie session"
            )
        return self


class XmlSpec(RestSpec):
    """A legacy XML-over-HTTP system: the REST language, with XML answers."""

    answer: Literal["xml"] = Field(default="xml", description="xml (kind xml reads XML answers)")
