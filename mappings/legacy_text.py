"""Legacy Vietnamese text (DOMAIN.md §4.8): TCVN3 (ABC), VNI Windows and Windows-1258, repaired to NFC.

Python has no TCVN3 or VNI codec, so both are byte tables here. The damage this repairs is the usual one:
a migrated row's text was stored as TCVN3/VNI bytes and later read as Windows-1252 (or latin-1), so what
arrives is mojibake (`NguyÔn V¨n An`, `Nguyeãn Vaên An`); a Windows-1258 export decodes to non-NFC text
(`ê` + U+0303 for `ễ`), or to mojibake when it too was read as Windows-1252.

Transforms (mappings.transforms), each returning TextFixed(text, fix) when it changed something:
  tcvn3, vni, cp1258   the vendor says the field is in that encoding: decode without asking
  utf8                 the vendor says the field is UTF-8 that a Windows-1252/latin-1 reader showed (`Nguyá»…n`,
                       a PHP page on a latin1 MySQL connection), once or more: read it again
  vn_text              detect: repair only when the text really looks like one of them (below); else NFC
                       and, in either case, Ð/ð typed for Đ/đ where the swap makes a Vietnamese word (`eth`)
The result is always NFC; correct Unicode and ASCII pass unchanged and unrecorded.

How vn_text decides. ASCII is never touched. UTF-8 damage comes first: a value holding what a Windows-1252 or
latin-1 reader shows of a UTF-8 multi-byte letter (`á»…`, `Ã¹`) is read again as UTF-8, run by run (so text
damaged twice over, or next to letters stored right, is mended too), and kept so (fix `utf8`) when every word
then is Vietnamese or ASCII. (ftfy, the usual library for this, was measured and left out: it keeps `VÅ© Kim
Oanh` and a damaged value after a correct word as they are, being unsure; the grammar check is surer here.)
Else, text that cannot be Windows-1252/latin-1 characters (it holds
ă, ơ, ạ, … or combining marks) is Unicode: it is only brought to NFC (fix `cp1258` when it has the shape of
a Windows-1258 decode, a precomposed letter followed by a tone mark, else `nfc`). Text made only of such
characters may be mojibake: each decoding (TCVN3, VNI, Windows-1258) is tried and compared word by word
with a Vietnamese syllable grammar (initial + vowel nucleus + final; one tone, on a vowel that may carry it;
a final stop only with sắc or nặng). A decoding is applied when it turns at least one word that is not
Vietnamese into Vietnamese and turns no Vietnamese word into something that is not; the one that repairs
most words wins, and on a tie the more common damage (TCVN3, then VNI, then Windows-1258 read as 1252).

Limits. A value whose mojibake is itself valid Vietnamese cannot be told apart from it at this level:
VNI `Hoà Thò Lan` is `Hồ Thị Lan`, TCVN3 `Vò Minh Long` is `Vũ Minh Long`; such values are kept as they
are (never damaging correct text comes first). TCVN3 (VN3) has no byte for a capital letter with a tone:
text typed in VN3 lost that case for good and decodes to the lowercase letter; the decoder also reads the
capitals of TCVN 5712 VN1 (positions VN3 leaves empty). Mixed text (TCVN3/VNI mojibake next to real Unicode
in one value), VNI typed as keystrokes (`Nguye64n`) and UTF-8 whose bytes a strict Windows-1252 reader replaced
(`Ä�` for Đ: the byte is gone) are not repaired.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

from mappings.errors import ConversionError
from mappings.text import NFC, TextFixed, to_nfc
from mappings.transforms import register_transform, text

TCVN3_FIX, VNI_FIX, CP1258_FIX = "tcvn3", "vni", "cp1258"

GRAVE, ACUTE, TILDE, HOOK, DOT = "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"
CIRCUMFLEX, BREVE, HORN = "\u0302", "\u0306", "\u031b"
TONES = frozenset(GRAVE + ACUTE + TILDE + HOOK + DOT)

# --- bytes as a Windows-1252 (or latin-1) reader shows them --------------------------------------------------
# cp1252 gives 0x80-0x9F printable characters except at five undefined positions, which Windows passes through
# as U+0081 etc. (so does latin-1 for all 32): both readings map back to the same byte.
_CP1252_HIGH = {
    b: bytes([b]).decode("cp1252") for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_TO_LATIN1 = str.maketrans({ch: chr(b) for b, ch in _CP1252_HIGH.items()})
_AS_LATIN1 = frozenset(_CP1252_HIGH.values())
_AS_CP1252 = str.maketrans({chr(b): ch for b, ch in _CP1252_HIGH.items()})


def read_as_cp1252(data: bytes) -> str:
    """Bytes as a Windows-1252 reader shows them: what a legacy row looks like once it reached us."""
    return data.decode("latin-1").translate(_AS_CP1252)


def legacy_bytes(value: str) -> bytes | None:
    """The bytes behind text read as Windows-1252/latin-1; None when it cannot be such text."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError as exc:
        # Correct Vietnamese stops at its first ạ, ơ, ư: no table pass over the text (9 µs for 110 characters).
        # Only a Windows-1252 sign (€, …, ‹) there may still make it such text.
        if value[exc.start] not in _AS_LATIN1:
            return None
    try:
        return value.translate(_TO_LATIN1).encode("latin-1")
    except UnicodeEncodeError:
        return None


