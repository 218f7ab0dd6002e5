"""Text repairs applied at ingest, each one recorded on the dossier as a TextFix (DOMAIN.md §4.8).

Every text value the engine produces is NFC. A transform that repairs text returns `TextFixed(text, fix)`
instead of a plain str; the engine unwraps it and appends TextFix(field, fix) to the dossier's text_fixes.
That is the hook for the legacy decoders still to come (TCVN3/ABC, VNI, Windows-1258 byte mapping): write
`def tcvn3(value) -> str | TextFixed`, register it with `@register_transform("tcvn3")` in
mappings.transforms, and name it in a rule's `transform:`; nothing in the engine changes.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

NFC = "nfc"


class TextFixed(NamedTuple):
    """A repaired text and the name of the repair (recorded as TextFix.fix)."""

    text: str
    fix: str


def to_nfc(value: str) -> str | TextFixed:
    """The value in NFC; a TextFixed when it was not (ASCII is NFC: the common case costs one check)."""
    if value.isascii() or unicodedata.is_normalized("NFC", value):
        return value
    return TextFixed(unicodedata.normalize("NFC", value), NFC)
