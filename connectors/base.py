"""What every district-system connector gives the pipeline, whatever its protocol."""

from __future__ import annotations

import hashlib
import queue
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

JSON = "application/json"
XML = "application/xml"

T = TypeVar("T")


class Unreadable(str):
    """A value the answer's reader could not read as the type the answer declares for it (an XML-RPC <int> that
    is no number, a type XML-RPC does not have): kept as its text, with why, so that it costs its record (a Defect
    at its path, connectors.jsonpage.unreadable_defects), not its page."""

    why: str

    def __new__(cls, text: str, why: str) -> Unreadable:
        value = super().__new__(cls, text)
        value.why = why
        return value

    def __reduce__(self) -> tuple[type[Unreadable], tuple[str, str]]:
        # Pickled with its why (a record goes to a normalizing worker process): str's own pickling would call
        # __new__ with the text alone.
        return Unreadable, (str(self), self.why)


@dataclass(frozen=True, slots=True)
class Defect:
    """Something wrong inside one record that the mapping must not see (a duplicate key, NaN, a NUL): the record
    is quarantined naming `field`, the rest of its page goes on."""

    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as fetched: parsed for the mapping, and its text as the source sent it, for staging."""

    record: dict[str, Any]  # a JSON object, or mappings.element_to_dict() of an XML element
    payload: str  # kept in onestop.staging as sent (JSON text, or the record element's XML); see connectors.jsonpage
    content_type: str = JSON
    ack_id: str | None = None  # change feeds: what to acknowledge once the load has committed
    defects: tuple[Defect, ...] = ()  # what quarantines this record before any mapping reads it
    sha256: str | None = None  # of the whole record, when `payload` keeps only its beginning
    # False: only the text was read (connectors.jsonpage's PageReader.unparsed); `record` is empty and the
    # defects are not known yet: whoever normalizes it reads the text (jsonpage.read_text).
    parsed: bool = True
    # What names the record when its mapping reads no id from `record`: a listed summary whose detail could not
    # be read is named by the value its detail call was asked by (connectors.detail).
    record_id: str | None = None
    # The value its detail call was asked by, when its detail was read (connectors.detail): an earlier failure to
    # read that detail is then over (connectors.store.merge.close_detail_failures).
    detail_of: str | None = None


class PageChunk(list[RawRecord]):
    """A page too big to hand over at once comes as chunks (connectors.safexml.Records): every chunk but its
    first `continues` the page before it, so that a page is still counted once."""

    def __init__(self, records: list[RawRecord], continues: bool) -> None:
        super().__init__(records)
        self.continues = continues


DETAIL_FIELD = "(detail)"  # what a record's defect names when its detail call failed (connectors.detail)
RECORD_LIMIT = 1024 * 1024  # bytes of one record's text kept whole in staging; past it, an excerpt
EXCERPT = 64 * 1024  # what is kept of a record (or of a page refused as a whole) past the limit


# What a record's quarantine row lists of what is wrong with it; the rest are counted. A 40 MB answer can name one
# record in 100,000 GraphQL errors, or a record hold 100,000 NULs: listed whole, 50 MB in one row and as many log
# lines.
MAX_DEFECTS = 50
MORE_DEFECTS = "{} more not listed"


def capped(problems: Sequence[T], more: Callable[[str], T]) -> list[T]:
    """What is wrong with a record as its row lists it: the first MAX_DEFECTS, then one `more` makes of the
    count of the rest (a Defect in staging, a FieldError in quarantine)."""
    if len(problems) <= MAX_DEFECTS:
        return list(problems)
    return [*problems[:MAX_DEFECTS], more(MORE_DEFECTS.format(len(problems) - MAX_DEFECTS))]


def listed(defects: tuple[Defect, ...]) -> tuple[Defect, ...]:
    """A record's defects as kept (`capped`)."""
    return defects if len(defects) <= MAX_DEFECTS else tuple(capped(defects, lambda n: Defect("(record)", n)))