# --- TCVN3 (ABC): TCVN 5712:1993 VN3, with VN1's capitals --------------------------------------------------
# VN3, the table of the .VnTime fonts: ASCII, the capitals without tone and every lowercase letter.
_VN3 = {
    0xA0: "\u00a0", 0xA1: "Ă", 0xA2: "Â", 0xA3: "Ê", 0xA4: "Ô", 0xA5: "Ơ", 0xA6: "Ư", 0xA7: "Đ",
    0xA8: "ă", 0xA9: "â", 0xAA: "ê", 0xAB: "ô", 0xAC: "ơ", 0xAD: "ư", 0xAE: "đ",
    0xB5: "à", 0xB6: "ả", 0xB7: "ã", 0xB8: "á", 0xB9: "ạ", 0xBB: "ằ", 0xBC: "ẳ", 0xBD: "ẵ", 0xBE: "ắ",
    0xC6: "ặ", 0xC7: "ầ", 0xC8: "ẩ", 0xC9: "ẫ", 0xCA: "ấ", 0xCB: "ậ", 0xCC: "è", 0xCE: "ẻ", 0xCF: "ẽ",
    0xD0: "é", 0xD1: "ẹ", 0xD2: "ề", 0xD3: "ể", 0xD4: "ễ", 0xD5: "ế", 0xD6: "ệ", 0xD7: "ì", 0xD8: "ỉ",
    0xDC: "ĩ", 0xDD: "í", 0xDE: "ị", 0xDF: "ò", 0xE1: "ỏ", 0xE2: "õ", 0xE3: "ó", 0xE4: "ọ", 0xE5: "ồ",
    0xE6: "ổ", 0xE7: "ỗ", 0xE8: "ố", 0xE9: "ộ", 0xEA: "ờ", 0xEB: "ở", 0xEC: "ỡ", 0xED: "ớ", 0xEE: "ợ",
    0xEF: "ù", 0xF1: "ủ", 0xF2: "ũ", 0xF3: "ú", 0xF4: "ụ", 0xF5: "ừ", 0xF6: "ử", 0xF7: "ữ", 0xF8: "ứ",
    0xF9: "ự", 0xFA: "ỳ", 0xFB: "ỷ", 0xFC: "ỹ", 0xFD: "ý", 0xFE: "ỵ",
}  # fmt: skip
# VN1's capitals with a tone, in positions VN3 leaves empty (those below 0x20 are control characters: they
# cannot stand in XML, so the encoder does not use them and writes the lowercase letter, as VN3 text does).
_VN1_CAPITALS = {
    0x01: "Ú", 0x02: "Ụ", 0x04: "Ừ", 0x05: "Ử", 0x06: "Ữ", 0x11: "Ứ", 0x12: "Ự", 0x13: "Ỳ", 0x14: "Ỷ",
    0x15: "Ỹ", 0x16: "Ý", 0x17: "Ỵ",
    0x80: "À", 0x81: "Ả", 0x82: "Ã", 0x83: "Á", 0x84: "Ạ", 0x85: "Ặ", 0x86: "Ậ", 0x87: "È", 0x88: "Ẻ",
    0x89: "Ẽ", 0x8A: "É", 0x8B: "Ẹ", 0x8C: "Ệ", 0x8D: "Ì", 0x8E: "Ỉ", 0x8F: "Ĩ", 0x90: "Í", 0x91: "Ị",
    0x92: "Ò", 0x93: "Ỏ", 0x94: "Õ", 0x95: "Ó", 0x96: "Ọ", 0x97: "Ộ", 0x98: "Ờ", 0x99: "Ở", 0x9A: "Ỡ",
    0x9B: "Ớ", 0x9C: "Ợ", 0x9D: "Ù", 0x9E: "Ủ", 0x9F: "Ũ", 0xAF: "Ằ", 0xBA: "Ẳ", 0xBF: "Ẵ", 0xC0: "Ắ",
    0xC1: "Ầ", 0xC2: "Ẩ", 0xC3: "Ẫ", 0xC4: "Ấ", 0xC5: "Ề", 0xCD: "Ể", 0xD9: "Ễ", 0xDA: "Ế", 0xDB: "Ồ",
    0xE0: "Ổ", 0xF0: "Ỗ", 0xFF: "Ố",
}  # fmt: skip
# VN1 also has combining tone marks: read, never written.
_VN1_MARKS = {0xB0: GRAVE, 0xB1: HOOK, 0xB2: TILDE, 0xB3: ACUTE, 0xB4: DOT}
TCVN3_DECODE: dict[int, str] = {**_VN3, **_VN1_CAPITALS, **_VN1_MARKS}
_TCVN3_TABLE = str.maketrans({chr(b): ch for b, ch in TCVN3_DECODE.items()})
_VN3_ENCODE = {ch: b for b, ch in _VN3.items()}
_VN1_ENCODE = {ch: b for b, ch in _VN1_CAPITALS.items() if b >= 0x80}


