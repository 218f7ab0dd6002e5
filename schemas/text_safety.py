"""Characters no text field may hold, and invisible ones that free text loses: one definition for the model's
text types, the mapping engine (which screens every text value it produces) and every error text.

FORBIDDEN anywhere: a record carrying one is quarantined, naming the field and the character.
  - C0 controls U+0000–U+001F except tab, line feed and carriage return (those three are allowed in free text
    only), DEL U+007F and the C1 controls U+0080–U+009F. PostgreSQL's text refuses U+0000, its jsonb refuses
    the \\u0000 escape, and the others are never part of a dossier (TCVN3/VNI mojibake that holds C1 bytes is
    decoded by the legacy transforms before this check).
  - lone surrogates U+D800–U+DFFF: Python holds them after json.loads('"\\ud800"'); UTF-8 cannot encode them.
    pydantic refuses them itself (`string_unicode`), so they are not in the patterns below.
  - the non-characters of the Basic Multilingual Plane: U+FDD0–U+FDEF, U+FFFE and U+FFFF (a U+FFFE is a
    byte-swapped BOM: UTF-16 read with the wrong byte order). Those of the other planes encode and store as
    any character and are left alone.

INVISIBLE: the format characters (Unicode category Cf) that show nothing or reorder what is shown:
  - bidi controls: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069;
  - zero-width characters and joiners: U+200B–U+200D, U+2060–U+2064 (word joiner, invisible operators), U+FEFF
    (BOM, zero-width no-break space);
  - U+00AD soft hyphen, U+180E Mongolian vowel separator, U+206A–U+206F deprecated format characters,
    U+FFF9–U+FFFB interlinear annotation marks.
  In free text (names, addresses, notes, …) the mapping removes them and records TextFix(field, "bidi") for
  direction controls and TextFix(field, "invisible") for the others;
  in codes and identifiers (MaHoSo, ID numbers, phone, e-mail, agency/procedure/unit/status codes, URLs) a
  record carrying one is quarantined. Vietnamese text needs none of these (ZWJ/ZWNJ included): nothing a
  citizen typed is lost. Left alone, as letters and marks of their scripts that other text needs: U+034F
  combining grapheme joiner, Mongolian free variation selectors, Khmer inherent vowels, Hangul fillers,
  variation selectors and emoji tags.

Which fields are which: the model's text types carry FREE_TEXT or CODE in their metadata (schemas.dossier Text
and Code); the mapping engine reads it at compile time. The check costs little per record: the engine joins
the record's text values and asks str.isprintable() of the whole (every character above is non-printable for
Python; test_text_safety pins that); only when that fails (a line break, a no-break space, or a real hit) are
the regexes below searched, and only a record with a hit is walked field by field (mappings.compiler).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

_OTHER_DIGIT = re.compile(r"(?![0-9])\d")


def ascii_digits(value: str) -> str:
    """Any script's decimal digits as ASCII ones, one character for one: a number typed on a full-width keyboard
    (０９１２…) or pasted from text in another script is the same number (stored, hashed, sent to the portal and
    masked as ASCII)."""
    return value if value.isascii() else _OTHER_DIGIT.sub(lambda d: str(unicodedata.decimal(d[0])), value)


@dataclass(frozen=True, slots=True)
class TextClass:
    """Metadata of a text type (Annotated[str, FREE_TEXT]): what the mapping engine does with odd characters."""

    name: Literal["free", "code"]


FREE_TEXT = TextClass("free")  # invisible characters removed (recorded), forbidden ones refused
CODE = TextClass("code")  # forbidden, invisible and line-break characters refused

_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # tab \x09, LF \x0a, CR \x0d are not here
_LINE_CONTROL = r"\x09\x0a\x0d"
_NONCHARACTER = r"\ufdd0-\ufdef\ufffe\uffff"
_BIDI = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVISIBLE = r"\u00ad\u180e\u200b-\u200d\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb"
_SURROGATE = r"\ud800-\udfff"

_FORBIDDEN = re.compile(f"[{_CONTROL}{_SURROGATE}{_NONCHARACTER}]")
_REMOVABLE = re.compile(f"[{_BIDI}{_INVISIBLE}]")
SUSPECT = re.compile(f"[{_CONTROL}{_SURROGATE}{_NONCHARACTER}{_BIDI}{_INVISIBLE}]")
"""A forbidden or an invisible character: what free text must be searched for."""
SUSPECT_IN_CODE = re.compile(f"[{_CONTROL}{_LINE_CONTROL}{_SURROGATE}{_NONCHARACTER}{_BIDI}{_INVISIBLE}]")
"""The same, and tab, line feed and carriage return: what a code or an identifier must be searched for."""
_BIDI_CHARS = re.compile(f"[{_BIDI}]")


def code_point(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def _kind(ch: str) -> str:
    o = ord(ch)
    if o < 0x20 or 0x7F <= o <= 0x9F:
        return "control character"
    if 0xD800 <= o <= 0xDFFF:
        return "lone surrogate"
    if _BIDI_CHARS.match(ch):
        return "bidi control character"
    if _REMOVABLE.match(ch):
        return "invisible character"
    return "non-character"


def problem(value: str, code: bool = False) -> str | None:
    """Why `value` cannot be stored, naming the first bad character ("control character U+0000 at position 5";
    positions count from 1), or None. `code`: a code or identifier, where invisible characters, tabs and line
    breaks are refused too; in free text only forbidden characters are (invisible ones are removed instead)."""
    m = (SUSPECT_IN_CODE if code else _FORBIDDEN).search(value)
    if m is None:
        return None
    return f"{_kind(m[0])} {code_point(m[0])} at position {m.start() + 1}"


def has_invisible(value: str) -> bool:
    return _REMOVABLE.search(value) is not None


_ZERO_WIDTH = re.compile(f"[{_INVISIBLE}]")


def invisible_kinds(value: str) -> list[str]:
    """What a free text loses, as TextFix names: "bidi" (direction controls, which can reorder what a reader
    sees), "invisible" (zero-width and other format characters)."""
    return [
        name for name, found in (("bidi", _BIDI_CHARS), ("invisible", _ZERO_WIDTH)) if found.search(value)
    ]


def remove_invisible(value: str) -> str:
    """`value` without its invisible and bidi-control characters (forbidden ones stay: they are refused)."""
    return _REMOVABLE.sub("", value)


def escape(text: str) -> str:
    """`text` with every forbidden or invisible character written as \\xNN, \\uNNNN or \\UNNNNNNNN: what an error
    message or a log line may quote of a bad value (PostgreSQL, UTF-8 and a reader's terminal take it)."""
    if SUSPECT.search(text) is None:
        return text
    return SUSPECT.sub(_escaped, text)


def _escaped(m: re.Match[str]) -> str:
    o = ord(m[0])
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"
