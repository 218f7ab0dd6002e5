"""Paged district systems, whatever writes their requests (REST and XML templates, a SOAP operation): the window
cut into slices, pages followed by the paginator the registry declares, error envelopes, the first-page checks.

A subclass says how one page is fetched (`_fetch`); everything after the answer is here. Pages are read one at
a time as a stream; nothing holds more than one page.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import requests

from connectors.base import DETAIL_FIELD, EXCERPT, RawRecord
from connectors.embedded import Headed, Layered, found_at, innermost, read_embedded, value_at
from connectors.errors import AuthError, ConnectorError, ProtocolError, RefusedAnswer, TransientError
from connectors.http import Answer, HttpClient
from connectors.jsonpage import (
    ColumnsRefused,
    PageReader,
    Scanned,
    keyed_list,
    raw_record,
    unreadable_defects,
)
from connectors.nesting import nest_json
from connectors.positional import RowNamer
from connectors.record_errors import mark_record_errors
from connectors.safexml import Records
from connectors.spec.common import as_text, get_path
from connectors.spec.rest import HEADER, ErrorRule, PagedSpec
from mappings.dates import format_datetime
from mappings.paths import parse_steps
from schemas import jsontext
from schemas.personal_data import quote_answer

log = logging.getLogger(__name__)

ERRORS = {"auth": AuthError, "transient": TransientError, "error": ProtocolError}
# A page's records as its reading found them: JSON ones parsed (None: `records` leads to no list), XML ones to be
# read in chunks.
Found = list[RawRecord] | Records | None
MAX_REREADS = 3  # a window read again from its first page when its list shrinks under the read, at most
MAX_SKIPPED_IN_A_ROW = (
    10  # refused pages skipped one after another before the run gives up (a system gone bad)
)
# An HTTP Content-Range (RFC 9110 14.4) as paged lists write it: `items 0-49/250` (Dojo JsonRest, Domino Access
# Services), `0-49/250` (PostgREST, no unit), `*/250` (a range past the end); the total after the `/`, or `*`.
_CONTENT_RANGE = re.compile(r"(?:[A-Za-z][A-Za-z0-9_-]*\s+)?(?:\d+-\d+|\*)/(\d+|\*)")


@dataclass
class PageRead:
    """One page as it was asked for and answered (`onestop source preview` and `config check --live` show it)."""

    number: int  # 1, 2, … within the run
    method: str
    url: str
    answer: Any  # the parsed JSON (XML: the answer without its records)
    records: list[Any] | Records  # XML: the answer's records, read in chunks (len() is known at once)
    headers: dict[str, str] = field(default_factory=dict)
    raw: list[RawRecord] | Records = field(default_factory=list)  # as staged (verbatim JSON or XML text)

    def chunks(self) -> Iterator[list[RawRecord]]:
        """The records as staged: the page's list, or (XML) chunks of it."""
        if isinstance(self.raw, Records):
            yield from self.raw.chunks()
        elif self.raw:
            yield self.raw


def slices(start: datetime | None, end: datetime | None, step: timedelta | None) -> list[tuple[Any, Any]]:
    """The window cut into consecutive slices of at most `step` (one slice without a step or an open bound)."""
    if step is None or start is None or end is None or end - start <= step:
        return [(start, end)]
    cuts, at = [], start
    while at < end:
        cuts.append((at, min(at + step, end)))
        at += step
    return cuts


def _truthy(value: Any) -> bool:
    return as_text(value) not in (None, "", "false", "0", "no")


# Characters of a cursor, as JSON text. Most are keys and tokens of a few hundred; a scroll id held by the system
# grows with the shards it spans (~100 a shard), and goes back in a body. Past this, the system is broken or hostile.
MAX_CURSOR = 1 << 20
# What a kept place (`rest.resume`) may not hold: it goes back in a URL or a header, and is kept in PostgreSQL text.
_UNSENDABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def glimpse(value: str) -> str:
    """A kept link or cursor as a log line or an error may show it: its first characters and its length, never
    whole (a delta token, a cursor: whoever holds one reads the system's changes)."""
    return f"{value[:12]}… ({len(value)} characters)" if len(value) > 12 else "… (short)"


