r"""Personal data (citizen IDs, phones, e-mails) as text and as data: what it looks like and how it is masked.

The lowest layer, so that every other (connectors quoting a vendor's answer, the pipeline, the console, log
handlers in onestop.privacy) masks with the same rules.

`mask_text` masks, keeping the last 3 digits (the first character of an e-mail's local part):
- a CCCD (12 digits) or an old CMND (9), alone or glued to words (`CCCD:001099012345`, `SĐT0912345678`), and any
  other run of 9 to 12 digits that is not the fraction of a number (0.123456789012);
- a Vietnamese phone in any of its written forms: mobile (10 digits from 0), landline (11 digits from 02x), the
  old 11-digit ones; with or without +84, 84, 0084, (+84) and a trunk (0); in groups of any size separated by
  spaces, dots, dashes, brackets or %20 (0912 345 678, 09 12 34 56 78, 0912345 678, +84 (0) 912 345 678,
  (024) 3823 4567, 84-912-345-678, 0084912345678); a CCCD written in groups (030 203 004 567) too;
- an e-mail, also percent-encoded in a URL or a query string (`email=a.b%40x.vn`, `%2540`), as `&#64;` or `＠`;
- any of these with NULs, control or invisible characters between its characters, or written with escapes
  (UTF-16 read as UTF-8: 0\x009\x001..., 0\u200b912..., \u0030\u0039..., &#48;&#57;...).

`quote_answer` quotes a remote system's words, bytes read by `answer_text`: a BOM, else the NULs of UTF-16/32,
else the declared charset, else UTF-8, and never a reading that would turn personal data into other characters.

It leaves alone what merely has digits: dates (20250701, 2025-07-01T10:00:00, 01.07.2025, 03 07 2025), times,
timestamps (yyyyMMddHHmmss), MaHoSo codes (000.00.14.H56-200203-0118), procedure codes (1.000656), agency codes,
amounts (1.250.000), counts, status codes, ports; and record ids: UUIDs (any case, in braces or not) and hex ids
of 24 to 128 digits (ObjectIds, digests) keep their digits, while an ID or a phone next to them is masked.

`mask_data` masks every string of a JSON-like value, its keys too, and the numbers that are personal data once
the leading zeros a number loses are put back (912345678, 1203004567, 84912345678): as a masked string.
"""

from __future__ import annotations

import codecs
import html
import math
import re
import unicodedata
from decimal import Decimal
from functools import lru_cache
from typing import Any

from schemas.jsontext import visible
from schemas.text_safety import ascii_digits

KEEP = 3  # digits left visible at the end of a masked number

# An e-mail, found by its at-sign (so that the search is a quick scan for a few characters): @, percent-encoded
# once or more (%40, %2540: a URL, a query string), an HTML entity, a full-width one. Then its domain, which stays.
# The local part before it is read backwards by _local_start (a regex cannot look back over a variable length).
_AT = re.compile(r"(?:@|%(?:25)*40|&#0*64;|&#[xX]0*40;|＠|﹫)[\w-]+(?:\.[\w-]+)+")
_HEX = frozenset("0123456789abcdefABCDEF")


def _local_start(text: str, at: int, floor: int) -> int:
    """Where the local part ending at `at` begins: letters, digits, . _ + - and %XX escapes (a%2Bb%40x.vn)."""
    i = at
    while i > floor:
        c = text[i - 1]
        if (
            c.isalnum()
            or c in "._+-\ufffd"  # \ufffd: a letter of a charset read as another (nguy\ufffd\ufffdn@x.vn)
            or unicodedata.category(c).startswith("M")  # a tone mark not composed with its letter (NFD)
            or (c == "%" and len(text[i : i + 2]) == 2 and all(h in _HEX for h in text[i : i + 2]))
        ):
            i -= 1
        else:
            break
    return i


def _mask_emails(text: str) -> str:
    out, last = [], 0
    for m in _AT.finditer(text):
        start = _local_start(text, m.start(), last)
        if start == m.start():  # no local part: a decorator, @id, a handle
            continue
        first = text[start] if text[start].isalnum() else ""
        out += (text[last:start], first, "***", m[0])
        last = m.end()
    return "".join(out) + text[last:] if out else text


