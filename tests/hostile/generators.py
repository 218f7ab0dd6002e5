"""Hostile inputs too big (or too deep) to commit as files: each a named function the manifest points at.

Value generators (`generate:` under a record's `set:`) return the bytes written at a path, in the page's format
(`fmt` is "json", "xml", "csv", "xmlrpc" or "xlsx": an inline text's content). Body generators (`body: {generate: …}`) return a whole pages.Page.
"""

from __future__ import annotations

import io
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
    workbook,
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


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def far_cell_workbook(builder: Builder, protocol: str, good: int = 6) -> Page:
    """A page's workbook with one cell more, at XFD1048576: a few bytes that name a grid of 17 billion cells
    (calamine would allocate it whole: the process aborted, no exception raised)."""
    records, ids = _page(builder, protocol, good)
    far = (
        b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>%s</t></is></c></row>'
        % PLANTED["cccd"].encode()
    )
    body = workbook(records, after=far)
    return Page([Reply(200, {"Content-Type": XLSX}, body)], ids, records)


def torn_workbook(builder: Builder, protocol: str, good: int = 20) -> Page:
    """A page's workbook cut off halfway (a proxy's timeout, a full disk on the exporting server)."""
    records, ids = _page(builder, protocol, good, [builder.record(protocol, planted=True)])
    body = page_body(protocol, records)
    return Page([Reply(200, {"Content-Type": XLSX}, body[: len(body) // 2])], ids, records)


def damaged_excel_97(builder: Builder, protocol: str, keep: int = 3000) -> Page:
    """An Excel 97-2003 file (what an older export writes with an .xls name) whose records stop short: calamine's
    reader aborted the process on such files."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Hồ sơ")
    for c, name in enumerate(["ID", "Mã hồ sơ", "Chủ hồ sơ", "Số giấy tờ"]):
        sheet.write(3, c, name)
    for r in range(4, 40):
        for c, value in enumerate([r, f"H23-{r:04d}", "Nguyễn Văn An", PLANTED["cccd"]]):
            sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return Page([Reply(200, {"Content-Type": "application/vnd.ms-excel"}, out.getvalue()[:keep])])


def lying_workbook(builder: Builder, protocol: str, good: int = 6) -> Page:
    """A page's workbook with a shared strings part that says it holds 4,294,967,295 strings in 200 bytes: the
    reader would reserve 100 GB for them as it opens the book."""
    from tests.connectors.test_spreadsheet import with_shared_strings

    records, ids = _page(builder, protocol, good)
    body = with_shared_strings(page_body(protocol, records), 4294967295, 3)
    return Page([Reply(200, {"Content-Type": XLSX}, body)], ids, records)


BODIES = {
    "lying_workbook": lying_workbook,
    "far_cell_workbook": far_cell_workbook,
    "torn_workbook": torn_workbook,
    "damaged_excel_97": damaged_excel_97,
    "encoded_page": encoded_page,
    "over_cap": over_cap,
    "big_soap": big_soap,
    "deep_page": deep_page,
}
