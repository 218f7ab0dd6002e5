"""Safe XML for answers from district systems: no DTD, no entity expansion, no network, bounded memory.

What is refused is decided from what the parser reports, never by searching bytes (a UTF-16 or UTF-32
document, or a comment holding `<x>` before a DOCTYPE, reads differently as bytes): a document whose prolog
declares a DTD (a DOCTYPE, an internal subset, entity or parameter-entity declarations, an external DTD or
system id), that declares the XInclude namespace, or that carries a processing instruction naming a resource
(`<?xml-stylesheet href=…?>`) is refused with a ProtocolError naming the endpoint; nothing is fetched
(no_network, no DTD loaded, no entity resolved). A streamed document is judged by a pre-pass that stops at
the root's start tag, so a refusal comes before any record is read.

Bodies arrive capped by connectors.http, as bytes or as a spooled file. A page's answer is read in two
streaming passes over that file (`scan_answer`): the first reads it whole, dropping each record element as
soon as it is parsed, and returns the rest of the answer (totals, paging, error codes, a SOAP Fault wherever
it stands) — so an answer that is not XML, or says it failed, is known before any record is handed over; the
second (`Records`) hands the records over in chunks. No whole response tree, and no page's records all at
once, are ever held.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from copy import deepcopy as copy_element
from typing import IO, Any

from lxml import etree

from connectors import nesting
from connectors.base import EXCERPT, XML, PageChunk, RawRecord, kept
from connectors.errors import ProtocolError, RefusedAnswer
from connectors.xmlmend import mend, mended_defects

SOAP_ENCODING = "http://schemas.xmlsoap.org/soap/encoding/"
PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}
XINCLUDE = frozenset({"http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude"})
# A processing instruction that tells a processor to fetch something: a stylesheet, a schema, any URL.
_FETCHING_PI = re.compile(r"\b(?:href|src)\s*=|[A-Za-z][A-Za-z0-9+.-]*://")
# libxml2 reads a UTF-32 byte-order mark as UTF-16's (FF FE) unless it is told the encoding.
_UTF32_BOMS = (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")
CHUNK_RECORDS = 1000  # records handed over at once, at most
CHUNK_BYTES = 4 << 20  # and at most about this much record XML

Body = bytes | IO[bytes]


def _head(file: IO[bytes] | None) -> bytes | None:
    """The refused document's beginning, for the administrator (connectors.store.refusals)."""
    if file is None:
        return None
    file.seek(0)
    return file.read(EXCERPT)


def dtd_refused(endpoint: str, file: IO[bytes] | None = None) -> RefusedAnswer:
    return RefusedAnswer(
        endpoint, "answer carries a DTD (<!DOCTYPE>): refused before any record was read", excerpt=_head(file)
    )


def _file(body: Body) -> IO[bytes]:
    if isinstance(body, bytes | bytearray | memoryview):
        return io.BytesIO(body)
    body.seek(0)
    return body


def _options(file: IO[bytes], encoding: str | None) -> dict[str, Any]:
    if encoding is None:
        head = file.read(4)
        file.seek(0)
        if head in _UTF32_BOMS:
            encoding = "UTF-32"
    return {**PARSER_OPTIONS, **({"encoding": encoding} if encoding else {})}


class NotXml(RefusedAnswer):
    """The body is not well-formed XML (or not in an encoding the parser reads)."""


def _byte_offset(file: IO[bytes], line: int, column: int) -> int | None:
    """Where libxml2's (line, column) stands in the body, in bytes from its start."""
    if line < 1:
        return None
    file.seek(0)
    at = 0
    for _ in range(line - 1):
        chunk = file.readline()
        if not chunk:
            return None
        at += len(chunk)
    return at + max(column - 1, 0)


def _malformed(endpoint: str, exc: etree.XMLSyntaxError, file: IO[bytes] | None = None) -> NotXml:
    """The parser's own words, with the byte where it stopped; nesting past libxml2's limit said plainly."""
    line, column = getattr(exc, "position", None) or (0, 0)
    offset = _byte_offset(file, line, column) if file is not None else None
    where = f" at byte {offset} (line {line}, column {column})" if offset is not None else ""
    said = str(getattr(exc, "msg", "") or exc).split(", line ")[0]
    if "Excessive depth" in said or "depth" in said.lower():
        cause = f"answer is nested too deep to read ({said})"
    else:
        cause = f"answer is not well-formed XML: {said}"
    return NotXml(endpoint, f"{cause}{where}", excerpt=_head(file), offset=offset)


