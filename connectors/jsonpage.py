"""A JSON page read so that one bad record costs one record: each record's own text as the source sent it, and
what is wrong inside it (duplicate keys, NaN, NUL, lone surrogates, control characters, an oversized record) as
defects that quarantine that record alone.

The page is walked with the standard library's C scanner down the records path only; each record is scanned on
its own, which gives its exact span in the page. What cannot be read around (not JSON, nested too deep, a record
whose end cannot be found) refuses the whole page, with the byte offset where reading stopped.
"""

from __future__ import annotations

import codecs
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from json.decoder import scanstring
from json.scanner import make_scanner
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from connectors.base import (
    EXCERPT,
    JSON,
    RECORD_LIMIT,
    Defect,
    RawRecord,
    Unreadable,
    kept,
    unguarded,
)
from connectors.errors import RefusedAnswer
from schemas.jsontext import long_digits, visible

if TYPE_CHECKING:
    from connectors.spec.rest import RowsSpec

_WS = re.compile(r"[ \t\n\r]*")
# Escapes and raw characters a record may not carry: NUL and other C0 controls but tab/newline/return, DEL,
# UTF-16 surrogates (a paired escape is fine: checked on the parsed value). Searched in each record's text.
_ESCAPED = re.compile(r"\\u(?:00[01][0-9a-fA-F]|007[fF]|[dD][89a-fA-F])")
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_NOT_NUMBERS = {"NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity"}