def check_errors(name: str, rules: list[ErrorRule], operation: str, document: Any, status: int = 200) -> None:
    """An error envelope inside a 2xx answer (or, for a rule with `status`, an HTTP error answer of one of its
    statuses), raised as what the registry says it means, with the vendor's code and message verbatim (masked,
    capped)."""
    for rule in rules:
        if not (status in rule.status if rule.status else status < 400):
            continue
        if document is not None and rule.when.holds(document):
            code = get_path(document, rule.code) if rule.code else None
            message = get_path(document, rule.message) if rule.message else None
            said = (
                quote_answer(message if isinstance(message, str) else jsontext.dumps(message))
                if (message is not None)
                else quote_answer(jsontext.dumps(document), 1024)
            )
            prefix = f"{operation}: the system answered an error" + (f" {code}" if code is not None else "")
            raise ERRORS[rule.means](name, f"{prefix}: {said}")


def said_nothing(document: Any, path: str) -> bool:
    """Whether the records path leads, through keys the answer has, to a null (or an empty text): an empty list
    as many systems write it. A key the answer lacks says nothing: the path may be wrong, or the answer an error
    the rules do not know, and the page is refused."""
    if not path:
        return False
    current = document
    for step in parse_steps(path)[0]:
        keyed = isinstance(step, str) and isinstance(current, dict) and step in current
        listed = isinstance(step, int) and isinstance(current, list) and -len(current) <= step < len(current)
        if not (keyed or listed):
            return False
        current = current[step]  # type: ignore[index]
        if current is None:
            return True
    return current == ""


