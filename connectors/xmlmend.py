"""Characters XML forbids, as legacy systems still write them, costing the record that holds them, not its page.

XML 1.0 allows no C0 control character but tab, newline and return, neither raw nor as a character reference
(`&#0;`, `&#x1A;`), and no reference to a surrogate, to U+FFFE/U+FFFF or past U+10FFFF. Yet an ADO Recordset
persisted by a VB6 component, or a page that concatenates its XML, writes whatever the database holds: a name
pasted from Word with a U+0001, a NUL at the end of a fixed-width column. libxml2 then refuses the whole answer,
and one bad value would stop every sync of the district until the vendor cleans its data.

An answer refused so is mended once, when its encoding writes ASCII as ASCII (UTF-8, Windows-125x, ISO 8859:
there a byte below 0x20 is that control character and a reference is ASCII text): each forbidden character
becomes a reference to a marker, the non-character U+FDD0 + its code point (a reference to U+FFFE or U+FFFF:
U+FDDA, U+FDDD; to a surrogate or past U+10FFFF: U+FDD9), which XML allows and no text of a district system
holds. Inside a CDATA
section the reference is written between two sections. Nothing else changes: no DTD, entity or fetch becomes
possible (the mended answer is judged as any answer), and a forbidden character in a name of markup still
leaves the answer refused. Each record that holds a marker is quarantined naming the field and the character
(`mended_defects`); the mapping refuses non-characters in every text, so no marker reaches a dossier.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import IO, Any

from connectors.base import Defect

MARK = 0xFDD0  # the marker of control character c is MARK + c
# The markers tab, newline and return never need, for the other references XML forbids.
OTHER = MARK + 0x09  # a surrogate, or past U+10FFFF: said as the marker itself (its code point is not kept)
NONCHARACTERS = {0xFFFE: MARK + 0x0A, 0xFFFF: MARK + 0x0D}
_SAID = {mark: code for code, mark in NONCHARACTERS.items()}
MEND_LIMIT = 64 << 20  # an answer past this is not mended (it is refused, as it was)
_MARKERS = re.compile("[\ufdd0-\ufdef]")
# What may need mending, in document order: a CDATA section or a comment as a whole (references are text
# there), a character reference, a raw forbidden control byte.
_TOKEN = re.compile(
    rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->|&#(?:x([0-9A-Fa-f]+)|([0-9]+));|[\x00-\x08\x0b\x0c\x0e-\x1f]",
    re.DOTALL,
)
_RAW = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _allowed(code: int) -> bool:
    """XML 1.0's Char production."""
    return (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def _marker(code: int) -> bytes:
    mark = MARK + code if code < 0x20 else NONCHARACTERS.get(code, OTHER)
    return f"&#x{mark:X};".encode("ascii")


def _ascii_compatible(head: bytes, encoding: str | None) -> bool:
    """Whether the body writes ASCII as ASCII: told so by its encoding, else by its first bytes (a UTF-16 or
    UTF-32 document, with a byte-order mark or not, does not)."""
    if encoding is not None:
        try:
            return "<?&#x;]>".encode(codecs.lookup(encoding).name) == b"<?&#x;]>"
        except (LookupError, UnicodeError):
            return False
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    return head[:1] == b"<" and b"\x00" not in head[:4]


def mend(body: bytes | IO[bytes], encoding: str | None = None) -> bytes | None:
    """The body with each character XML forbids written as a reference to its marker, or None when nothing
    was mended (no such character, an encoding that is not ASCII-compatible, a body past MEND_LIMIT)."""
    if isinstance(body, bytes | bytearray | memoryview):
        data = bytes(body)
    else:
        body.seek(0)
        data = body.read(MEND_LIMIT + 1)
        body.seek(0)
    if len(data) > MEND_LIMIT or not _ascii_compatible(data[:64], encoding):
        return None
    changed = False

    def fix(found: re.Match[bytes]) -> bytes:
        nonlocal changed
        token = found[0]
        if token.startswith(b"<!--"):  # a comment is dropped by the parser: its content need only parse
            mended = _RAW.sub(b" ", token)
        elif token.startswith(b"<![CDATA["):  # a reference is text inside: end the section around it
            mended = _RAW.sub(lambda raw: b"]]>" + _marker(raw[0][0]) + b"<![CDATA[", token)
        elif token.startswith(b"&#"):
            digits = (found[1] or found[2]).lstrip(b"0") or b"0"
            code = int(digits, 16 if found[1] else 10) if len(digits) <= 8 else 0x110000  # no 1 MB number
            mended = token if _allowed(code) else _marker(code)
        else:
            mended = _marker(token[0])
        changed = changed or mended != token
        return mended

    result = _TOKEN.sub(fix, data)
    return result if changed else None


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, text) for each key and text inside a record: `@HoTen`, `QuaTrinh[2].@NoiDung`."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield where, str(key)
            yield from _walk(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value


def mended_defects(record: Any) -> list[Defect]:
    """A defect for each field of a mended answer's record that held a character XML forbids: the field, the
    character and where it stood, as the mapping says of a bad character (never the value: it may be personal
    data)."""
    defects: list[Defect] = []
    for path, text in _walk(record):
        found = _MARKERS.search(text)
        if found is None:
            continue
        mark, at = ord(found[0]), found.start() + 1
        if mark in _SAID:
            said = f"non-character U+{_SAID[mark]:04X} at position {at}"
        elif mark == OTHER:
            said = f"non-character U+{OTHER:04X} at position {at}"
        else:
            said = f"a control character U+{mark - MARK:04X} at position {at}"
        defects.append(Defect(path, said))
    return defects
