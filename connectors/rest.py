"""REST JSON and legacy XML-over-HTTP district systems, declared in the registry (connectors.spec.rest): a request
template and auth; records, paging, the window and error envelopes as every paged system has them
(connectors.paging).
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from connectors.archives import unpack
from connectors.auth import Authenticator, require_credentials
from connectors.base import RawRecord
from connectors.connection import Connection
from connectors.detail import DetailReader, rest_fetch
from connectors.errors import ConnectorError, ProtocolError
from connectors.http import Answer, HttpClient, parse_json
from connectors.jsonpage import PageReader, read_lines
from connectors.paging import Found, PagedSource, check_errors
from connectors.rows import read_csv, read_sheet, refuse_markup
from connectors.safexml import read_document, scan_answer
from connectors.spec.request import RequestSpec
from connectors.spec.rest import CsvSpec, RestSpec, SheetSpec
from connectors.templates import render
from connectors.xmlrpc import read_answer as read_xmlrpc
from mappings.paths import parse_steps
from schemas.personal_data import quote_answer

log = logging.getLogger(__name__)


class RestSource(PagedSource):
    """Reads one district system's records updated within a window, page by page."""

    spec: RestSpec

    def __init__(self, name: str, spec: RestSpec, conn: Connection, client: HttpClient, tz: ZoneInfo) -> None:
        self.name, self.spec, self.client, self.tz = name, spec, client, tz
        self.authenticator = Authenticator(
            spec.auth, conn, client, check=self.check, answer=spec.answer, charset=spec.charset
        )
        requests = [spec.request, *spec.paginator.requests().values()]
        names = set().union(*(r.names() for r in requests))
        self._uses_token = "token" in names
        # A system that takes the credentials with every call ({login}/{password} in its request's body or
        # headers): they join the values of each request, never the paging state.
        sent = names & {"login", "password"}
        require_credentials(conn, "sent with every call", sent, source=name)
        self._credentials = {n: getattr(conn, n) for n in sent}
        # The records' pages: the answers themselves, or the documents embedded in them (`embedded`).
        self._pages = PageReader(name, spec.records.path, spec.records.rows)
        # HTTP error answers that an `errors` rule reads (its `status`), let through to _read
        explained = frozenset(code for rule in spec.errors for code in rule.status)
        self._explained = (lambda a: a.status in explained) if explained else None
        self._answers = PageReader(name, spec.embedded.path) if spec.embedded else None
        if spec.detail is not None:
            fetch = rest_fetch(
                name, spec.detail, client, self.authenticator, spec.charset, spec.answer == "xml"
            )
            self.details = DetailReader(name, spec.detail, fetch)

    def leave_records_unparsed(self) -> bool:
        """For a reader whose records are parsed where they are normalized (the extract's workers): its JSON
        pages are only split into their records' texts (jsonpage.PageReader.unparsed). Not when something reads
        inside the records while paging: a records filter, nested rows, errors naming records, a paging or error path
        that goes into the list; nor when the records are rows, named by columns the page holds."""
        spec = self.spec
        records_read = (
            spec.records.filter is not None
            or spec.records.nest
            or spec.records.record_errors
            or spec.records.rows
        )
        if spec.answer != "json" or records_read or spec.detail:
            return False
        records = parse_steps(self.spec.records.path)[0] if self.spec.records.path else ()
        paths = list(self.spec.paginator.paths().values())
        for rule in self.spec.errors:
            paths += [rule.when.path, rule.message, rule.code]
        if spec.records.empty_when is not None:
            paths.append(spec.records.empty_when.path)
        if spec.paginator.last_page_when is not None:
            paths.append(spec.paginator.last_page_when.path)
        if spec.resume is not None:
            paths.append(spec.resume.path)
        if any(path and parse_steps(path)[0][: len(records)] == records for path in paths):
            return False
        self._pages.unparsed = True
        return True

    def _read(self, operation: str, answer: Answer) -> tuple[Any, Answer, Found]:
        """The answer's document (XML: all but the records), checked against the error rules, and an XML
        answer's records (read in chunks once the whole answer has proved sound). With `embedded`, the answer is
        read whole, checked, then the document written inside it is read (PagedSource.unwrap). 204 No Content is
        a page without records, as ASP.NET's and Spring's `NoContent()` answer a list with nothing in it."""
        if answer.status == 204:
            return {}, answer, []
        if answer.status >= 400:  # let through by `errors[].status` (_fetch): explained by a rule, or refused
            self._explain(operation, answer)
        if self.spec.answer == "xmlrpc":
            document = read_xmlrpc(self.name, answer.body)
            self.check(operation, document)
            if isinstance(document, dict) and isinstance(fault := document.get("fault"), dict):
                raise ProtocolError(  # no `errors` rule said what it means: it fails the page
                    self.name,
                    f"{operation}: XML-RPC fault {fault.get('faultCode')}: "
                    f"{quote_answer(str(fault.get('faultString')), 1024)}",
                )
            return document, answer, None
        if self.spec.answer in ("ndjson", "csv", "spreadsheet"):  # no envelope to read or check
            if self.spec.archive is None:
                return {}, answer, self._rows(answer.body, answer)
            what = "a ZIP archive" if self.spec.archive.format == "zip" else "gzip-compressed"
            content_type = answer.headers.get("Content-Type") or ""
            refuse_markup(
                self.name,
                answer.head(2048),
                content_type,
                self.spec.charset or answer.other_charset,
                what,
                text=False,
            )
            rows: list[RawRecord] = []
            for _name, body in unpack(self.name, answer.body, self.spec.archive):
                rows += self._rows(body, None)
            return {}, answer, rows
        if self._answers is not None:
            if self.spec.answer == "xml":
                outer = read_document(answer.stream(), self.name, self.spec.charset)
            else:
                outer, _ = self._answers.read(
                    answer.body, operation, self.spec.charset or answer.other_charset
                )
            self.check(operation, outer)
            unwrapped, records = self.unwrap(operation, outer)
            return unwrapped, answer, records
        if self.spec.answer == "xml":
            document, found = scan_answer(
                answer.stream(), self.spec.records.path, self.name, self.spec.charset
            )
            self.check(operation, document)
            return document, answer, found
        document, raw = self._pages.read(answer.body, operation, self.spec.charset or answer.other_charset)
        self.check(operation, document)
        return document, answer, raw

    def _explain(self, operation: str, answer: Answer) -> NoReturn:
        """An HTTP error answer whose JSON body an `errors` rule with its status explains (DynamoDB's 400 with a
        `__type`), raised as the rule says; else what its status means, as for any source."""
        try:  # read as the source's answers are (its charset, an anti-XSSI prefix, nesting past any parser)
            document = parse_json(self.name, operation, answer, self.spec.charset)
        except ProtocolError:
            document = None  # not JSON: no rule explains it
        check_errors(self.name, self.spec.errors, operation, document, answer.status)
        raise self.client.refusal(operation, answer)

    def _rows(self, body: bytes, answer: Answer | None) -> list[RawRecord]:
        """The records of an answer of rows (NDJSON, CSV, a spreadsheet), or of one file of an archive (`answer`
        None: its charset is the source's, its head is checked by the bytes alone)."""
        declared = self.spec.charset or (answer.other_charset if answer is not None else None)
        if self.spec.answer == "spreadsheet":
            charset = self.spec.charset or (answer.charset if answer is not None else None)  # an HTML page's
            return read_sheet(self.name, body, self.spec.sheet or SheetSpec(), charset)
        what = "NDJSON" if self.spec.answer == "ndjson" else "CSV"
        content_type = (answer.headers.get("Content-Type") or "") if answer is not None else ""
        refuse_markup(self.name, body[:2048], content_type, declared, what)
        if self.spec.answer == "ndjson":
            return read_lines(body, declared)
        return read_csv(self.name, body, self.spec.csv or CsvSpec(), declared)

    # --- requests --------------------------------------------------------------------------------------------

    def _request(
        self, values: dict[str, Any], request: RequestSpec | None = None
    ) -> tuple[str, str, dict[str, Any]]:
        request = request or self.spec.request
        method, path, kwargs = request.rendered(values)
        if path is None:
            raise ProtocolError(self.name, f"request path {request.path!r} needs a value it does not have")
        return method, path, kwargs

    def _release(self, values: dict[str, Any]) -> None:
        """Tell the system the read is over (`paginator.release`, Elasticsearch's `DELETE /_search/scroll`), so
        that it frees the cursor's context now rather than when it expires. Best effort: the read's outcome is
        decided; a failure here is logged (the cursor is not: it may be a megabyte), never raised."""
        release = self.spec.paginator.release
        assert release is not None
        try:
            if self._uses_token:
                values = {**values, "token": self.authenticator.token()}
            method, path, kwargs = self._request({**values, **self._credentials}, release)
            self.client.call(
                method,
                path,
                operation="release",
                read=lambda a: None,
                retry=False,
                **self.authenticator.apply(kwargs),
            )
        except ConnectorError as exc:
            log.warning(
                "%s: the release call (paginator.release) failed: %s", self.name, quote_answer(str(exc), 1024)
            )

    def _fetch(self, values: dict[str, Any], next_url: str | None) -> tuple[str, str, Any, Answer, Found]:
        """One page's call with credentials; a token the system refuses mid-sync is renewed once."""

        def once() -> tuple[str, str, Any, Answer, Found]:
            if self._uses_token:
                values["token"] = self.authenticator.token()
            later = self.spec.paginator.next_request if values.get("cursor") is not None else None
            if next_url is None:
                method, path, kwargs = self._request({**values, **self._credentials}, later)
            else:  # a next link carries its own query: only the headers go with it
                method, path, kwargs = (
                    "GET",
                    next_url,
                    {"headers": render(self.spec.request.headers, values) or None},
                )
            kwargs = self.authenticator.apply(kwargs)
            document, answer, raw = self.client.call(
                method,
                path,
                operation="page",
                read=lambda a: self._read("page", self.authenticator.vet("page", a)),
                accept=self._explained,
                **kwargs,
            )
            return method, path, document, answer, raw

        return self.authenticator.renewing(once)