def judge_docinfo(docinfo: Any, endpoint: str, file: IO[bytes] | None = None) -> None:
    """A parsed prolog that declared a DTD in any way is refused."""
    if (
        docinfo.doctype
        or docinfo.internalDTD is not None
        or docinfo.externalDTD is not None
        or docinfo.system_url
        or docinfo.public_id
    ):
        raise dtd_refused(endpoint, file)


def _judge(event: str, item: Any, endpoint: str) -> None:
    """A `pi` or `start-ns` event: a processing instruction naming a resource, or XInclude, is refused."""
    if event == "start-ns":
        if item[1] in XINCLUDE:
            raise RefusedAnswer(endpoint, "answer declares XInclude: refused before any record was read")
    elif event == "pi" and (
        item.target.lower() in ("xml-stylesheet", "xml-model") or _FETCHING_PI.search(item.text or "")
    ):
        raise RefusedAnswer(
            endpoint,
            f"answer carries a processing instruction that names a resource (<?{item.target} …?>): refused",
        )


class _Parse:
    """lxml iterparse over one document with the protections: the prolog judged first by a pre-pass that
    stops at the root's start tag; every processing instruction and namespace declaration judged as met.
    Yields (event, element) for `events` on elements named `tag` (any, if None); `root` is the document's
    root once parsing has begun."""

    def __init__(
        self,
        body: Body,
        endpoint: str,
        *,
        events: tuple[str, ...] = (),
        tag: str | None = None,
        encoding: str | None = None,
    ) -> None:
        self.file = _file(body)
        self.endpoint, self.events, self.tag = endpoint, events, tag
        self.options = _options(self.file, encoding)
        self.root: etree._Element | None = None

    def _prolog(self) -> None:
        self.file.seek(0)
        try:
            for event, item in etree.iterparse(self.file, events=("start", "pi", "start-ns"), **self.options):
                if event == "start":
                    judge_docinfo(item.getroottree().docinfo, self.endpoint, self.file)
                    return
                _judge(event, item, self.endpoint)
        except etree.XMLSyntaxError as exc:
            raise _malformed(self.endpoint, exc, self.file) from exc
        finally:
            self.file.seek(0)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        if self.events:  # elements are handed over: the prolog is judged before the first one
            self._prolog()
        context = etree.iterparse(
            self.file, events=(*self.events, "pi", "start-ns"), tag=self.tag, **self.options
        )
        try:
            for event, item in context:
                if event in ("pi", "start-ns"):
                    _judge(event, item, self.endpoint)
                    continue
                self.root = context.root
                yield event, item
        except etree.XMLSyntaxError as exc:
            raise _malformed(self.endpoint, exc, self.file) from exc
        self.root = context.root

    def whole(self) -> etree._Element:
        """The whole document as a tree (small documents only), judged before it is returned."""
        try:
            for _ in self:
                pass
        except NotXml:
            self._prolog()  # a DTD that broke the parse (libxml2 stops entity bombs) is refused as a DTD
            raise
        assert self.root is not None  # iterparse raises on a document without a root
        judge_docinfo(self.root.getroottree().docinfo, self.endpoint, self.file)
        return self.root


def refuse_dtd(body: Body, endpoint: str) -> None:
    """Refuse a document with a DTD, XInclude or a processing instruction naming a resource (a WSDL, before
    zeep reads it); a body that is not XML at all is left to its reader to say so."""
    try:
        for _ in _Parse(body, endpoint, events=("start",)):
            pass
    except NotXml:
        return


def iter_elements(body: Body, tag: str, endpoint: str, drop: bool = False) -> Iterator[etree._Element]:
    """Every element named `tag` (any namespace), in document order; each is cleared once consumed, and with
    `drop` taken out of the tree with the siblings before it (a sheet's million rows, in flat memory)."""
    for _event, element in _Parse(body, endpoint, events=("end",), tag=f"{{*}}{tag}"):
        yield element
        element.clear(keep_tail=True)
        if drop:
            while element.getprevious() is not None:
                del element.getparent()[0]


def first_text(body: Body, tag: str, endpoint: str) -> str | None:
    """The text of the first element named `tag`, or None (paging totals, error codes)."""
    for element in iter_elements(body, tag, endpoint):
        return element.text
    return None


def refers_inside(head: bytes) -> bool:
    """Whether an answer's beginning points at values written elsewhere in it (href="#id0": SOAP encoding's
    multi-reference values, as Apache Axis 1 writes every object)."""
    return b'href="#' in head or b"href='#" in head