def decode_tcvn3(data: bytes) -> str:
    """TCVN3 bytes to NFC text (bytes outside the table read as latin-1)."""
    return unicodedata.normalize("NFC", data.decode("latin-1").translate(_TCVN3_TABLE))


def encode_tcvn3(value: str, *, capitals: bool = True) -> bytes:
    """Text as TCVN3 bytes; a capital with a tone takes VN1's byte (capitals=True, where it has one above
    0x7F) or, as VN3 itself does, the lowercase letter's. ValueError for a character TCVN3 lacks."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", value):
        if ch < "\x80":
            out.append(ord(ch))
        elif ch in _VN3_ENCODE:
            out.append(_VN3_ENCODE[ch])
        elif capitals and ch in _VN1_ENCODE:
            out.append(_VN1_ENCODE[ch])
        elif ch.lower() in _VN3_ENCODE:
            out.append(_VN3_ENCODE[ch.lower()])
        else:
            raise ValueError(f"{ch!r} has no TCVN3 byte")
    return bytes(out)


# --- VNI Windows: a base letter followed by a mark byte; i, y with dot, ơ, ư and đ are single bytes --------
_VNI_MARKS_LOWER = {
    0xF8: GRAVE, 0xF9: ACUTE, 0xFB: HOOK, 0xF5: TILDE, 0xEF: DOT,
    0xE2: CIRCUMFLEX, 0xE0: CIRCUMFLEX + GRAVE, 0xE1: CIRCUMFLEX + ACUTE, 0xE5: CIRCUMFLEX + HOOK,
    0xE3: CIRCUMFLEX + TILDE, 0xE4: CIRCUMFLEX + DOT,
    0xEA: BREVE, 0xE8: BREVE + GRAVE, 0xE9: BREVE + ACUTE, 0xFA: BREVE + HOOK, 0xFC: BREVE + TILDE,
    0xEB: BREVE + DOT,
}  # fmt: skip
_VNI_SINGLE_LOWER = {
    0xF4: "ơ", 0xF6: "ư", 0xF1: "đ", 0xEC: "ì", 0xED: "í", 0xE6: "ỉ", 0xF3: "ĩ", 0xF2: "ị", 0xEE: "ỵ",
}  # fmt: skip
# Capitals use the same bytes 0x20 lower (Windows-1252's capital of each letter).
VNI_MARKS: dict[int, str] = {**_VNI_MARKS_LOWER, **{b - 0x20: m for b, m in _VNI_MARKS_LOWER.items()}}
VNI_SINGLE: dict[int, str] = {
    **_VNI_SINGLE_LOWER,
    **{b - 0x20: c.upper() for b, c in _VNI_SINGLE_LOWER.items()},
}
_VNI_MARK_BYTE = {m: b for b, m in _VNI_MARKS_LOWER.items()}
_VNI_SINGLE_BYTE = {c: b for b, c in VNI_SINGLE.items()}

_VOWELS = "aăâeêioôơuưy"
VIETNAMESE_LETTERS = frozenset(
    unicodedata.normalize("NFC", base + tone)
    for base in _VOWELS + _VOWELS.upper()
    for tone in ("", *sorted(TONES))
) | frozenset("đĐabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _attach(letter: str, marks: str) -> str | None:
    """letter + VNI marks as one Vietnamese letter, or None (a circumflex on u, a second tone, ...)."""
    parts = unicodedata.normalize("NFD", letter)
    if parts[0].lower() not in "aeiouy" or any(m in TONES for m in parts[1:]):
        return None
    takes = "aeo" if marks[0] == CIRCUMFLEX else "a"
    if marks[0] in (CIRCUMFLEX, BREVE) and (len(parts) > 1 or parts[0].lower() not in takes):
        return None  # a circumflex or breve goes on a bare a/e/o (a), before any tone
    joined = unicodedata.normalize("NFC", letter + marks)
    return joined if joined in VIETNAMESE_LETTERS else None


def decode_vni(data: bytes, *, strict: bool = False) -> str:
    """VNI Windows bytes to NFC text. A mark byte with no letter to take it stays as Windows-1252 shows it,
    or raises ValueError when strict (detection wants a clean reading or none)."""
    out: list[str] = []
    for b in data:
        single = VNI_SINGLE.get(b)
        if single is not None:
            out.append(single)
            continue
        marks = VNI_MARKS.get(b)
        if marks is not None:
            joined = _attach(out[-1], marks) if out else None
            if joined is not None:
                out[-1] = joined
                continue
            if strict:
                raise ValueError(f"VNI mark byte 0x{b:02X} follows no letter that takes it")
        out.append(read_as_cp1252(bytes([b])))
    return unicodedata.normalize("NFC", "".join(out))


def encode_vni(value: str) -> bytes:
    """Text as VNI Windows bytes; ValueError for a character VNI lacks."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", value):
        if ch < "\x80":
            out.append(ord(ch))
            continue
        if ch in _VNI_SINGLE_BYTE:
            out.append(_VNI_SINGLE_BYTE[ch])
            continue
        parts = unicodedata.normalize("NFD", ch)
        base, marks = parts[0], parts[1:]
        tone = "".join(m for m in marks if m in TONES)
        modifier = "".join(m for m in marks if m not in TONES)
        if ch not in VIETNAMESE_LETTERS or base.lower() not in "aeiouy":
            raise ValueError(f"{ch!r} has no VNI bytes")
        upper = base.isupper()
        if modifier == HORN:  # ơ, ư are single bytes; the tone follows
            out.append(_VNI_SINGLE_BYTE[unicodedata.normalize("NFC", base + HORN)])
            mark = tone
        else:
            out.append(ord(base))
            mark = modifier + tone
        if mark:
            out.append(_VNI_MARK_BYTE[mark] - (0x20 if upper else 0))
    return bytes(out)