class PagedSource:
    """Reads one district system's records updated within a window, page by page."""

    name: str
    spec: PagedSpec
    client: HttpClient
    tz: ZoneInfo
    on_page: Any = None  # called with each PageRead (preview)
    # Set when an administrator asked to skip refused pages: called with each refusal and where it was, and
    # the read goes on past it (connectors.store.refusals); otherwise a refused page fails the read.
    on_refused: Callable[[RefusedAnswer, dict[str, Any]], None] | None = None
    _page_no = 0  # pages asked for in this read, refused ones included
    _pages: PageReader | None = None  # reads JSON pages whose records are at `records`
    _first_request: dict[str, Any] | None = None  # the values of this read's first page request
    details: Any = None  # a REST source's connectors.detail.DetailReader (`rest.detail`)
    # `rest.resume`: the link or cursor the last run's last page gave, where this read starts (set by the
    # extract); the one this read's last page gave (None: none, the next run reads its window afresh); whether
    # the kept one had expired and this read started afresh.
    resume_from: str | None = None
    resume_next: str | None = None
    resume_expired = False

    def _fetch(self, values: dict[str, Any], next_url: str | None) -> tuple[str, str, Any, Answer, Found]:
        """One page's call: (method, url or path, the answer's document, the answer, its records when they were
        read with the document (XML), else None)."""
        raise NotImplementedError

    def _release(self, values: dict[str, Any]) -> None:
        """The paginator's `release` call with the read's last cursor (a REST source makes it)."""

    # --- answers ---------------------------------------------------------------------------------------------

    def check(self, operation: str, document: Any) -> None:
        check_errors(self.name, self.spec.errors, operation, document)

    def unwrap(self, operation: str, answer: Any) -> tuple[Layered, Found]:
        """The document written as text inside an answer (`embedded`), read and checked (connectors.embedded)."""
        if self._pages is None and self.spec.embedded is not None and self.spec.embedded.format == "json":
            self._pages = PageReader(self.name, self.spec.records.path, self.spec.records.rows)
        unwrapped, found = read_embedded(self.name, self.spec, self._pages, operation, answer)
        check_errors(self.name, self.spec.embedded.errors, operation, unwrapped.document)  # type: ignore[union-attr]
        return unwrapped, found

    def _records(self, document: Any, where: str, filtered: bool = True) -> list[Any]:
        spec = self.spec.records
        document = innermost(document)
        records = get_path(document, spec.path)
        if keyed_list(records) or records == {}:  # a list PHP wrote as an object
            records = list(records.values())
        elif spec.one_as_object and isinstance(records, dict):
            records = [records]  # a single child, as a converter from XML writes it
        if records in (None, "") and said_nothing(document, spec.path):
            records = []  # `"danh_sach": null`, `"data": null`: the system says there is nothing
        elif records is None and spec.empty_when is not None and spec.empty_when.holds(document):
            records = []  # no `_embedded` where the answer says its total is 0: said by the registry
        if not isinstance(records, list):
            if records is None and spec.path and isinstance(document, dict):
                found = f"the answer's keys are {sorted(document)[:20]}"
            else:
                found = f"found {type(records).__name__}"
            raise RefusedAnswer(
                self.name,
                f"no list of records at {spec.path or '(the answer)'!r}: {found}",
                excerpt=jsontext.dumps(document).encode("utf-8", "surrogatepass")[:EXCERPT],
            )
        if spec.filter is not None and filtered:
            records = [r for r in records if spec.filter.holds(r)]
        return records

    def _made(self, document: Any, where: str) -> list[RawRecord]:
        """The records of a document made of the answer (XML-RPC's values, a single record `one_as_object` made a
        list), each with its text written back; rows named by their columns (`records.rows`), before any filter
        reads them."""
        rows = self.spec.records.rows
        listed = self._records(document, where, filtered=rows is None)
        if rows is None:
            return [raw_record(r, jsontext.dumps(r), unreadable_defects(r), raw_text=False) for r in listed]
        scanned: list[Scanned] = [(r, jsontext.dumps(r), unreadable_defects(r), False) for r in listed]
        try:
            return RowNamer(rows, self.spec.records.path).records(innermost(document), scanned)
        except ColumnsRefused as exc:
            excerpt = jsontext.dumps(innermost(document)).encode("utf-8", "surrogatepass")[:EXCERPT]
            raise RefusedAnswer(self.name, str(exc), excerpt=excerpt) from None

    # --- paging ----------------------------------------------------------------------------------------------

    @property
    def _resume(self) -> Any:
        """`rest.resume` (a REST source's; None for XML and SOAP, whose specs have none)."""
        return getattr(self.spec, "resume", None)

    def _bound(self, value: datetime | None) -> Any:
        if value is None or self.spec.incremental is None:
            return None
        written = format_datetime(value, self.spec.incremental.format, self.tz)
        return str(written) if self.spec.incremental.as_text else written

    def read(self, window_start: datetime | None, window_end: datetime | None) -> Iterator[PageRead]:
        """Every page of the window, slice after slice (`incremental.step`), as asked for and answered."""
        step = self.spec.incremental.step if self.spec.incremental else None
        number, self._page_no, self._first_request = 0, 0, None
        at = self.resume_from if self._resume is not None else None
        self.resume_next, self.resume_expired = None, False
        # a kept place reads on from where the last read ended: one read, not the window's slices
        cuts = [(window_start, window_end)] if at else slices(window_start, window_end, step)
        for start, end in cuts:
            pages = self._resumed(start, end, at)
            try:
                for page in pages:
                    number += 1
                    page.number = number
                    if self.on_page is not None:
                        self.on_page(page)
                    yield page
            except RefusedAnswer as exc:
                raise exc.on_page(self._page_no) from exc
            finally:
                pages.close()  # a reader that stops early (a preview) ends the slice now: its cursor is released

    def _resumed(self, start: datetime | None, end: datetime | None, at: str | None) -> Iterator[PageRead]:
        """The slice's pages, from the kept place `at` when there is one (`rest.resume`). The system saying that
        place is gone (`resume.expired`: Graph's 410 `resyncRequired`) starts the read afresh, once: what came
        before it comes again, and the load drops it as unchanged."""
        pages = self._read_slice(start, end, at)
        try:
            yield from pages
        except ConnectorError as exc:
            resume = self._resume
            if at is None or resume is None or exc.http_status not in resume.expired:
                raise
            log.warning(
                "%s: the place kept from the last run (%s) is no longer good (HTTP %s): read afresh",
                self.name, glimpse(at), exc.http_status,
            )  # fmt: skip
            self.resume_expired = True
            pages.close()
            yield from self._read_slice(start, end, None)

    def _read_slice(
        self, start: datetime | None, end: datetime | None, at: str | None = None
    ) -> Iterator[PageRead]:
        """The slice's pages; a cursor the system gave (`paginator.release`) released however the read ends:
        done, failed, or stopped by its reader."""
        held: dict[str, Any] = {}  # the values of the last request, and the last cursor the system gave
        try:
            yield from self._slice_pages(start, end, held, at)
        finally:
            if held.get("cursor") is not None:
                self._release(held)

    def _slice_pages(
        self, start: datetime | None, end: datetime | None, held: dict[str, Any], at: str | None = None
    ) -> Iterator[PageRead]:
        pager = self.spec.paginator
        values: dict[str, Any] = {
            "start": self._bound(start),
            "end": self._bound(end),
            "page_size": pager.page_size,
            "page": pager.base,
            "offset": 0,
            "last": pager.page_size - 1,
            "cursor": None,
        }
        if self._first_request is None:
            self._first_request = dict(values)
        pages, seen, refused_in_a_row = 0, 0, 0
        listed: int | None = None  # the total the last page said (stop total_count/total_pages)
        rereads = 0
        asked_again = False  # an empty page before the total, asked for a second time
        before: tuple[int, str, str] | None = None  # the page before's count, first and last record
        next_url: str | None = None
        followed: set[str] = set()
        if at is not None and pager.type == "next_link":  # the kept link is the first page
            next_url = self.client.on_own_host(urljoin(self.client.base_url + "/", at))
        elif at is not None:  # the kept cursor: the first page is asked as a page after the first
            values["cursor"] = at
        while True:
            where = f"page {pages + 1}"
            self._page_no += 1
            try:
                method, path, document, answer, raw = self._fetch(values, next_url)
            except RefusedAnswer as exc:
                if self.on_refused is None or refused_in_a_row >= MAX_SKIPPED_IN_A_ROW:
                    raise
                refused_in_a_row += 1
                pages += 1
                where_skipped = {"window": [start, end], "page": pages, "page_size": pager.page_size}
                if pager.type in ("page_number", "offset"):  # the next page can be asked for without this one
                    where_skipped.update(page_value=values["page"], offset=seen)
                    self.on_refused(exc.on_page(self._page_no), where_skipped)
                    seen += pager.page_size
                    values["page"], values["offset"] = pager.base + pages, seen
                    values["last"] = seen + pager.page_size - 1
                    continue
                # a cursor or a next link comes in the refused answer itself: the rest of the slice is skipped
                self.on_refused(exc.on_page(self._page_no), {**where_skipped, "rest_of_window": True})
                return
            except ProtocolError as exc:  # after RefusedAnswer, a ProtocolError of its own
                # 416 Range Not Satisfiable for a page after one that gave the list's total: the offset asked for
                # is past the list's end now (PostgREST's PGRST103 with `Prefer: count=exact`): it shrank under the
                # read, as when a page's total says so, and the slice is read again from its first page.
                if exc.http_status != 416 or listed is None or pager.type not in ("page_number", "offset"):
                    raise
                rereads = self._reread(rereads, where, f"{listed} → a range past its end, HTTP 416")
                pages, seen, listed, before = 0, 0, None, None
                values["page"], values["offset"], values["last"] = pager.base, 0, pager.page_size - 1
                continue
            refused_in_a_row = 0
            if raw is None:  # records read from a document made of the answer (XML-RPC's values, say)
                raw = self._made(document, where)
            if self.spec.records.record_errors is not None and not isinstance(raw, Records):
                try:
                    raw = mark_record_errors(self.name, innermost(document), raw, self.spec.records)
                except ProtocolError as exc:
                    self.client.record_failure("page", exc)
                    raise
            sent = len(raw)  # paging counts the records the system sent, whatever the filter keeps
            # what tells this page from the one before (a system that ignores the page sends the same again)
            this = (sent, raw[0].payload, raw[-1].payload) if isinstance(raw, list) and raw else None
            keep = self.spec.records.filter.holds if self.spec.records.filter is not None else None
            records: Any
            if isinstance(
                raw, Records
            ):  # XML: sound as a whole; its records come in chunks, filtered as they come
                raw.keep, raw.nest, raw.details, records = keep, self.spec.records.nest, self.details, raw
            else:
                raw = [r for r in raw if keep(r.record)] if keep is not None else raw
                if self.spec.records.nest:
                    raw = nest_json(innermost(document), raw, self.spec.records.nest)
                if self.details is not None:  # one call per listed record for its whole dossier
                    raw = self.details.read(raw)
                records = [r.record for r in raw]
            pages += 1
            seen += sent
            given = (
                None  # the next cursor, read once: before the page is handed over when it is to be released
            )
            if pager.release is not None:  # known before the page is handed over: its reader may stop there
                given = self._next_cursor(Headed(document, dict(answer.headers)), answer, where)
                held.update(values, cursor=given if given is not None else held.get("cursor"))
            yield PageRead(0, method, self.client.url(path), document, records, dict(answer.headers), raw)
            if isinstance(raw, Records):
                raw.close()  # read, or not wanted (a probe)
            # What the paginator reads: the answer, and its headers (`header:X-Total-Count`).
            paged = Headed(document, dict(answer.headers))
            self._keep_place(paged, where)
            total = self._total(paged)
            if listed is not None and total is not None and total < listed:
                # Records left the list while it was read (edited out of the window, deleted): those after them
                # moved up, some past a page already read. The slice is read again from its first page; what
                # comes twice is a duplicate the load drops, what would have been skipped is read.
                rereads = self._reread(rereads, where, f"{listed} → {total}")
                pages, seen, listed, before = 0, 0, None, None
                values["page"], values["offset"], values["last"] = pager.base, 0, pager.page_size - 1
                continue
            # records added meanwhile push the list down: the same records may come again, at the next position
            grew = listed is not None and total is not None and total > listed
            listed = total
            # A cursor that may come back unchanged (stop: empty_page) proves no loop; the same page again does.
            unchanged = pager.type == "cursor" and "stop" in pager.model_fields_set
            repeats = pager.type in ("page_number", "offset") or unchanged
            if this is not None and this == before and not grew and repeats:
                raise ProtocolError(  # read on, it would come for ever (a short page never does)
                    self.name,
                    f"{where}: the same {sent} records as the page before: the system ignores the "
                    f"{'offset' if pager.type == 'offset' else 'page'} it is asked for; the run fails "
                    "rather than read that page for ever (the next one reads this window again)",
                )
            before = this
            if (
                not sent
                and pager.type in ("page_number", "offset")
                and self._short_of_total(total, seen, pages)
            ):
                if not asked_again:  # a page that failed quietly may come whole the second time
                    asked_again, pages = True, pages - 1
                    continue
                raise ProtocolError(
                    self.name,
                    f"{where}: no records, yet the system's total says {total} "
                    f"{'records' if pager.stop == 'total_count' else 'pages'} and {seen} records came: the rest "
                    "of the window would be lost; the run fails so that the next one reads this window again "
                    "(a system whose total counts records it never sends: paginator.total_counts_more: true)",
                )
            asked_again = False
            if pager.type == "single" or (not sent and pager.type in ("page_number", "offset")):
                return
            if pager.type in ("page_number", "offset"):
                if self._last_page(paged, sent, seen, pages, where):
                    return
                values["page"] = pager.base + pages
                values["offset"] = seen
                values["last"] = seen + pager.page_size - 1
            elif pager.type == "cursor":
                cursor = given if pager.release is not None else self._next_cursor(paged, answer, where)
                if (
                    cursor is None
                    or (pager.has_more_path and not _truthy(value_at(paged, pager.has_more_path)))
                    or (pager.last_page_when is not None and pager.last_page_when.holds(innermost(document)))
                ):
                    return
                if unchanged:  # stop: empty_page, the only stop a cursor paginator takes
                    if not sent:
                        return
                    values["cursor"] = cursor
                    continue
                seen_as = cursor if isinstance(cursor, str) else jsontext.dumps(cursor)
                if seen_as in followed:
                    raise ProtocolError(
                        # quoted masked and short: a key object holds the key's values (an id number, a phone)
                        self.name,
                        f"{where}: the cursor {quote_answer(seen_as, 200)!r} came back again (a loop)",
                    )
                followed.add(seen_as)
                values["cursor"] = cursor
            else:
                link = self._next_link(paged, answer)
                if link is None or (
                    pager.last_page_when is not None and pager.last_page_when.holds(innermost(document))
                ):
                    return
                next_url = self.client.on_own_host(urljoin(answer.url, link))
                if next_url in followed:
                    raise ProtocolError(
                        self.name, f"{where}: the next link {next_url} came back again (a loop)"
                    )
                followed.add(next_url)

    def _keep_place(self, paged: Headed, where: str) -> None:
        """`rest.resume`: the link or cursor this page gives for the next run (the last page's is kept)."""
        resume = self._resume
        if resume is None:
            return
        value = value_at(paged, resume.path)
        if isinstance(value, dict | list):
            raise ProtocolError(
                self.name,
                f"{where}: resume.path {resume.path!r} holds {'an object' if isinstance(value, dict) else 'a list'}, "
                "not the text of a link or a cursor: the run fails rather than keep a place it cannot send back",
            )
        text = as_text(value) or None
        if text is not None and len(text) > MAX_CURSOR:
            raise ProtocolError(
                self.name,
                f"{where}: the place at resume.path {resume.path!r} is {len(text)} characters long, past the "
                f"{MAX_CURSOR} it may hold: the run fails rather than keep it",
            )
        if text is not None and _UNSENDABLE.search(text):
            raise ProtocolError(
                self.name,
                f"{where}: the place at resume.path {resume.path!r} holds a control character or a lone surrogate: "
                "the run fails rather than keep a place it cannot send back",
            )
        self.resume_next = text

    def _reread(self, rereads: int, where: str, shrank: str) -> int:
        """One more reading of a slice whose list shrank under the read (`shrank` says how); past MAX_REREADS the
        run fails, so that the next one reads the window again."""
        rereads += 1
        if rereads > MAX_REREADS:
            raise ProtocolError(
                self.name,
                f"{where}: the list shrank while it was read ({shrank}), {rereads} times over: "
                "records that moved up past a page already read would be skipped; the run fails so that "
                "the next one reads this window again",
            )
        return rereads

    def _total(self, document: Any) -> int | None:
        """The total a page-number or offset answer gives (records or pages, as its stop rule reads), if it does."""
        pager = self.spec.paginator
        path = {"total_count": pager.total_path, "total_pages": pager.total_pages_path}.get(pager.stop)
        if pager.type not in ("page_number", "offset") or not path:
            return None
        try:
            return self._count(value_at(document, path))
        except ValueError:
            return None  # said by _last_page, when it reads it

    def _count(self, value: Any) -> int:
        """The number a total path gives, as `total_format` writes it; ValueError saying why when it gives none."""
        if self.spec.paginator.total_format == "content_range":
            found = _CONTENT_RANGE.fullmatch(str(value).strip()) if value is not None else None
            if found is None:
                raise ValueError("not a Content-Range (`items 0-49/250`)")
            if found[1] == "*":
                raise ValueError("its total is '*': the system did not count the list")
            return int(found[1])
        return int(str(value).strip())

    def _short_of_total(self, total: int | None, seen: int, pages: int) -> bool:
        """Does the total the answer gave say more than has come (`pages` counting the empty one just read)?"""
        pager = self.spec.paginator
        if total is None or pager.total_counts_more:
            return False
        return seen < total if pager.stop == "total_count" else pages - 1 < total

    def _last_page(self, document: Any, sent: int, seen: int, pages: int, where: str) -> bool:
        pager = self.spec.paginator
        if pager.stop == "short_page":
            return sent < pager.page_size
        if pager.stop == "empty_page":
            return False  # an empty page already ended the read
        if pager.stop == "has_more":
            return not _truthy(value_at(document, pager.has_more_path or ""))
        path = pager.total_path if pager.stop == "total_count" else pager.total_pages_path
        total = self._number(document, path or "", where)
        return seen >= total if pager.stop == "total_count" else pages >= total

    def _number(self, document: Any, path: str, where: str) -> int:
        value = value_at(document, path)
        formatted = path == self.spec.paginator.total_path and self.spec.paginator.total_format != "number"
        try:
            return self._count(value) if formatted else int(str(value).strip())
        except (TypeError, ValueError) as exc:
            why = f": {exc}" if formatted else ""
            raise ProtocolError(
                self.name, f"{where}: no number at {path!r} (found {quote_answer(repr(value), 200)}){why}"
            ) from None

    def _next_cursor(self, document: Any, answer: Answer, where: str) -> Any:
        """The next cursor: text, or a JSON value kept as it came (Elasticsearch's `search_after` sort values, a
        DynamoDB-style `LastEvaluatedKey` object), sent back whole where `{cursor}` is a whole value and as JSON
        text inside other text (connectors.templates)."""
        pager = self.spec.paginator
        value = (
            value_at(document, pager.cursor_path)
            if pager.cursor_path
            else answer.headers.get(pager.cursor_header or "")
        )
        kind = pager.cursor_type
        value = (value or None) if isinstance(value, list | dict) else (as_text(value) or None)
        if value is None:
            return None
        written = value if isinstance(value, str) else jsontext.dumps(value)
        if len(written) > MAX_CURSOR:
            # sent back with every page: a system that answers this is broken or hostile
            raise ProtocolError(
                self.name,
                f"{where}: the cursor at {self._cursor_place()} is {len(written)} characters long, past the "
                f"{MAX_CURSOR} a cursor may hold: the run fails rather than send it back",
            )
        got = "object" if isinstance(value, dict) else "list" if isinstance(value, list) else "text"
        if kind not in ("any", got):
            article = "an" if got == "object" else "a"
            raise ProtocolError(
                self.name,
                f"{where}: the cursor at {self._cursor_place()} is {article} {got}, not the {kind} this source's "
                f"paginator sends back (cursor_type: {kind}): the run fails rather than ask for a page the system "
                "never meant",
            )
        return value

    def _cursor_place(self) -> str:
        pager = self.spec.paginator
        return pager.cursor_path or f"header {pager.cursor_header}"

    def _next_link(self, document: Any, answer: Answer) -> str | None:
        pager = self.spec.paginator
        if pager.next_path:
            link = as_text(value_at(document, pager.next_path))
            return link or None
        for link in requests.utils.parse_header_links(answer.headers.get("Link", "")):
            if "next" in str(link.get("rel", "")).split():
                return link.get("url") or None
        return None

    # --- the Source protocol ---------------------------------------------------------------------------------

    def pages(self, window_start: datetime | None, window_end: datetime | None) -> Iterator[list[RawRecord]]:
        for page in self.read(window_start, window_end):
            if page.records:
                yield from page.chunks()

    def probe(self) -> str:
        """The first page of the last day's window, as a sync (and `onestop source preview`) asks for it: proves
        the URL, the credentials, the request's shape, where the records are and the paths the paginator reads."""
        now = datetime.now(UTC)
        page = next(self.read(now - timedelta(days=1), now))
        if problems := self.problems(page):
            raise ProtocolError(
                self.name, "the first page's answer does not fit the registry: " + "; ".join(problems)
            )
        return (
            f"{self.name}: authenticated; the first page has {len(page.records)} record(s) at "
            f"{self.spec.records.path or '(the answer)'!r}"
        )

    def problems(self, first: PageRead) -> list[str]:
        """What the first page of a read shows is wrong in the spec (live_problems), and a system that sends
        fewer records than asked on every page: read by a short-page stop, it would end after its first page."""
        found = live_problems(self.spec, first)
        if isinstance(first.raw, list) and first.raw:  # (XML records are read once, by the sync)
            failed = [
                r.defects[0].reason for r in first.raw if r.defects and r.defects[0].field == DETAIL_FIELD
            ]
            if len(failed) == len(first.raw):
                found.append(f"detail: no record of the first page has its detail, the first: {failed[0]}")
        pager = self.spec.paginator
        sent = len(first.records)
        if (
            pager.type in ("page_number", "offset")
            and pager.stop == "short_page"
            and 0 < sent < pager.page_size
            and self._first_request is not None
        ):
            request = {**self._first_request, "page": pager.base + 1, "offset": sent}
            request["last"] = sent + pager.page_size - 1
            _, _, document, _, raw = self._fetch(request, None)
            more = len(raw if raw is not None else self._records(document, "page 2"))
            if isinstance(raw, Records):
                raw.close()
            if more:
                found.append(
                    f"page 1 has {sent} records, fewer than page_size {pager.page_size}, yet page 2 has {more}: "
                    f"the system caps its pages, and a sync would stop after the first (stop: short_page); "
                    f"set page_size: {sent}"
                )
        return found