# Numbers. A span is digits in groups joined by separators; it starts where personal data may start (a 0, an 84
# or a run of 9 to 12 digits: a + or a bracket before it is not part of it), not inside a number (after a digit,
# but for a %XX escape: %2084912345678; after a decimal point: 0.123456789012), and it has at least 9 digits.
# Which of its groups are personal data is decided by _mask_span from their digits; the regex does the scanning,
# so that most lines and most numbers never reach Python code.
_SEPARATOR = r"(?:[ .\-()+\u00a0\u2009\u202f\u2010-\u2015]|%20)"
_SPAN = re.compile(
    r"\d(?<!\d[.,]\d)(?<!\d:\d)(?:(?<!\d\d)|(?<=%[0-9A-Fa-f]{2}\d))"  # a first digit (or the first after %20),
    # not a time's minutes or seconds (12:47:02.390867+00:00)
    r"(?:(?<=0)(?=\d)|(?<=8)(?=4)|(?=\d{8,11}(?!\d)))"  # 0x.., 84.., or a run of 9 to 12
    rf"(?=(?:{_SEPARATOR}{{0,4}}\d){{8}})"  # 9 digits at least
    rf"\d*(?:{_SEPARATOR}{{1,4}}\d+)*"
)
_ATOM = re.compile(r"%20|\d+")

# The digits of groups taken together. A phone: mobile 10 digits from 0 (and the old 04/08 landlines, and the
# 0123456789 of test data), landline 11 from 02x and the old 11-digit mobiles and landlines; or with the country
# code 84 (+84, 0084) and the trunk 0 kept or not. A CCCD: province 001-096, the century-and-sex digit 0-3.
_PHONE = re.compile(r"(?:00)?840?[1-9]\d{8,9}|0[1-9]\d{8}|01[2689]\d{8}|0[2-8]\d{9}")
_CCCD = re.compile(r"0(?:0[1-9]|[1-8]\d|9[0-6])[0-3]\d{8}")
_START = re.compile(r"0[1-9]|00[1-9]|840?[1-9]")  # how both begin: a quick no for 00 00 00 00 00

# Record ids whose digits are not personal data: a UUID (any case, braces around it or not), a hex id of 24, 32,
# 40 ... 128 digits (an ObjectId, our dossier uid, an MD5/SHA digest). Only looked for around a span (_protected).
# (A phone glued to hex letters so that the whole is such an id cannot be told from one.)
_KEEP = re.compile(
    r"(?<![0-9A-Za-z])"
    r"(?:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|(?:[0-9A-Fa-f]{8}){3,16})"
    r"(?![0-9A-Za-z])"
)
_KEEP_REACH = 140  # longer than any _KEEP match
_HEXISH = _HEX | {"-", "{", "}"}


def _is_date(a: str, b: str, c: str) -> bool:
    """dd MM yyyy or yyyy MM dd."""
    if len(a) == 4:
        a, c = c, a
    return len(c) == 4 and c[:2] in ("19", "20") and 1 <= int(a) <= 31 and 1 <= int(b) <= 12


def _protected(m: re.Match[str], atoms: list[tuple[int, int]]) -> list[bool]:
    """Groups that are not personal data whatever their digits: a date (01.07.2025, 03 07 2025: three groups with
    one same separator), a part of a UUID or of a hex id."""
    text, n = m[0], len(atoms)
    kept = [False] * n
    for i in range(n - 2):
        (a0, a1), (b0, b1), (c0, c1) = atoms[i], atoms[i + 1], atoms[i + 2]
        if (
            (a1 - a0, c1 - c0) in ((1, 4), (2, 4), (4, 1), (4, 2)) and b1 - b0 <= 2
            and b0 - a1 == 1 and c0 - b1 == 1 and text[a1] == text[b1] in " .-"
            and _is_date(text[a0:a1], text[b0:b1], text[c0:c1])
        ):  # fmt: skip
            kept[i] = kept[i + 1] = kept[i + 2] = True
    s, start, end = m.string, m.start(), m.end()
    if (start and s[start - 1] in _HEXISH) or (end < len(s) and s[end] in _HEXISH):  # a part of an id?
        lo, hi = max(0, start - _KEEP_REACH), end + _KEEP_REACH
    else:  # an id (of digits and dashes) inside the span? (+ 1: what follows decides whether it ends there)
        lo, hi = start, end + 1
    for k in _KEEP.finditer(s, lo, min(len(s), hi)):
        k0, k1 = k.span()
        for i, (a0, a1) in enumerate(atoms):
            if k0 < start + a1 and start + a0 < k1:
                kept[i] = True
    return kept