# --- Windows-1258: precomposed letters where the code page has them, tone marks as combining bytes --------
def encode_cp1258(value: str) -> bytes:
    """Text as a Windows-1258 export writes it; ValueError for a character the code page lacks."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", value):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        head = unicodedata.normalize("NFC", "".join(p for p in parts if p not in TONES))
        tones = "".join(p for p in parts if p in TONES)
        try:
            out += head.encode("cp1258") + tones.encode("cp1258")
        except UnicodeEncodeError:
            raise ValueError(f"{ch!r} has no Windows-1258 bytes") from None
    return bytes(out)


def decode_cp1258(data: bytes) -> str:
    """Windows-1258 bytes to NFC text; ValueError at a byte the code page leaves undefined."""
    try:
        return unicodedata.normalize("NFC", data.decode("cp1258"))
    except UnicodeDecodeError as exc:
        raise ValueError(str(exc)) from None


def _cp1258_shaped(value: str) -> bool:
    """Text as Windows decodes a 1258 export: only code-page characters, some precomposed letter among them
    (fully decomposed text is plain NFD: it could come from anywhere)."""
    try:
        value.encode("cp1258")
    except UnicodeEncodeError:
        return False
    return value != unicodedata.normalize("NFD", value)


# --- Vietnamese syllables ------------------------------------------------------------------------------------
def _each(spaced: str) -> list[str]:
    return spaced.split()


_INITIALS = (
    "", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh", "p",
    "ph", "qu", "r", "s", "t", "th", "tr", "v", "x",
)  # fmt: skip
# Vowel nuclei (without tone) -> where the tone may stand: (open syllable, closed by a consonant). Both the
# old and the new placement are accepted (hòa / hoà, thủy / thuỷ).
_NUCLEI: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    **{v: ((0,), (0,)) for v in "aăâeêioôơuưy"},
    **{v: ((0,), ()) for v in _each("ai ao au ay âu ây eo êu ia iu oi ôi ơi ui ưi ưu ua ưa")},
    **{v: ((0, 1), (1,)) for v in _each("oa oe uy")},
    **{v: ((1,), (1,)) for v in _each("uê uơ oă uâ iê yê uô ươ")},
    **{v: ((1,), ()) for v in _each("oai oay oeo uây uôi ươi ươu iêu yêu uya uyu")},
    "uyê": ((), (2,)),
}
_NEEDS_FINAL = frozenset(_each("ă â oă uâ iê yê uô ươ uyê"))
_BEFORE_C_NG = frozenset(_each("a ă â e o ô u ư oa oă uâ uô ươ iê yê"))
_BEFORE_CH_NH = frozenset(_each("a ê i y oa uy uê"))
_BEFORE_M_N_P_T = frozenset(_each("a ă â e ê i o ô ơ u ư iê yê uô ươ oa oă oe uâ uy uyê"))
_FINALS = {
    "c": _BEFORE_C_NG,
    "ng": _BEFORE_C_NG,
    "ch": _BEFORE_CH_NH,
    "nh": _BEFORE_CH_NH,
    "m": _BEFORE_M_N_P_T,
    "n": _BEFORE_M_N_P_T,
    "p": _BEFORE_M_N_P_T,
    "t": _BEFORE_M_N_P_T,
}
_STOPS = ("c", "ch", "p", "t")  # a syllable closed by a stop takes only sắc or nặng
# Words are what lies between whitespace, ASCII digits and ASCII punctuation: mojibake symbols (¨ § µ) stay
# inside the word they broke.
_SEPARATORS = re.compile(r"[\s0-9!-/:-@\[-`{-~]+")


def _letters(word: str) -> tuple[str, str | None, int] | None:
    """(the word without its tone, the tone, the index of the letter bearing it); None for two tones or a
    letter that is no precomposed character."""
    clusters: list[str] = []
    tone, at = None, -1
    for c in unicodedata.normalize("NFD", word.lower()):
        if c in TONES:
            if tone is not None or not clusters:
                return None
            tone, at = c, len(clusters) - 1
        elif unicodedata.combining(c) and clusters:
            clusters[-1] += c
        else:
            clusters.append(c)
    letters = [unicodedata.normalize("NFC", c) for c in clusters]
    if any(len(x) != 1 for x in letters):
        return None
    return "".join(letters), tone, at


@lru_cache(maxsize=65536)
def is_syllable(word: str) -> bool:
    """One Vietnamese syllable (any case): initial + vowel nucleus + final, one tone where it may stand."""
    split = _letters(word)
    if split is None:
        return False
    bare, tone, at = split
    for initial in _INITIALS:
        if not bare.startswith(initial):
            continue
        rest = bare[len(initial) :]
        for final in ("", *_FINALS):
            if final and not (rest.endswith(final) and rest[: -len(final)] in _FINALS[final]):
                continue
            nucleus = rest[: len(rest) - len(final)]
            places = _NUCLEI.get(nucleus)
            if places is None or (not final and nucleus in _NEEDS_FINAL):
                continue
            if final in _STOPS and tone not in (ACUTE, DOT):
                continue
            if tone is None or at - len(initial) in places[1 if final else 0]:
                return True
    return False


def words(value: str) -> list[str]:
    return [w for w in _SEPARATORS.split(value) if w]


def looks_vietnamese(value: str) -> bool:
    """Every word that is not plain ASCII is a Vietnamese syllable: text a reader would take as it is."""
    return all(w.isascii() or is_syllable(w) for w in words(value))


# --- detection -----------------------------------------------------------------------------------------------
def _vni_strict(data: bytes) -> str:
    return decode_vni(data, strict=True)


_DECODERS = ((TCVN3_FIX, decode_tcvn3), (VNI_FIX, _vni_strict), (CP1258_FIX, decode_cp1258))


def _repairs(before: str, after: str) -> int:
    """How many words the decoding made Vietnamese; -1 when it broke one (or the words do not line up)."""
    old, new = words(before), words(after)
    if len(old) != len(new):
        return -1
    repaired = 0
    for a, b in zip(old, new, strict=True):
        if a == b:
            continue
        good_after = is_syllable(b)
        if is_syllable(a) and not good_after:
            return -1
        repaired += good_after and not is_syllable(a)
    return repaired


# Text longer than this is never guessed at (word by word, three decodings: seconds per megabyte): no field holds
# more than 4000 characters (schemas.dossier), so such a value is refused on its length whatever it says.
REPAIR_LIMIT = 20_000


# Ð (U+00D0, the Icelandic eth) and ð look like Đ and đ, and some converters and fonts wrote them for those: a
# name typed so is not found when searched as written with Đ. A word is repaired only when the swap makes it a
# Vietnamese syllable ("Ðặng" → "Đặng"; an Icelandic "Ðóra" stays).
ETH_FIX = "eth"
_ETH_TO_DJ = str.maketrans("Ðð", "Đđ")
_WORD_WITH_ETH = re.compile(r"[^\s0-9!-/:-@\[-`{-~]*[Ðð][^\s0-9!-/:-@\[-`{-~]*")


def _eth_repaired(value: str) -> str:
    def swapped(word: re.Match[str]) -> str:
        found = word.group()
        as_dj = found.translate(_ETH_TO_DJ)
        return as_dj if is_syllable(as_dj) else found

    return _WORD_WITH_ETH.sub(swapped, value)


def repair(value: str) -> tuple[str, str | None]:
    """(NFC text, the fix applied or None): what vn_text does, as plain values. Ð typed for Đ is repaired last,
    in whatever the decoding left (fix `eth`, or the decoding's fix with `+eth`)."""
    fixed, fix = _decoded(value)
    if "Ð" in fixed or "ð" in fixed:
        swapped = _eth_repaired(fixed)
        if swapped != fixed:
            return swapped, ETH_FIX if fix is None else f"{fix}+{ETH_FIX}"
    return fixed, fix


# --- UTF-8 read as Windows-1252 or latin-1 (a PHP page on a latin1 MySQL connection, a .NET reader's default) ---
UTF8_FIX = "utf8"
# A UTF-8 letter beyond ASCII is two or three bytes of 0x80-0xFF, which such a reader shows as a run of latin-1
# letters, signs and C1 controls ("á»…" for ễ). Each run is read back as UTF-8 where its bytes are valid UTF-8;
# the rest of the value (ASCII, letters right already) is left as it is.
_SHOWN_RUN = re.compile("[\u0080-\u00ff" + re.escape("".join(_CP1252_HIGH.values())) + "]{2,}")
_TWICE = 3  # a value read wrongly twice (or thrice) over is read back as often


# What a Vietnamese letter's first UTF-8 byte looks like so: Ã (U+00C0-00FF), Ä Å (Ă Đ Ĩ Ũ), Æ (Ơ Ư), Ì (a
# combining tone mark, NFD), áº á» (the letters with a tone, U+1EA0-1EFF). A value holding none of them has no
# such damage for vn_text to guess at: a few substring checks instead of the regular expression on every value.
# (The utf8 transform, told so, reads back any letter or sign: “ is â€œ, € is â‚¬.)
def _has_lead(value: str) -> bool:
    return (
        "Ã" in value
        or "Ä" in value
        or "Å" in value
        or "Æ" in value
        or "Ì" in value
        or "áº" in value
        or "á»" in value
    )


def _read_again(value: str) -> str:
    """UTF-8 that a Windows-1252 or latin-1 reader showed, once or more, read as UTF-8 again."""
    for _ in range(_TWICE):
        again = _SHOWN_RUN.sub(_read_run_again, value)
        if again == value:
            break
        value = again
    return value


def _read_run_again(run: re.Match[str]) -> str:
    shown = run.group()
    data = legacy_bytes(shown)
    try:
        return data.decode("utf-8") if data is not None else shown
    except UnicodeDecodeError:
        return shown


def _utf8_repaired(value: str) -> str | None:
    """The value read again as UTF-8, when it had that damage and every word of the result is Vietnamese (a
    guess over every value of the field: only where a Vietnamese letter's lead byte shows)."""
    if not _has_lead(value):
        return None
    again = _read_again(value)
    if again == value:
        return None
    fixed = unicodedata.normalize("NFC", again)
    return fixed if looks_vietnamese(fixed) else None


def _decoded(value: str) -> tuple[str, str | None]:
    """(NFC text, the decoding applied or None): UTF-8/TCVN3/VNI/Windows-1258 damage repaired, or NFC alone."""
    if value.isascii():
        return value, None
    # UTF-8 first: valid multi-byte sequences that make every word Vietnamese are no accident of the other tables
    utf8 = _utf8_repaired(value) if len(value) <= REPAIR_LIMIT else None
    if utf8 is not None:
        return utf8, UTF8_FIX
    data = legacy_bytes(value) if len(value) <= REPAIR_LIMIT else None
    if data is None:  # Unicode: at most a normalization
        if unicodedata.is_normalized("NFC", value):
            return value, None
        return unicodedata.normalize("NFC", value), CP1258_FIX if _cp1258_shaped(value) else NFC
    readings: list[tuple[int, str, str]] = []
    for fix, decode in _DECODERS:
        try:
            decoded = decode(data)
        except ValueError:
            continue
        score = _repairs(value, decoded) if decoded != value else 0
        if score > 0:
            readings.append((score, decoded, fix))
    if not readings:
        return value, None  # latin-1 / Windows-1252 characters only: already NFC
    # The reading that repairs most words; on a tie the more common damage (TCVN3, then VNI, then 1258).
    _, decoded, fix = max(readings, key=lambda r: r[0])
    return decoded, fix


# --- transforms ----------------------------------------------------------------------------------------------
def _fixed(value: str, decoded: str, fix: str) -> str | TextFixed:
    return value if decoded == value else TextFixed(decoded, fix)


@register_transform("vn_text")
def vn_text(value: Any) -> str | TextFixed:
    """Detect and repair TCVN3/VNI/Windows-1258 damage, else NFC; the fix is recorded in text_fixes."""
    fixed, fix = repair(text(value))
    return fixed if fix is None else TextFixed(fixed, fix)


@register_transform("utf8")
def utf8(value: Any) -> str | TextFixed:
    """The field is UTF-8 read as Windows-1252 or latin-1 (once or twice): read it again (other text is only
    NFC'd)."""
    s = text(value)
    if s.isascii():
        return s
    again = _read_again(s) if len(s) <= REPAIR_LIMIT else s
    return to_nfc(s) if again == s else TextFixed(unicodedata.normalize("NFC", again), UTF8_FIX)


@register_transform("tcvn3")
def tcvn3(value: Any) -> str | TextFixed:
    """The field is TCVN3 read as Windows-1252: decode it (text that cannot be that is only NFC'd)."""
    s = text(value)
    data = None if s.isascii() else legacy_bytes(s)
    return to_nfc(s) if data is None else _fixed(s, decode_tcvn3(data), TCVN3_FIX)


@register_transform("vni")
def vni(value: Any) -> str | TextFixed:
    """The field is VNI Windows read as Windows-1252: decode it (text that cannot be that is only NFC'd)."""
    s = text(value)
    data = None if s.isascii() else legacy_bytes(s)
    return to_nfc(s) if data is None else _fixed(s, decode_vni(data), VNI_FIX)


@register_transform("cp1258")
def cp1258(value: Any) -> str | TextFixed:
    """The field comes from a Windows-1258 export: composed to NFC, or re-read as 1258 when it was read as
    Windows-1252. Either is recorded as `cp1258`."""
    s = text(value)
    if s.isascii():
        return s
    data = legacy_bytes(s)
    if data is None:
        return (
            s
            if unicodedata.is_normalized("NFC", s)
            else TextFixed(unicodedata.normalize("NFC", s), CP1258_FIX)
        )
    try:
        return _fixed(s, decode_cp1258(data), CP1258_FIX)
    except ValueError as exc:
        raise ConversionError(f"not Windows-1258 text: {exc}", value) from None