def live_problems(spec: PagedSpec, page: PageRead) -> list[str]:
    """What the first page shows is wrong in the spec: a path the paginator reads that the answer lacks."""
    pager, problems = spec.paginator, []
    for name in ("total_path", "total_pages_path", "has_more_path", "cursor_path", "next_path"):
        path = getattr(pager, name)
        if not path or found_at(Headed(page.answer, page.headers), path):
            continue
        if path.startswith(HEADER):
            names = sorted(page.headers)[:20]
            problems.append(
                f"paginator.{name} {path!r} is not in the answer's headers (its headers: {names})"
            )
        else:
            answer = innermost(page.answer)
            keys = sorted(answer)[:20] if isinstance(answer, dict) else type(answer).__name__
            problems.append(f"paginator.{name} {path!r} is not in the answer (its keys: {keys})")
    for i, nest in enumerate(spec.records.nest):
        if not found_at(page.answer, nest.path):
            problems.append(
                f"records.nest[{i}].path {nest.path!r} is not in the answer: its records get no rows"
            )
    if pager.cursor_header and pager.cursor_header not in page.headers and page.records:
        problems.append(f"paginator.cursor_header {pager.cursor_header!r} is not in the answer's headers")
    if pager.type in ("page_number", "offset") and len(page.records) > pager.page_size:
        problems.append(
            f"the first page has {len(page.records)} records, more than page_size {pager.page_size}: "
            "the system ignores the page size it is sent"
        )
    return problems