def inline_references(body: Body, endpoint: str, encoding: str | None = None) -> bytes:
    """The answer with each href="#id" element filled with the value of the element whose id it names, and the
    multi-reference values themselves (SOAP encoding's `multiRef` beside the answer element) dropped: paths then
    read a record where it is referenced. Read whole, as safely as any answer; the copies are bounded (a loop of
    references or a value referenced a million times is refused, not expanded)."""
    root = _Parse(body, endpoint, encoding=encoding).whole()
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    values = {el.get("id"): el for el in elements if el.get("id") is not None}
    pending = [el for el in elements if (el.get("href") or "").startswith("#")]
    budget = 4 * len(elements) + 100_000  # elements the copies may add
    used: set[str] = set()
    while pending:
        ref = pending.pop()
        name = ref.attrib.pop("href")[1:]
        target = values.get(name)
        if target is None:
            raise ProtocolError(endpoint, 'answer refers to a value (href="#…") it does not hold')
        used.add(name)
        copy = copy_element(target)
        budget -= sum(1 for _ in copy.iter())
        if budget < 0:
            raise ProtocolError(endpoint, 'answer\'s references (href="#…") loop or multiply past any record')
        for attribute, value in copy.attrib.items():
            if attribute != "id" and etree.QName(attribute).namespace != SOAP_ENCODING:
                ref.set(attribute, value)
        ref.text = copy.text
        for child in copy:
            ref.append(child)
            pending.extend(el for el in child.iter() if (el.get("href") or "").startswith("#"))
    for name in used:  # a referenced value beside the answer (in the Body) has been written where it is used
        parent = values[name].getparent()
        if parent is not None and etree.QName(parent).localname == "Body":
            parent.remove(values[name])
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8")


def parse_document(body: Body, endpoint: str) -> etree._Element:
    """A small document (a SOAP Fault, an error answer) as a tree, with the same protections."""
    return _Parse(body, endpoint).whole()


def to_text(element: etree._Element) -> str:
    """An element's XML, verbatim enough to be parsed again at load (namespaces kept)."""
    return etree.tostring(element, encoding="unicode")


def parse_record(payload: str) -> etree._Element:
    """A staged record's XML back into an element (the staged text has no prolog: it was serialized by us)."""
    return _Parse(payload.encode(), "staging").whole()


def _path_below_root(element: etree._Element) -> tuple[str, ...]:
    names = []
    while (parent := element.getparent()) is not None:
        names.append(etree.QName(element).localname)
        element = parent
    return tuple(reversed(names))


def _at(path: tuple[str, ...], steps: tuple[str, ...]) -> bool:
    return len(path) == len(steps) and all(s in ("*", p) for p, s in zip(path, steps, strict=True))


def _record_elements(parse: _Parse, steps: tuple[str, ...]) -> Iterator[etree._Element]:
    """The record elements at `steps` below the root, each dropped from the tree once the caller is done."""
    for _event, element in parse:
        if not _at(_path_below_root(element), steps):
            continue
        yield element
        element.getparent().remove(element)  # bounded memory: a read record leaves the tree


class Records:
    """The records of an answer that `scan_answer` has read whole: read again from its body, as chunks of at
    most CHUNK_RECORDS records (and about CHUNK_BYTES of XML). `len()` is how many the answer holds."""

    def __init__(self, body: Body, steps: tuple[str, ...], endpoint: str, encoding: str | None, count: int):
        self.body, self.steps, self.endpoint, self.encoding, self.count = (
            body,
            steps,
            endpoint,
            encoding,
            count,
        )
        self.keep: Callable[[dict[str, Any]], bool] | None = None  # the registry's record filter, if any
        self.nest: list[Any] = []  # the registry's records.nest: rows beside the records, joined by a key
        self.details: Any = None  # connectors.detail.DetailReader: each record's detail call (`detail`)
        self.base: tuple[str, ...] = ()  # what precedes the paths the registry writes (a SOAP answer: Body.*)
        self.mended = False  # characters XML forbids were written as markers (connectors.xmlmend)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[tuple[dict, str]]:
        """(dict, XML text) of each record, in document order."""
        from mappings.xmltree import element_to_dict

        groups = [self._rows(spec) for spec in self.nest]
        tag = f"{{*}}{self.steps[-1]}"
        parse = _Parse(self.body, self.endpoint, events=("end",), tag=tag, encoding=self.encoding)
        for element in _record_elements(parse, self.steps):
            if groups:  # each record with its rows, as if the system had nested them (connectors.nesting)
                record = element_to_dict(element)
                for spec, group in zip(self.nest, groups, strict=True):
                    for row in nesting.rows_of(record, spec, group):
                        child = copy_element(row)
                        child.tag = spec.into
                        element.append(child)
            yield element_to_dict(element), to_text(element)

    def _rows(self, spec: Any) -> dict[str, list[etree._Element]]:
        """The rows at a nest's path, by their key (one more streaming pass over the answer)."""
        from mappings.xmltree import element_to_dict

        steps = (*self.base, *spec.path.split("."))
        parse = _Parse(
            self.body, self.endpoint, events=("end",), tag=f"{{*}}{steps[-1]}", encoding=self.encoding
        )
        rows = ((element_to_dict(el), copy_element(el)) for el in _record_elements(parse, steps))
        return nesting.grouped(rows, spec)

    def chunks(self, records: int = CHUNK_RECORDS, size: int = CHUNK_BYTES) -> Iterator[PageChunk]:
        """The records (those `keep` keeps) as RawRecords, a chunk at a time; the body is closed at the end."""
        chunk: list[RawRecord] = []
        held, given = 0, 0
        try:
            for record, text in self:
                if self.keep is not None and not self.keep(record):
                    continue
                chunk.append(kept(record, text, XML, tuple(mended_defects(record)) if self.mended else ()))
                held += len(text)
                if len(chunk) >= records or held >= size:
                    yield self._chunk(chunk, continues=given > 0)
                    chunk, held, given = [], 0, given + 1
            if chunk:
                yield self._chunk(chunk, continues=given > 0)
        finally:
            self.close()

    def _chunk(self, records: list[RawRecord], continues: bool) -> PageChunk:
        return PageChunk(self.details.read(records) if self.details else records, continues)

    def close(self) -> None:
        if not isinstance(self.body, bytes | bytearray | memoryview):
            self.body.close()