def _after_a_number_and(s: str, at: int, marks: str) -> bool:
    """The group at `at` follows a digit and one of `marks`: a fraction's digits (0.123456789012, 1.0912345678),
    a code's tail (H56-080203-0118)."""
    return at >= 2 and s[at - 1] in marks and s[at - 2].isdigit()


def _mask_span(m: re.Match[str]) -> str:
    text, s, start = m[0], m.string, m.start()
    atoms = [a.span() for a in _ATOM.finditer(text) if text[a.start()] != "%"]
    groups = [text[a:b] for a, b in atoms]
    kept = _protected(m, atoms)
    n = len(atoms)
    masked: list[tuple[int, int]] = []  # ranges of groups, each one number
    i = 0
    while i < n:
        a0, a1 = atoms[i]
        if kept[i]:
            i += 1
            continue
        # a phone or a CCCD in groups starts with 0 or 84, not in a fraction nor in a code's tail
        if (
            ((text[a0] == "0" and a1 - a0 >= 2) or text.startswith("84", a0))
            and not _after_a_number_and(s, start + a0, ".,-")
            and _START.match("".join(groups[i : i + 4]))
        ):
            total, found = 0, None
            for j in range(i, min(n, i + 8)):
                total += len(groups[j])
                if kept[j] or total > 14:
                    break
                if total >= 10:
                    digits = "".join(groups[i : j + 1])
                    if _PHONE.fullmatch(digits) or (
                        _CCCD.fullmatch(digits) and all(len(g) >= 3 for g in groups[i : j + 1])
                    ):  # a CCCD in groups of 2 is more likely a list of numbers
                        found = j
            if found is not None:
                masked.append((i, found))
                i = found + 1
                continue
        # a run of 9 to 12 digits on its own: a CCCD, a CMND, a phone without its 0; not a fraction's digits
        if 9 <= a1 - a0 <= 12 and not (
            _after_a_number_and(s, start + a0, ".,")
            or (s[start + a1 : start + a1 + 1] in (".", ",") and s[start + a1 + 1 : start + a1 + 2].isdigit())
        ):
            masked.append((i, i))
        i += 1
    if not masked:
        return text
    chars = list(text)
    for first, last in masked:
        positions = [p for a, b in atoms[first : last + 1] for p in range(a, b)]
        for p in positions[: len(positions) - KEEP]:
            chars[p] = "*"
    return "".join(chars)


_WIDE_SPACE = "\u3000"  # the full-width keyboard's space between groups


def _mask_numbers(text: str) -> str:
    """Numbers masked; one in another script's digits (０９１２ ４６８ ０１３) as its ASCII twin would be."""
    if text.isascii():
        return _SPAN.sub(_mask_span, text)
    # The same text with ASCII digits and spaces, one character for one: masked, its stars put back in place.
    view = ascii_digits(text).replace(_WIDE_SPACE, " ")
    if view == text:
        return _SPAN.sub(_mask_span, text)
    masked = _SPAN.sub(_mask_span, view)
    return "".join("*" if m == "*" != v else t for t, v, m in zip(text, view, masked, strict=True))


def _mask_plain(text: str) -> str:
    # Numbers first: an e-mail glued to a phone ("091 234 5678@x.vn") would otherwise take the phone's last
    # group as its local part and leave the rest of the phone unmasked.
    text = _mask_numbers(text)
    return _mask_emails(text) if _AT.search(text) else text


# What can hide personal data from the mask while a reader (or a program) still reads it: NULs and other control
# characters (UTF-16 or UTF-32 read as an 8-bit charset: 0\x009\x001\x00...), invisible format characters (zero
# width spaces, joiners, bidi marks, a soft hyphen, a BOM), lone surrogates, and the escapes that write any of them or a digit
# (\u0000, \x00, &#48;: a JSON text of such a string, a repr, HTML).
_HIDDEN_CHARS = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f"  # the control characters but tab, newline, return
    "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"  # invisible ones
    "\ud800-\udfff"  # lone surrogates: bytes a decoder could not read (surrogateescape)
)
_HIDDEN = re.compile(f"[{_HIDDEN_CHARS}]")
_HIDING = re.compile(
    rf"[{_HIDDEN_CHARS}]|\\(?:u[0-9A-Fa-f]{{4}}|x[0-9A-Fa-f]{{2}})|&#(?:[0-9]{{1,7}}|[xX][0-9A-Fa-f]{{1,6}});"
)