class _RecordScanner:
    """Scans one record at a time, noting duplicate keys and the non-numbers JSON does not have."""

    def __init__(self) -> None:
        self.duplicates: list[str] = []
        self.not_numbers: list[str] = []
        hooks: dict[str, Any] = {
            "object_pairs_hook": self._object,
            "parse_constant": self._constant,
            "parse_float": self._float,
        }
        decoder, lenient = json.JSONDecoder(**hooks), json.JSONDecoder(**hooks, strict=False)
        self._strict, self._lenient = make_scanner(decoder), make_scanner(lenient)

    def _object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        record = dict(pairs)
        if len(record) != len(pairs):
            seen: set[str] = set()
            self.duplicates += [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
        return record

    def _constant(self, name: str) -> float:
        self.not_numbers.append(_NOT_NUMBERS.get(name, name))
        return float(name)

    def _float(self, text: str) -> float:
        value = float(text)
        if math.isinf(value):
            self.not_numbers.append(text)
        return value

    def scan(self, text: str, at: int) -> tuple[Any, int, bool]:
        """(the value at `at`, where it ends, whether it held raw control characters)."""
        self.duplicates, self.not_numbers = [], []
        try:
            value, end = self._strict(text, at)
            return value, end, False
        except json.JSONDecodeError as exc:
            if not exc.msg.startswith("Invalid control character"):
                raise
        self.duplicates, self.not_numbers = [], []
        value, end = self._lenient(text, at)
        return value, end, True


def _offending(value: Any, wanted: Callable[[Any], bool], path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, what) for each key or value inside `value` for which `wanted` holds: `applicant.name`, `files[2]`."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if wanted(key):
                yield where, key
            elif wanted(item):
                yield where, item
            if isinstance(item, dict | list):
                yield from _offending(item, wanted, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            where = f"{path}[{i}]"
            if wanted(item):
                yield where, item
            if isinstance(item, dict | list):
                yield from _offending(item, wanted, where)


def _bad_text(value: Any) -> bool:
    return isinstance(value, str) and _FORBIDDEN.search(value) is not None


def _not_number(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def describe_character(text: str) -> str:
    """The first forbidden character of `text` and where it stands: `a control character U+0000 at position 5`."""
    m = _FORBIDDEN.search(text)
    if m is None:
        return ""
    kind = (
        "a lone surrogate (bytes that are not text)"
        if "\ud800" <= m[0] <= "\udfff"
        else "a control character"
    )
    return f"{kind} U+{ord(m[0]):04X} at position {m.start()}"


def _defects(record: Any, span: str, scanner: _RecordScanner, raw_controls: bool) -> list[Defect]:
    found: list[Defect] = []
    if scanner.duplicates:
        names = set(scanner.duplicates)
        for path, _ in dict.fromkeys(_offending(record, lambda k: isinstance(k, str) and k in names)):
            found.append(Defect(path, "duplicate key: the record gives this field more than once"))
    if scanner.not_numbers:
        for path, _ in _offending(record, _not_number):
            found.append(Defect(path, "not a JSON number (NaN, Infinity, or beyond any float)"))
    if raw_controls or ("\\u" in span and _ESCAPED.search(span) is not None):
        found += character_defects(record)
    return found


def unreadable_defects(record: Any) -> list[Defect]:
    """A defect for each value inside `record` its answer's reader could not read as its type (Unreadable)."""
    return [
        Defect(path, value.why) for path, value in _offending(record, lambda v: isinstance(v, Unreadable))
    ]


def character_defects(record: Any) -> list[Defect]:
    """A defect for each text inside `record` (keys too) holding a control character or a lone surrogate."""
    return [Defect(path, describe_character(text)) for path, text in _offending(record, _bad_text)]


def raw_record(record: Any, span: str, defects: list[Defect], raw_text: bool = True) -> RawRecord:
    """A record with its text as sent (connectors.base.kept); one that is not an object is a defect of its own.
    `raw_text`: the text may hold a raw NUL or undecodable bytes, written as the escapes that name them
    (schemas.jsontext.visible: the same JSON)."""
    if not isinstance(record, dict):
        defects = [*defects, Defect("(record)", f"a record must be a JSON object, not {value_kind(record)}")]
        record = {}
    return kept(record, visible(span) if raw_text else span, JSON, tuple(defects))


# A record as the page's reader scanned it, before a RawRecord is made of it (connectors.positional names a
# row's cells first): its value, its text as sent, what is wrong inside it, whether that text may hold raw NULs
# or undecodable bytes (raw_record's `raw_text`).
Scanned = tuple[Any, str, list[Defect], bool]


class ColumnsRefused(ValueError):
    """Rows whose columns the answer names so that none could be read right (connectors.positional): the page is
    refused."""


COMBINING_CHARSETS = frozenset({"cp1258"})  # Windows-1258: most Vietnamese tones are combining marks


def _escape(error: UnicodeError) -> tuple[str, int]:
    """Undecodable bytes as the lone surrogates U+DC00 + byte, as "surrogateescape" writes them, for every codec:
    that one refuses a byte below 0x80, which UTF-16 and UTF-32 leave undecoded too (a lone surrogate, an odd
    length, a binary body their NULs made look like text)."""
    assert isinstance(error, UnicodeDecodeError)
    return "".join(chr(0xDC00 + b) for b in error.object[error.start : error.end]), error.end


codecs.register_error("onestop-escape", _escape)


def decode(body: bytes, charset: str | None) -> tuple[str, bool]:
    """The page's text — the declared charset, else UTF-8/16/32 by its first bytes (RFC 8259 §8.1) — and whether
    some bytes did not decode: those stay as lone surrogates, so that they cost their own record, not the page."""
    encoding = charset or json.detect_encoding(body)
    try:
        text, broken = body.decode(encoding), False
    except UnicodeDecodeError:
        text, broken = body.decode(encoding, "onestop-escape"), True
    if not text.isascii() and codecs.lookup(encoding).name in COMBINING_CHARSETS:
        # Tones written as combining marks: in NFC, keys such as "Mã hồ sơ" read as the mapping's paths write
        # them (no JSON structural character composes with a mark, so only the texts change).
        text = unicodedata.normalize("NFC", text)
    return (text[1:] if text.startswith("\ufeff") else text), broken


class PageReader:
    """Reads JSON pages of one source: `read(body)` → (the answer without its records parsed twice, records)."""

    def __init__(self, endpoint: str, records_path: str, rows: RowsSpec | None = None) -> None:
        from mappings.paths import parse_steps

        self.endpoint, self.charset = endpoint, None
        # Records that are rows of cells (`records.rows`): scanned as any record, named once the page is read.
        self._namer = None
        if rows is not None:
            from connectors.positional import RowNamer  # it reads rows with this module's helpers

            self._namer = RowNamer(rows, records_path)
        self._scanned: list[Scanned] = []
        self.steps: tuple[str | int, ...] = parse_steps(records_path)[0] if records_path else ()
        self._value = make_scanner(json.JSONDecoder())
        self._record = _RecordScanner()
        self._broken = self._listed = False
        self._spans = _span_decoder(self.steps)
        # Set by a caller that parses the records elsewhere (the extract's normalizing workers): see _read_unparsed.
        self.unparsed = False

    def _read_fast(self, body: bytes) -> tuple[Any, list[RawRecord] | None] | None:
        """The common case at C speed: the page parsed by orjson, each record's span found by msgspec (`Raw`).
        A record is read again by the exact scanner only when a cheap look
        at its bytes leaves a doubt: a key count that differs from what was parsed (a duplicate), a key written
        `"k" :`, an escaped control character or quote. None when orjson refuses the page (NaN, a lone
        surrogate, a raw control character, not JSON): the exact reader then says why, or reads around it. A
        page with a run of 19 digits anywhere goes to the exact reader too: orjson would turn an integer beyond
        64 bits into a float, silently changing a source's value (a run inside a string costs only speed)."""
        if long_digits(body):
            return None
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        records: Any = document
        for step in self.steps:
            records = records.get(step) if isinstance(records, dict) else None
        if not isinstance(records, list):
            return None if keyed_list(records) or records == {} else (document, None)  # read exactly
        spans: Any = self._spans.decode(body)  # type: ignore[union-attr]
        for _ in self.steps:
            spans = spans.at
        if len(spans) != len(records):
            return None
        spaced = _SPACED_COLON.search(body) is not None
        escaped = b"\\u00" in body and _ESCAPED_DOUBT.search(body) is not None
        scanned: list[Scanned] = []
        for record, span in zip(records, spans, strict=True):
            data = bytes(span)
            text = data.decode()
            record, defects = _checked_value(data, text, record, self._record, spaced, escaped)
            scanned.append((record, text, defects, False))
        return document, self._made(document, scanned)

    def _read_unparsed(self, body: bytes) -> tuple[Any, list[RawRecord] | None] | None:
        """`unparsed`: the page split into its records' texts by msgspec alone (they are checked and parsed by
        whoever normalizes them: read_text), the rest of the answer parsed; the records list stands in the
        answer as that many nulls (its length and emptiness as sent). None when the fast reading does not apply
        (a run of 19 digits, the records path not leading to a list): then the page is read as always."""
        if long_digits(body):
            return None
        around = _around(body, self.steps)
        if around is None:
            return None
        document, spans = around
        found = []
        for span in spans:
            data = bytes(span)
            text = data.decode()
            # A record maybe past the size limit is parsed here: its id is read from it before it is cut.
            if len(text) > RECORD_LIMIT // 4:
                found.append(_checked(data, text, orjson.loads(data), self._record))
            else:
                found.append(RawRecord({}, text, JSON, parsed=False))
        return document, found

    def read(
        self, body: bytes, operation: str = "page", charset: str | None = None
    ) -> tuple[Any, list[RawRecord] | None]:
        """The answer (its records parsed once) and the records as RawRecords; None when the records path does
        not lead to a list (the pager says what the answer holds instead)."""
        body = unguarded(body)
        try:
            return self._read(body, operation, charset)
        except ColumnsRefused as exc:
            # rows whose columns the answer names wrongly: every record on the page would be wrong
            raise self._refused(body, "", operation, str(exc), None) from None
        finally:
            self._scanned = []

    def _read(self, body: bytes, operation: str, charset: str | None) -> tuple[Any, list[RawRecord] | None]:
        if charset is None and self._spans is not None:
            unbommed = body[3:] if body.startswith(b"\xef\xbb\xbf") else body
            try:
                fast = self._read_unparsed(unbommed) if self.unparsed and self._namer is None else None
                fast = fast or self._read_fast(unbommed)
            except (msgspec.DecodeError, orjson.JSONDecodeError, RecursionError, UnicodeDecodeError):
                fast = None  # the exact reader says why, or reads around it
            if fast is not None:
                return fast
        self.charset, self._listed = charset, False
        text, self._broken = decode(body, charset)
        found: list[RawRecord] = []
        try:
            at = _WS.match(text, 0).end()  # type: ignore[union-attr]
            document, end = self._walk(text, at, self.steps, found)
            end = _WS.match(text, end).end()  # type: ignore[union-attr]
            if end != len(text):
                said = "a second value follows the first" + (
                    "; a value per line is NDJSON: write `answer: ndjson`"
                    if text[end - 1 : end] == "\n"
                    else ""
                )
                raise json.JSONDecodeError(said, text, end)
        except json.JSONDecodeError as exc:
            raise self._refused(body, text, operation, f"answer is not JSON ({exc.msg})", exc.pos) from None
        except StopIteration as exc:
            raise self._refused(
                body, text, operation, "answer is not JSON (expecting a value)", exc.value
            ) from None
        except RecursionError:
            raise self._refused(body, text, operation, "answer is nested too deep to read", None) from None
        if not self._listed:
            return document, None
        return document, (self._made(document, self._scanned) if self._namer is not None else found)

    def _made(self, document: Any, scanned: list[Scanned]) -> list[RawRecord]:
        """The page's records from what was scanned: rows named by their columns (`records.rows`: raises
        ColumnsRefused), or each record as it came."""
        if self._namer is not None:
            return self._namer.records(document, scanned)
        return [raw_record(record, text, defects, raw) for record, text, defects, raw in scanned]

    def _refused(self, body: bytes, text: str, operation: str, cause: str, pos: int | None) -> RefusedAnswer:
        offset = None
        if pos is not None:
            try:  # bytes a decoder left as lone surrogates count as the bytes they were
                offset = len(text[:pos].encode(self.charset or "utf-8", "surrogateescape"))
            except (UnicodeError, LookupError):  # UTF-16 read as its bytes said: where in the text
                offset = pos
        where = f" at byte {offset}" if offset is not None else ""
        said = (
            f"{cause}{where}" if operation == "page" else f"{operation}: {cause}{where}"
        )  # on_page names it
        return RefusedAnswer(self.endpoint, said, excerpt=body[:EXCERPT], offset=offset, charset=self.charset)

    def _walk(
        self, text: str, at: int, steps: tuple[str | int, ...], found: list[RawRecord]
    ) -> tuple[Any, int]:
        """The value at `at`; the one `steps` lead to (a list) is read record by record into `found`."""
        char = text[at : at + 1]
        if not steps:
            if char == "{":  # a list PHP wrote as an object ({"0": {…}, "5": {…}}), or no records here
                return self._keyed_records(text, at, found)
            if char != "[":
                return self._value(text, at)  # not a list: the pager says there are no records here
            return self._records(text, at, found)
        step = steps[0]
        if char == "{" and isinstance(step, str):
            document: dict[str, Any] = {}
            at = _WS.match(text, at + 1).end()  # type: ignore[union-attr]
            if text[at : at + 1] == "}":
                return document, at + 1
            while True:
                if text[at : at + 1] != '"':
                    raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, at)
                key, at = scanstring(text, at + 1)
                at = _WS.match(text, at).end()  # type: ignore[union-attr]
                if text[at : at + 1] != ":":
                    raise json.JSONDecodeError("Expecting ':' delimiter", text, at)
                at = _WS.match(text, at + 1).end()  # type: ignore[union-attr]
                if key == step:
                    document[key], at = self._walk(text, at, steps[1:], found)
                else:
                    document[key], at = self._value(text, at)
                at = _WS.match(text, at).end()  # type: ignore[union-attr]
                char = text[at : at + 1]
                if char == "}":
                    return document, at + 1
                if char != ",":
                    raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
                at = _WS.match(text, at + 1).end()  # type: ignore[union-attr]
        if char == "[" and isinstance(step, int):
            items: list[Any] = []
            at = _WS.match(text, at + 1).end()  # type: ignore[union-attr]
            while text[at : at + 1] != "]":
                if len(items) == step:
                    item, at = self._walk(text, at, steps[1:], found)
                else:
                    item, at = self._value(text, at)
                items.append(item)
                at = _WS.match(text, at).end()  # type: ignore[union-attr]
                if text[at : at + 1] == ",":
                    at = _WS.match(text, at + 1).end()  # type: ignore[union-attr]
                elif text[at : at + 1] != "]":
                    raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
            return items, at + 1
        return self._value(text, at)

    def _records(self, text: str, at: int, found: list[RawRecord]) -> tuple[list[Any], int]:
        self._listed = True
        records: list[Any] = []
        at = _WS.match(text, at + 1).end()  # type: ignore[union-attr]
        if text[at : at + 1] == "]":
            return records, at + 1
        while True:
            at = self._one_record(text, at, found, records)
            char = text[at : at + 1]
            if char == "]":
                return records, at + 1
            if char != ",":
                raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
            at = _WS.match(text, at + 1).end()  # type: ignore[union-attr]

    def _keyed_records(self, text: str, at: int, found: list[RawRecord]) -> tuple[Any, int]:
        """An object at the records path: when every key is an index (PHP's json_encode of an array with gaps,
        or of one that was filtered: `{"20": {…}, "21": {…}}`), its values are the records, in the order sent
        (a key sent twice: both records); else it is a value, and the pager says there are no records here."""
        value, end = self._value(text, at)
        if not keyed_list(value) and value != {}:
            return value, end
        self._listed = True
        records: list[Any] = []
        at = _WS.match(text, at + 1).end()  # type: ignore[union-attr]
        while text[at : at + 1] == '"':
            _key, at = scanstring(text, at + 1)
            at = _WS.match(text, at).end()  # type: ignore[union-attr]
            at = _WS.match(text, at + 1).end()  # type: ignore[union-attr]  # past the ':' the scan above saw
            at = self._one_record(text, at, found, records)
            if text[at : at + 1] == ",":
                at = _WS.match(text, at + 1).end()  # type: ignore[union-attr]
        return records, end

    def _one_record(self, text: str, at: int, found: list[RawRecord], records: list[Any]) -> int:
        """The record at `at`, scanned on its own (its exact span, its defects); where the text goes on after it."""
        scanner = self._record
        record, end, raw_controls = scanner.scan(text, at)
        span = text[at:end]
        defects = _defects(record, span, scanner, raw_controls or self._broken)
        if self._namer is not None:  # a row: named once the whole answer is read (its columns may follow it)
            self._scanned.append((record, span, defects, raw_controls or self._broken))
            records.append(record)
        else:
            raw = raw_record(record, span, defects, raw_controls or self._broken)
            found.append(raw)
            records.append(raw.record)
        return _WS.match(text, end).end()  # type: ignore[union-attr]


TOO_DEEP = "the record is nested deeper than 254 levels of lists and objects"
_SPACED_COLON = re.compile(rb'"[ \t\r\n]+:')
_ESCAPED_DOUBT = re.compile(rb"\\u00(?:22|[01][0-9a-fA-F]|7[fF])")


def _doubtful(data: bytes, record: Any, spaced: bool = True, escaped: bool = True) -> bool:
    """Whether a record's bytes need the exact scanner: its keys, counted as written, are more than were parsed
    (a duplicate); a key is written `"k" :` (it escapes that count); an escaped quote, NUL or other control
    character. Substring counts and searches only: no Python loop over the record. `spaced`/`escaped`: whether
    the page holds either at all (one search of the page spares one per record). A record written exactly as
    orjson writes it back (compact JSON, as many systems send) has neither a duplicate nor a spaced key: its
    bytes are not counted (2,500-byte records: 8 µs spared)."""
    written = orjson.dumps(record)
    if written != data:
        if data.count(b'":') != written.count(b'":'):
            return True
        if spaced and _SPACED_COLON.search(data):
            return True
    return escaped and b"\\u00" in data and _ESCAPED_DOUBT.search(data) is not None


def _checked_value(
    data: bytes,
    text: str,
    record: Any,
    scanner: _RecordScanner | None,
    spaced: bool = True,
    escaped: bool = True,
) -> tuple[Any, list[Defect]]:
    """A record parsed by orjson, read again by the exact scanner when its bytes leave a doubt (_doubtful): its
    value and defects. One nested deeper than JSON is written back (orjson reads 1,024 levels, writes 254) is a
    defect of its own."""
    try:
        doubtful = _doubtful(data, record, spaced, escaped)
    except orjson.JSONEncodeError:
        return record, [Defect("(record)", TOO_DEEP)]
    if not doubtful:
        return record, []
    scanner = scanner or _RecordScanner()
    record, _, raw_controls = scanner.scan(text, 0)
    return record, _defects(record, text, scanner, raw_controls)


def _checked(data: bytes, text: str, record: Any, scanner: _RecordScanner | None) -> RawRecord:
    """_checked_value's record as a RawRecord."""
    record, defects = _checked_value(data, text, record, scanner)
    return raw_record(record, text, defects, raw_text=False)


def read_text(text: str, digits_checked: bool = False) -> RawRecord:
    """A record its page's reader left unparsed (PageReader.unparsed), read as that reader reads a page's
    records: parsed by orjson and checked by _doubtful, else (a NaN, a number beyond any float, a run of 19
    digits) by the exact scanner, which names what is wrong. `digits_checked`: its page was found to hold no
    run of 19 digits (the unparsed reader looks for one before it splits a page)."""
    data = text.encode()
    if digits_checked or not long_digits(data):
        try:
            return _checked(data, text, orjson.loads(data), None)
        except orjson.JSONDecodeError:
            pass
    record, defects = read_record(text)
    return raw_record(record, text, defects, raw_text=False)


_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_LIST = msgspec.json.Decoder(list[msgspec.Raw])


def _around(body: Any, steps: tuple[str | int, ...]) -> tuple[Any, list[msgspec.Raw]] | None:
    """(the answer with the records list at `steps` as that many nulls, the records' spans), or None when a step
    is missing. Raises msgspec.DecodeError for what is not JSON or not of the shape the steps say."""
    if not steps:
        spans = _LIST.decode(body)
        return [None] * len(spans), spans
    level, step, document = _OBJECT.decode(body), steps[0], {}
    if step not in level:
        return None
    spans: list[msgspec.Raw] = []
    for key, value in level.items():
        if key == step:
            inner = _around(value, steps[1:])
            if inner is None:
                return None
            document[key], spans = inner
        else:
            document[key] = orjson.loads(memoryview(value))
    return document, spans


_UNNAMEABLE = re.compile(r'[\\"\x00-\x1f\ud800-\udfff]')


def _span_decoder(steps: tuple[str | int, ...]) -> msgspec.json.Decoder | None:
    """A msgspec decoder that finds the records list at `steps` (keys only) and keeps each record as Raw bytes,
    skipping everything else; each level's one field is `at`."""
    # msgspec takes no field name with a backslash, a quote, a control character or a lone surrogate (keys a path
    # can still name): such a records path is read by the exact scanner alone.
    if not all(isinstance(step, str) and _UNNAMEABLE.search(step) is None for step in steps):
        return None
    kind: Any = list[msgspec.Raw]
    for depth, step in enumerate(reversed(steps)):
        kind = msgspec.defstruct(f"Level{depth}", [("at", kind)], rename={"at": step})
    return msgspec.json.Decoder(kind)


_INDEX = re.compile(r"0|[1-9][0-9]{0,8}")


def keyed_list(value: Any) -> bool:
    """Is `value` a list written as a JSON object: keys that are all indexes, values that are all objects (what
    PHP's json_encode writes for an array whose keys do not run 0, 1, 2, …)?"""
    return (
        isinstance(value, dict)
        and bool(value)
        and all(_INDEX.fullmatch(k) for k in value)
        and all(isinstance(v, dict) for v in value.values())
    )


def value_kind(value: Any) -> str:
    """What a JSON value is, as reasons say it: a list, a string, a boolean, null, a number."""
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def read_lines(body: bytes, charset: str | None = None) -> list[RawRecord]:
    """An NDJSON answer (`answer: ndjson`): each line that is not blank is one record. A line that is not one JSON
    value costs that record alone (a defect: quarantined, its text kept), never the page."""
    text, _ = decode(body, charset)
    found = []
    for line in text.split("\n"):  # NDJSON's separator; a JSON text holds no raw newline
        line = line.rstrip("\r")
        if not line.strip():
            continue
        try:
            found.append(read_text(line))
        except ValueError as exc:
            defect = Defect("(record)", f"the line is not one JSON value ({exc})")
            found.append(kept({}, visible(line), JSON, (defect,)))
    return found


def read_record(text: str) -> tuple[Any, list[Defect]]:
    """One record's text (a staged or quarantined payload) read as a page's record is: its value and defects.
    Raises ValueError when the text is not one JSON value."""
    scanner = _RecordScanner()
    at = _WS.match(text, 0).end()  # type: ignore[union-attr]
    try:
        record, end, raw_controls = scanner.scan(text, at)
    except StopIteration:
        raise ValueError("expecting a value at position 0") from None
    if _WS.match(text, end).end() != len(text):  # type: ignore[union-attr]
        raise ValueError(f"extra data at position {end}")
    defects = _defects(record, text, scanner, raw_controls or _FORBIDDEN.search(text) is not None)
    return record, defects
