"""Personal data (citizen IDs, phones, e-mails) as text: what it looks like and how it is masked.

The lowest layer, so that every other (connectors quoting a vendor's answer, the pipeline, the console, log
handlers in onestop.privacy) masks with the same rules.

`mask_text` masks what looks like personal data and leaves what merely has digits alone: dates (20250701,
2025-07-01T10:00:00, 01.07.2025), MaHoSo codes (000.00.14.H56-200203-0118), procedure codes (1.000656).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# An e-mail address: the first character and the domain stay.
_EMAIL = re.compile(r"(?<![\w.+-])([\w+-])[\w.+-]*@([\w-]+(?:\.[\w-]+)+)")

# A phone (or a CCCD) written in groups: 0912 345 678, 0912.345.678, 091-234-5678, (024) 3823 4567,
# +84 912 345 678, (+84) 912 345 678. Whether it is one is decided by its digits (see _grouped) so that
# dates (01.07.2025, 03 07 2025), times and the dotted parts of agency and procedure codes stay as they are.
_GROUPED = re.compile(
    r"(?<![\w.+\-/])"  # not the tail of a code, a number or a path
    r"(?:\(\+84\)|\+84|\(0\d{2,3}\)|0\d{2,3})"  # +84, (+84), (024), 024, 0912
    r"(?:[ .\-]\d{2,6}){1,4}"  # then groups, each after one separator
    r"(?![\w\-/])"
)
_GROUP = re.compile(r"[ .\-]\d+")

# A run of 9 to 12 digits: a CCCD (12), an old CMND (9), a phone without separators (0 or 84 + 9 or 10 digits).
# Shorter runs (dates: 8 digits) and longer ones (yyyyMMddHHmmss: 14) are not personal data.
_DIGITS = re.compile(r"(?<!\d)(?<!\d[.,])(\+?\d{9,12})(?!\d|[.,]\d)")


def _star_digits(text: str, keep: int = 3) -> str:
    """Every digit but the last `keep` becomes '*'; separators stay (0912 345 678 -> **** *** 678)."""
    digits = sum(c.isdigit() for c in text)
    out, seen = [], 0
    for c in text:
        if c.isdigit():
            seen += 1
            out.append(c if seen > digits - keep else "*")
        else:
            out.append(c)
    return "".join(out)


def _personal_number(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    if text.lstrip("(").startswith("+84"):
        digits = "0" + digits[2:]
    return bool(
        re.fullmatch(r"0[35789]\d{8}", digits)  # a mobile number
        or re.fullmatch(r"02\d{9}", digits)  # a landline with its area code
        or re.fullmatch(r"0\d{11}", digits)  # a CCCD written in groups
    )


def _grouped(m: re.Match[str]) -> str:
    """The longest leading run of groups that is a phone (or a CCCD) is masked; what follows stays."""
    text = m[0]
    ends = [g.end() for g in _GROUP.finditer(text)]
    for end in reversed(ends):
        if _personal_number(text[:end]):
            return _star_digits(text[:end]) + text[end:]
    return text


def mask_text(text: str) -> str:
    if not text:
        return text
    text = _EMAIL.sub(lambda m: f"{m[1]}***@{m[2]}", text)
    text = _GROUPED.sub(_grouped, text)
    return _DIGITS.sub(lambda m: _star_digits(m[0]), text)


def mask_data(value: Any) -> Any:
    """Every string inside dicts, lists and tuples masked (keys stay): for error lists kept as JSON."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_data(v) for v in value)
    return value


ANSWER_CAP = 4096  # bytes of a remote answer kept in an error, an attempt row or the console
MESSAGE_CAP = 2 * ANSWER_CAP  # a stored error message: our words around a remote answer's


def quote_answer(text: str | bytes, cap: int = ANSWER_CAP, charset: str = "utf-8") -> str:
    """A remote system's words as they came (its error message, an HTTP error body), masked for personal data and
    capped at `cap` UTF-8 bytes, cut on a character boundary and marked `…(+N bytes)`."""
    if isinstance(text, bytes):
        try:
            text = text.decode(charset, "replace")
        except LookupError:  # a charset Python does not know: the bytes as UTF-8
            text = text.decode("utf-8", "replace")
    masked = mask_text(unicodedata.normalize("NFC", text.strip()))  # Windows-1258 decodes to split tones
    data = masked.encode()
    if len(data) <= cap:
        return masked
    kept = data[:cap].decode("utf-8", "ignore")  # a cut inside a character drops that character
    return f"{kept}…(+{len(data) - len(kept.encode())} bytes)"