def _unhide(m: re.Match[str]) -> str:
    found = m[0]
    if len(found) == 1:
        return ""
    if found[0] == "&":
        char = html.unescape(found)
    else:
        code = int(found[2:], 16)
        char = chr(code) if code <= 0x10FFFF else found
    return "" if _HIDDEN.fullmatch(char) else char


def mask_text(text: str) -> str:
    r"""The text with its personal data masked (see the module's docstring); everything else as it was, unless
    personal data was hidden from the mask by NULs, control or invisible characters or escapes between its
    characters (0\x009\x001\x002..., 0\u200b912..., 0\u00009\u0000...): then the text comes back without them
    (escapes written as their characters) and masked."""
    if not text:
        return text
    masked = _mask_plain(text)
    if not (
        (not masked.isprintable() and _HIDDEN.search(masked)) or "\\" in masked or "&#" in masked
    ):  # most lines: isprintable and `in` are quicker than a search (every hidden character is not printable)
        return masked
    seen = _HIDING.sub(_unhide, masked)
    unhidden = _mask_plain(seen)
    return masked if unhidden == seen else unhidden


def _star(digits: str) -> str:
    return "*" * (len(digits) - KEEP) + digits[-KEEP:]


def mask_number(value: int) -> int | str:
    """A number that is personal data once the leading zeros it lost are put back, as a masked string: a CMND
    (9 digits), a phone (912345678, 84912345678, 2438234567), a CCCD (1203004567 is 001203004567); other numbers
    (counts, amounts, dates as 20250701, yyyyMMddHHmmss, 123456789012, epoch seconds) as they are."""
    digits = str(abs(value))
    if not 9 <= len(digits) <= 13:
        return value
    if len(digits) == 9 or any(
        _PHONE.fullmatch(z + digits) or _CCCD.fullmatch(z + digits) for z in ("", "0", "00")
    ):
        return ("-" if value < 0 else "") + _star(digits)
    return value


