"""Hostile inputs too big (or too deep) to commit as files: each a named function the manifest points at.

Value generators (`generate:` under a record's `set:`) return the bytes written at a path, in the page's format
(`fmt` is "json", "xml" or "csv"). Body generators (`body: {generate: …}`) return a whole pages.Page.
"""

from __future__ import annotations

from collections.abc import Iterator

from tests.hostile.pages import (
    PLANTED,
    Builder,
    Page,
    Raw,
    Record,
    csv_cell,
    empty_body,
    json_text,
    page_body,
    xml_text,
)
from tests.hostile.server import Reply

MIB = 1 << 20
CAP = 64 * MIB  # connectors.http.HttpSettings.max_bytes


# --- values --------------------------------------------------------------------------------------------------


def long_text(fmt: str, chars: int, word: str = "Nguyễn Văn An ", planted: bool = True) -> bytes:
    """A text of exactly `chars` characters: the planted phone first (an error quoting the start would show
    it), then `word` repeated."""
    head = f"{PLANTED['phone']} " if planted else ""
    body = (word * (chars // len(word) + 1))[: chars - len(head)]
    text = head + body
    if fmt == "csv":
        return csv_cell(text)
    return json_text(text) if fmt == "json" else xml_text(text)


def nested_arrays(fmt: str, levels: int) -> bytes:
    """`levels` nested JSON arrays (or XML elements) around one number."""
    if fmt in ("json", "csv"):  # a CSV cell: the JSON text (no comma or quote in it to quote)
        return b"[" * levels + b"0" + b"]" * levels
    return b"<n>" * levels + b"0" + b"</n>" * levels


VALUES = {"long_text": long_text, "nested_arrays": nested_arrays}


# --- bodies --------------------------------------------------------------------------------------------------


def _page(
    builder: Builder, protocol: str, good: int, hostile: list[Record] | None = None
) -> tuple[list[Record], list[str]]:
    records = builder.good(protocol, good)
    ids = [r.record_id for r in records if r.record_id]
    return records[: good // 2] + (hostile or []) + records[good // 2 :], ids


def encoded_page(
    builder: Builder, protocol: str, encoding: str, good: int = 20, charset: str | None = None
) -> Page:
    """A page of good records in another encoding (`utf-8-sig`: a UTF-8 BOM first; `utf-16`: with its BOM),
    the Content-Type naming `charset` when given."""
    records, ids = _page(builder, protocol, good)
    body = page_body(protocol, records).decode("utf-8").encode(encoding)
    media = "application/json" + (f"; charset={charset}" if charset else "")
    return Page(
        [
            Reply(200, {"Content-Type": media}, body),
            Reply(200, {"Content-Type": media}, empty_body(protocol)),
        ],
        ids,
        records,
    )


def over_cap(builder: Builder, protocol: str, declared: bool) -> Page:
    """An answer past the 64 MiB cap: one that says so in Content-Length (nothing of it needs reading), or one
    streamed without a length (the reader must stop at the cap). Its first record carries planted data."""
    first = builder.record(protocol, planted=True)
    head = b'{"content":[' + first.data + b',{"padding":"'
    tail = b'"}]}'
    size = CAP + 2 * MIB
    if declared:
        return Page([Reply(200, {"Content-Type": "application/json"}, head + tail, content_length=str(size))])

    def stream() -> Iterator[bytes]:
        yield head
        pad = b"x" * MIB
        for _ in range((size - len(head) - len(tail)) // MIB):
            yield pad
        yield tail

    return Page([Reply(200, {"Content-Type": "application/json"}, stream=stream)])


def big_soap(builder: Builder, protocol: str, records: int) -> Page:
    """A SOAP answer of `records` good dossiers on one page (a few MB), well within the cap: it must load."""
    found = builder.good(protocol, records)
    media = "application/soap+xml; charset=utf-8" if protocol == "soap12" else "text/xml; charset=utf-8"
    body = page_body(protocol, found)
    return Page(
        [Reply(200, {"Content-Type": media}, body)], [r.record_id for r in found if r.record_id], found
    )


def deep_page(builder: Builder, protocol: str, levels: int, path: str = "note", good: int = 6) -> Page:
    """A page whose one record holds `levels` nested arrays (XML: elements) at `path`: the page cannot be read
    by any parser that bounds its depth, so it is refused as a whole."""
    fmt = "json" if protocol in ("rest", "feed") else "xml"
    hostile = builder.record(protocol, {path: Raw(nested_arrays(fmt, levels))}, planted=True)
    records, ids = _page(builder, protocol, good, [hostile])
    media = "application/json" if fmt == "json" else "text/xml; charset=utf-8"
    return Page([Reply(200, {"Content-Type": media}, page_body(protocol, records))], ids, records)


BODIES = {
    "encoded_page": encoded_page,
    "over_cap": over_cap,
    "big_soap": big_soap,
    "deep_page": deep_page,
}