def kept(record: dict[str, Any], text: str, content_type: str, defects: tuple[Defect, ...] = ()) -> RawRecord:
    """A record with its text as sent, or, past RECORD_LIMIT, its first 64 KiB, its size and SHA-256 as a defect
    that quarantines it (its id is still read from `record`, so the quarantine row names it); its defects listed
    (`listed`)."""
    defects = listed(defects)
    if len(text) <= RECORD_LIMIT // 4:  # UTF-8 takes at most 4 bytes a character: surely within the limit
        return RawRecord(record, text, content_type, defects=defects)
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= RECORD_LIMIT:
        return RawRecord(record, text, content_type, defects=defects)
    digest = hashlib.sha256(data).hexdigest()
    too_big = Defect(
        "(record)",
        f"the record is {len(data)} bytes, over the {RECORD_LIMIT}-byte limit: its first {EXCERPT} bytes are"
        f" kept, SHA-256 {digest}",
    )
    excerpt = data[:EXCERPT].decode("utf-8", "ignore")
    return RawRecord(record, excerpt, content_type, defects=(too_big, *defects), sha256=digest)


class Source(Protocol):
    """A district or sector system, read page by page (never the whole source at once)."""

    name: str

    def pages(self, window_start: datetime | None, window_end: datetime | None) -> Iterator[list[RawRecord]]:
        """Records updated (or received) within the window, one page at a time (a big page: in PageChunks)."""
        ...

    def probe(self) -> str:
        """One cheap authenticated call, for a connection's Test button; returns what it found."""
        ...


class Acknowledging(Protocol):
    """Change feeds: a fetched batch comes again unless its ids are acknowledged after the load commits."""

    def acknowledge(self, ack_ids: list[str]) -> None: ...


# How long a reader that stops early waits for the request in flight. It is not waited out: a call into a system
# that hangs, with its retries, can take minutes, and a task stopped by its time limit or by an error must end now.
STOP_WAIT_S = 2.0


def read_ahead(pages: Iterator[T], depth: int = 2, cancel: Callable[[], None] | None = None) -> Iterator[T]:
    """`pages`, fetched up to `depth` pages ahead in a thread: the district server prepares page n + 1 while
    page n is being staged. Errors arrive in order, after the pages before them; stopping early stops the
    fetching: `cancel` (the client's) ends the request in flight and any retry, its page is dropped, no other
    request is made, and `pages` is closed (waited for up to STOP_WAIT_S)."""
    ahead: queue.Queue[tuple[T | None, BaseException | None, bool]] = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def put(item: tuple[T | None, BaseException | None, bool]) -> bool:
        while not stopped.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            for page in pages:
                if not put((page, None, False)):
                    return
            put((None, None, True))
        except BaseException as exc:  # handed to the reader, raised there
            put((None, exc, True))
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    fetcher = threading.Thread(target=fetch, name="read-ahead", daemon=True)
    fetcher.start()
    finished = False
    try:
        while True:
            page, error, done = ahead.get()
            finished = done
            if error is not None:
                raise error
            if done:
                return
            yield page  # type: ignore[misc]
    finally:
        stopped.set()
        if not finished and cancel is not None:
            cancel()
        fetcher.join(STOP_WAIT_S)


# Prefixes a web application puts before its JSON so that a foreign page cannot run it as a script (XSSI, JSON
# hijacking): AngularJS's `)]}',` and a newline (what its $http strips), Google's `)]}'`, `while(1);`, `for(;;);`.
# And JSONP, JSON wrapped in a call (`cb({...});`, Rails' `/**/cb(...)`): what an old jQuery front end reads.
# None is JSON (JSON starts with { [ " a digit - true false null, and none of those is followed by a bracket), so
# taking one off never changes what a JSON answer says.
_XSSI_GUARD = re.compile(rb"\A(?:\xef\xbb\xbf)?[ \t\r\n]*(?:\)\]\}',?|while\(1\);|for\(;;\);)[ \t]*\r?\n?")
_JSONP_CALL = re.compile(rb"\A(?:\xef\xbb\xbf)?[ \t\r\n]*(?:/\*\*/)?[ \t]*[A-Za-z_$][\w$.]{0,200}[ \t]*\(")


def unguarded(body: bytes) -> bytes:
    """A JSON answer's bytes without an anti-XSSI prefix (and a UTF-8 BOM before it), or the JSON a JSONP call
    wraps, when it has one."""
    start = body[:16].lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith((b")]}'", b"while(1);", b"for(;;);")):
        match = _XSSI_GUARD.match(body)
        return body[match.end() :] if match else body
    if start[:1].isalpha() or start[:1] in (b"_", b"$", b"/"):
        call = _JSONP_CALL.match(body)
        if call is not None:
            end = len(body.rstrip(b" \t\r\n;"))
            if body[end - 1 : end] == b")" and end - 1 >= call.end():
                return body[call.end() : end - 1]
    return body
