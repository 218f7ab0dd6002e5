"""Safe XML for answers from district systems: no DTD, no entity expansion, no network, bounded size.

Bodies arrive already capped by connectors.http; records are read with lxml iterparse (each record element
is handed over and then cleared), so no whole response tree is ever held.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from lxml import etree

from connectors.errors import ProtocolError

_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_ROOT_START = re.compile(rb"<[A-Za-z_]")
PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}


def refuse_dtd(body: bytes, endpoint: str) -> None:
    """Refuse a document with a DTD before any parser sees it."""
    # A DTD (and so any entity declaration) can only stand in the prolog, before the root element.
    root = _ROOT_START.search(body)
    if _DOCTYPE.search(body[: root.start() if root else len(body)]):
        raise ProtocolError(endpoint, "answer carries a DTD (<!DOCTYPE>/<!ENTITY>): refused, nothing parsed")


def iter_elements(body: bytes, tag: str, endpoint: str) -> Iterator[etree._Element]:
    """Every element named `tag` (any namespace), in document order; each is cleared once consumed."""
    refuse_dtd(body, endpoint)
    try:
        for _event, element in etree.iterparse(
            io.BytesIO(body), events=("end",), tag=f"{{*}}{tag}", **PARSER_OPTIONS
        ):
            yield element
            element.clear(keep_tail=True)
    except etree.XMLSyntaxError as exc:
        raise ProtocolError(endpoint, f"answer is not well-formed XML: {exc}") from exc


def first_text(body: bytes, tag: str, endpoint: str) -> str | None:
    """The text of the first element named `tag`, or None (paging totals, error codes)."""
    for element in iter_elements(body, tag, endpoint):
        return element.text
    return None


def parse_document(body: bytes, endpoint: str) -> etree._Element:
    """A small document (a SOAP Fault, an error answer) as a tree, with the same protections."""
    refuse_dtd(body, endpoint)
    try:
        return etree.fromstring(body, etree.XMLParser(**PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise ProtocolError(endpoint, f"answer is not well-formed XML: {exc}") from exc


def to_text(element: etree._Element) -> str:
    """An element's XML, verbatim enough to be parsed again at load (namespaces kept)."""
    return etree.tostring(element, encoding="unicode")


def parse_record(payload: str) -> etree._Element:
    """A staged record's XML back into an element (the staged text has no prolog: it was serialized by us)."""
    refuse_dtd(payload.encode(), "staging")
    return etree.fromstring(payload.encode(), etree.XMLParser(**PARSER_OPTIONS))


def _path_below_root(element: etree._Element) -> tuple[str, ...]:
    names = []
    while (parent := element.getparent()) is not None:
        names.append(etree.QName(element).localname)
        element = parent
    return tuple(reversed(names))


def _at(path: tuple[str, ...], steps: tuple[str, ...]) -> bool:
    return len(path) == len(steps) and all(s in ("*", p) for p, s in zip(path, steps, strict=True))


def read_answer(
    body: bytes, records: str, endpoint: str, encoding: str | None = None
) -> tuple[dict, list[tuple[dict, str]]]:
    """An XML answer in one streaming pass: each record element — the local-name path `records` below the root,
    e.g. `DanhSach.HoSo` (`*` is any one element) — as (its dict, its XML), dropped from the tree once read; and
    the rest of the answer (totals, paging, error codes: small) as one dict, as mappings.element_to_dict gives it
    (`@attr` keys). `encoding` overrides what the document declares (a system that declares one charset and
    writes another)."""
    from mappings.xmltree import element_to_dict

    steps = tuple(records.split("."))
    refuse_dtd(body, endpoint)
    found: list[tuple[dict, str]] = []
    options = {**PARSER_OPTIONS, **({"encoding": encoding} if encoding else {})}
    context = etree.iterparse(io.BytesIO(body), events=("end",), tag=f"{{*}}{steps[-1]}", **options)
    try:
        for _event, element in context:
            if not _at(_path_below_root(element), steps):
                continue
            found.append((element_to_dict(element), to_text(element)))
            element.getparent().remove(element)  # bounded memory: a read record leaves the tree
    except etree.XMLSyntaxError as exc:
        raise ProtocolError(endpoint, f"answer is not well-formed XML: {exc}") from exc
    root = context.root
    return (element_to_dict(root) if root is not None else {}), found


def read_document(body: bytes, endpoint: str, encoding: str | None = None) -> dict:
    """A small XML answer (a login's, an error's) as one dict below its root, with the same protections."""
    from mappings.xmltree import element_to_dict

    refuse_dtd(body, endpoint)
    options = {**PARSER_OPTIONS, **({"encoding": encoding} if encoding else {})}
    try:
        return element_to_dict(etree.fromstring(body, etree.XMLParser(**options)))
    except etree.XMLSyntaxError as exc:
        raise ProtocolError(endpoint, f"answer is not well-formed XML: {exc}") from exc