def mask_data(value: Any) -> Any:
    """Every string inside dicts, lists and tuples masked, keys included (a key that masks to one already there
    gets #2, #3: nothing is lost), and the numbers that are personal data (mask_number): for error lists kept as
    JSON, log events, the console's view of a payload."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return mask_number(value)
    if isinstance(value, float | Decimal):  # 912345678.0: a number that went through a float
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        return (
            mask_number(int(value)) if finite and 1e8 <= abs(value) < 1e13 and value == int(value) else value
        )
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            key = mask_data(k) if isinstance(k, str | int | float) else k
            if key in out:
                n = 2
                while f"{key}#{n}" in out:
                    n += 1
                key = f"{key}#{n}"
            out[key] = mask_data(v)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = (mask_data(v) for v in value)
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


ANSWER_CAP = 4096  # bytes of a remote answer kept in an error, an attempt row or the console
MESSAGE_CAP = 2 * ANSWER_CAP  # a stored error message: our words around a remote answer's


# Bytes whose charset is not known for sure (a remote answer's beginning, an error body): read so that no personal
# data can hide in them. A byte order mark, or NULs where UTF-16 or UTF-32 have them, say more than a declared
# charset (no 8-bit text has NULs; a declared UTF-16 whose bytes have none is not UTF-16).
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_ALIASES = {
    "ucs-2": "utf-16",
    "ucs2": "utf-16",
    "iso-10646-ucs-2": "utf-16",
    "ucs-4": "utf-32",
    "ucs4": "utf-32",
}
_WIDE_SAMPLE = 4096


def _wide(data: bytes) -> str | None:
    """UTF-16 or UTF-32 and their byte order, told by where the NULs of their ASCII (and BMP) characters fall."""
    sample = data[: _WIDE_SAMPLE - _WIDE_SAMPLE % 4]
    sample = sample[: len(sample) - len(sample) % 2]
    if len(sample) < 2 or sample.count(0) < 2:
        return None
    zeros = [sample[i::4].count(0) for i in range(4)]
    quarter = len(sample) / 4
    full = [z >= 0.9 * quarter for z in zeros]
    if len(sample) >= 8 and not all(full):
        if full[2] and full[3] and not full[0]:
            return "utf-32-le"
        if full[0] and full[1] and not full[3]:
            return "utf-32-be"
    even, odd = zeros[0] + zeros[2], zeros[1] + zeros[3]
    enough = max(2, len(sample) // 20)  # one character in ten, at least, is ASCII (a brace, a quote, a digit)
    if odd >= enough and even * 8 <= odd:
        return "utf-16-le"
    if even >= enough and odd * 8 <= even:
        return "utf-16-be"
    return None


def _byte_order(data: bytes, codec: str) -> str:
    """A declared UTF-16 or UTF-32 with the byte order its NULs say, whatever the declaration says of it (a
    system that writes big-endian but declares `utf-16le`, or `utf-16` with no BOM: Python would read it as
    little-endian, and the digits of a CCCD as CJK characters)."""
    if codec not in ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
        return codec
    sample = data[: _WIDE_SAMPLE - _WIDE_SAMPLE % 4]
    zeros = [sample[i::4].count(0) for i in range(4)]
    if codec.startswith("utf-16"):
        even, odd = zeros[0] + zeros[2], zeros[1] + zeros[3]
        return codec if even == odd else "utf-16-le" if odd > even else "utf-16-be"
    return codec if zeros[0] == zeros[3] else "utf-32-le" if zeros[3] > zeros[0] else "utf-32-be"


@lru_cache(maxsize=64)
def _codec(charset: str | None) -> tuple[str, bool] | None:
    """The text codec a declared charset names, and whether it reads ASCII as ASCII; None: unknown, not text."""
    if not charset:
        return None
    name = _ALIASES.get(charset.strip().lower(), charset.strip())
    try:
        name = codecs.lookup(name).name
        ascii_ = bytes(range(0x20, 0x7F))
        return name, ascii_.decode(name, "replace") == ascii_.decode("ascii")
    except (LookupError, UnicodeError, ValueError, TypeError):
        return None


def answer_text(data: bytes, charset: str | None = None) -> str:
    """A remote system's bytes as text for quoting: by their byte order mark, else by the NULs of UTF-16/32,
    else in their declared `charset` (when Python knows it), else as UTF-8; undecodable bytes as U+FFFD. When that
    reading does not keep ASCII as ASCII (UTF-16/32, EBCDIC...) and the bytes hold personal data in ASCII (a
    wrong declaration, a BOM before UTF-8, a body of two encodings), they are read as UTF-8 instead: personal
    data never comes out as other characters that hide it from the mask (0912 read as UTF-16: 㤰㈱)."""
    skip, codec = 0, None
    for bom, name in _BOMS:
        if data.startswith(bom):
            skip, codec = len(bom), name
            break
    body = data[skip:]
    codec = codec or _wide(body)
    if codec is None:
        declared = _codec(charset)
        codec = _byte_order(body, declared[0]) if declared else "utf-8"
    try:
        text = body.decode(codec, "replace")
    except (LookupError, UnicodeError, TypeError):  # not a text codec after all (base64, rot13, ...)
        codec, text = "utf-8", body.decode("utf-8", "replace")
    known = _codec(codec)
    if known is None or not known[1]:
        as_utf8 = body.decode("utf-8", "replace")
        if _mask_plain(as_utf8) != as_utf8:
            return as_utf8
    return text


def quote_answer(text: str | bytes, cap: int = ANSWER_CAP, charset: str | None = None) -> str:
    """A remote system's words as they came (its error message, an HTTP error body), masked for personal data and
    capped at `cap` UTF-8 bytes, cut on a character boundary and marked `…(+N bytes)`. Bytes are read by
    `answer_text` (`charset`: what the system declared, or is known to write in; a BOM or UTF-16/32 NULs win)."""
    if isinstance(text, bytes):
        text = answer_text(text, charset)
    # NFC: Windows-1258 decodes to split tones. Masked before `visible` writes a NUL, a lone surrogate or a control
    # character as its escape (\u0001 before 0912345678 would make it part of a longer number).
    masked = visible(mask_text(unicodedata.normalize("NFC", text.strip())))
    data = masked.encode()
    if len(data) <= cap:
        return masked
    kept = data[:cap].decode("utf-8", "ignore")  # a cut inside a character drops that character
    return f"{kept}…(+{len(data) - len(kept.encode())} bytes)"