def scan_answer(body: Body, records: str, endpoint: str, encoding: str | None = None) -> tuple[dict, Records]:
    """_scan_answer; an answer refused for characters XML forbids (a control character, `&#0;`) is read once
    more mended (connectors.xmlmend), each record holding one then costing itself alone. Mended or not, it is
    judged the same (DTD, XInclude, resources); still refused, the first refusal is said."""
    try:
        return _scan_answer(body, records, endpoint, encoding)
    except NotXml as refused:
        mended = mend(body, encoding)
        if mended is None:
            raise
        try:
            document, found = _scan_answer(mended, records, endpoint, encoding)
        except NotXml:
            raise refused from None
    if not isinstance(body, bytes | bytearray | memoryview):
        body.close()  # the mended copy is read from now on
    found.mended = True
    return document, found


def _scan_answer(
    body: Body, records: str, endpoint: str, encoding: str | None = None
) -> tuple[dict, Records]:
    """An XML answer read whole in one streaming pass: the rest of the answer (totals, paging, error codes,
    small) as one dict, as mappings.element_to_dict gives it (`@attr` keys), without its records — the
    elements at the local-name path `records` below the root, e.g. `DanhSach.HoSo` (`*` is any one element),
    each dropped once parsed — and those records, to be read in chunks (Records). `encoding` overrides what
    the document declares (a system that declares one charset and writes another)."""
    from mappings.xmltree import element_to_dict

    steps = tuple(records.split("."))
    parse = _Parse(body, endpoint, events=("end",), tag=f"{{*}}{steps[-1]}", encoding=encoding)
    count = sum(1 for _ in _record_elements(parse, steps))
    if not count and parse.root is not None:
        _no_record_but_elsewhere(parse.root, records, endpoint)
    document = element_to_dict(parse.root) if parse.root is not None else {}
    return document, Records(body, steps, endpoint, encoding, count)


def _no_record_but_elsewhere(root: etree._Element, records: str, endpoint: str) -> None:
    """No record at the path, but elements that the path names when it is read from the root element itself:
    `records` was written from the root (it is read below it), and a sync would read nothing without saying so."""
    steps = tuple(records.split("."))
    for element in root.iter(f"{{*}}{steps[-1]}") if steps[-1] != "*" else ():
        below = _path_below_root(element)
        if not _at((etree.QName(root).localname, *below)[-len(steps) :], steps):
            continue  # an element of that name that is something else (a count, a step's dossier)
        where = ".".join(below)
        raise ProtocolError(
            endpoint,
            f"no record at {records!r} below the root element <{etree.QName(root).localname}>, but the answer "
            f"has <{steps[-1]}> elements at {where!r}: `records` is the path below the root element",
        )


def read_answer(
    body: Body, records: str, endpoint: str, encoding: str | None = None
) -> tuple[dict, list[tuple[dict, str]]]:
    """scan_answer, with every record at once as (its dict, its XML): for small answers and tests."""
    document, found = scan_answer(body, records, endpoint, encoding)
    return document, list(found)


def read_document(body: Body, endpoint: str, encoding: str | None = None) -> dict:
    """A small XML answer (a login's, an error's) as one dict below its root, with the same protections."""
    from mappings.xmltree import element_to_dict

    return element_to_dict(_Parse(body, endpoint, encoding=encoding).whole())
