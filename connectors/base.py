"""What every district-system connector gives the pipeline, whatever its protocol."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

JSON = "application/json"
XML = "application/xml"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as fetched: parsed for the mapping, and its verbatim text for staging."""

    record: dict[str, Any]  # a JSON object, or mappings.element_to_dict() of an XML element
    payload: str  # kept verbatim in onestop.staging (JSON text, or the record element's XML)
    content_type: str = JSON
    ack_id: str | None = None  # change feeds: what to acknowledge once the load has committed


class PageChunk(list[RawRecord]):
    """A page too big to hand over at once comes as chunks (connectors.safexml.Records): every chunk but its
    first `continues` the page before it, so that a page is still counted once."""

    def __init__(self, records: list[RawRecord], continues: bool) -> None:
        super().__init__(records)
        self.continues = continues


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


def read_ahead(pages: Iterator[T], depth: int = 2) -> Iterator[T]:
    """`pages`, fetched up to `depth` pages ahead in a thread: the district server prepares page n + 1 while
    page n is being staged. Errors arrive in order, after the pages before them; stopping early stops the
    fetching (after the request in flight) and closes `pages`."""
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
    try:
        while True:
            page, error, done = ahead.get()
            if error is not None:
                raise error
            if done:
                return
            yield page  # type: ignore[misc]
    finally:
        stopped.set()
        fetcher.join()
