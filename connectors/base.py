"""What every district-system connector gives the pipeline, whatever its protocol."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

JSON = "application/json"
XML = "application/xml"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as fetched: parsed for the mapping, and its verbatim text for staging."""

    record: dict[str, Any]  # a JSON object, or mappings.element_to_dict() of an XML element
    payload: str  # kept verbatim in onestop.staging (JSON text, or the record element's XML)
    content_type: str = JSON
    ack_id: str | None = None  # change feeds: what to acknowledge once the load has committed


class Source(Protocol):
    """A district or sector system, read page by page (never the whole source at once)."""

    name: str

    def pages(self, window_start: datetime | None, window_end: datetime | None) -> Iterator[list[RawRecord]]:
        """Records updated (or received) within the window, one page at a time."""
        ...

    def probe(self) -> str:
        """One cheap authenticated call, for a connection's Test button; returns what it found."""
        ...


class Acknowledging(Protocol):
    """Change feeds: a fetched batch comes again unless its ids are acknowledged after the load commits."""

    def acknowledge(self, ack_ids: list[str]) -> None: ...
