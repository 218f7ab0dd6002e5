"""Commune codes from unit names: the `commune_code_by_name` and `district_code_by_name` transforms.

Many district systems keep an address as names only: "Phường Trần Phú, Thành phố Hải Dương, Tỉnh Hải Dương",
"Xã Cẩm Vũ, H. Cẩm Giàng, Hải Dương", "P.Tran Phu, TP Hai Duong", "Phường 01, Quận 3, TP.HCM", and since
2025-07-01 two levels, "Phường Lê Thanh Nghị, Thành phố Hải Phòng". `commune_code_by_name[:<province code>]`
reads such a text (a rule's `join` can build it from several paths) and gives the commune's GSO code in the
unit system the text is written in:

  - three levels (a district is named): the district-era ward code. mappings.units moves it to the 2025
    units by the receipt date, as it does every code. Map `district_code` with `district_code_by_name` from
    the same text: units.py tells a district-era code from a 2025 one by the district code beside it, and a
    commune split in 2025 is then flagged (`dvhc_split:`) instead of being taken for the 2025 commune that
    kept its code;
  - two levels (no district): the 2025 units of the province. A name found there nowhere is looked up in
    the district-era units of the province (and of the provinces merged into it in 2025) across all their
    districts: a clerk who left the district out. `district_code_by_name` then gives that ward's district.
    The transform does not see the receipt date: a district-era address written without its district,
    whose commune's name is also a 2025 commune of the province, is read as that 2025 commune. A province
    named by a name 2025 no longer has ("…, Hải Dương") marks the text district-era, and is not read so.

A text that reads two ways — "Phường Vỹ Dạ, Thành phố Huế" (the 2025 province, or the district-era city of
Thừa Thiên Huế), "An Xuyên, Cà Mau" (the province, or its city), "Phú Sơn - Lâm Hà" (the 2025 commune Phú Sơn
Lâm Hà, or Phú Sơn of the district Lâm Hà) — gives a code only when both readings find the same commune: the
same code, or a district-era commune that became exactly that 2025 commune (its district-era code is right
before and after the cut-over). A district name with nothing left of it is read as a commune ("Chi Lăng,
Lạng Sơn" is the 2025 Xã Chi Lăng, or Phường Chi Lăng of the city Lạng Sơn: ambiguous).

The province is read from the right of the text; when the text names none, the transform's argument is
assumed (`commune_code_by_name:30`: Hải Dương before 2025-07-01, and the 2025 province that took it in,
Hải Phòng). Without either, every province is searched. Parsing goes from the right — province, district,
commune — and a street or house part on the left is ignored ("Số 12 ngõ 5, Phường …"). Matching takes any
case, NFC or NFD, with or without diacritics (the accented name decides when the plain letters match several
units: Tân Thành and Tân Thạnh; accents that point to another unit than the type does make it ambiguous; tone
marks placed either way, "Hoà" and "Hòa"), the abbreviations P. X. TT. Q. H. TX. TP. T. (and "P ", "TP",
"TPHCM"), "Phường 1" = "Phường 01" = "P.1", any spacing, commas, semicolons or hyphens as separators. Names of merged units the package knows (Quận 2 and 9 for Thủ Đức,
"Phường 13" of Quận 3 for the ward it joined) are accepted where no current unit has the name.

NEVER A WRONG CODE, NEVER SILENT. A name that matches no unit, or several ("Xã Hồng Phong, Hải Dương": the
province had three, in three districts), gives no code: the field fails with
  unknown commune '<the text>' (no administrative unit of that name)
  ambiguous commune '<the text>' (3 administrative units of that name)
and the record is quarantined, like a value missing from a code table. Why quarantine and not an empty code
with a flag: a name is looked up as a code-table value is, and this codebase refuses an unknown code-table
value (mappings.runtime.unknown) rather than loading a record without it; a transform sees only its value,
so an empty code could only be flagged by a new side channel in the engine; and flags are not shown to
anyone (the console lists quarantined records, with their reasons in Vietnamese, re-drive and `onestop
mapping try --quarantined` after a fix), so an empty commune would silently drop out of every per-commune
count. The units.py flags are another case: there the source's own code is kept, and nothing is guessed. An
empty text is missing as any value is (`required` and `default` apply). Use the transform on fields that
hold unit names (a ward column, a picklist), not on free-typed addresses of people from anywhere.

The index is built once per process from the data files of the `vietnamadminunits` package, read directly
(parser_legacy.json, parser_from_2025.json, converter_2025.json): importing the package would load its
online geocoder, and no citizen address may leave the machine. A lookup is a few dictionary probes (about
10 µs; a text seen recently, a cache hit).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from mappings.dates import quote
from mappings.errors import ConversionError
from mappings.transforms import register_transform, text
from mappings.units import data_dir, unit_index

UNKNOWN = "unknown commune {value} (no administrative unit of that name)"
AMBIGUOUS = "ambiguous commune {value} ({n} administrative units of that name)"

# -- text to keys ---------------------------------------------------------------------------------------------
_TONES = {"\u0300": "2", "\u0301": "1", "\u0309": "3", "\u0303": "4", "\u0323": "5"}  # huyền sắc hỏi ngã nặng
_DROP_TONES = {ord(m): None for m in _TONES}
_NOT_KEY = re.compile(r"[^a-z0-9]+")
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")
_WORD = re.compile(r"[^\W_]+")

# Separators: hard between units (comma, semicolon, bar, line break); soft inside one (a hyphen, and before an
# abbreviation with its dot or a unit type written out: "X.Cẩm Vũ H.Cẩm Giàng", "… ngõ 5 Phường Trần Phú").
_HARD = re.compile(r"[,;|\n\r]")
_DASH = re.compile(r"[‐‑‒–—]")
_TYPE_WORDS = "thị xã|thị trấn|thành phố|đặc khu|phường|xã|quận|huyện|tỉnh"
_LEADING_TYPE = re.compile(
    rf"(?:{_TYPE_WORDS}|thi xa|thi tran|thanh pho|dac khu|phuong|xa|quan|huyen|tinh)\s+"
)
_SOFT = re.compile(
    rf"\s*[-‐‑‒–—]+\s*|(?<!\w)(?<!thị )(?=(?:p|f|x|tt|q|h|tx|tp|t|đk)\.|(?:{_TYPE_WORDS})(?!\w))"
)
_ABBREVIATIONS = {
    "p": "phường",
    "f": "phường",  # F.14: how Saigon writes a numbered ward
    "x": "xã",
    "tt": "thị trấn",
    "q": "quận",
    "h": "huyện",
    "tx": "thị xã",
    "tp": "thành phố",
    "t": "tỉnh",
    "đk": "đặc khu",
}
# At the start of a part: "P.", "TP .", "P ", "TP ", "TPHCM", "TTGia Lộc", "P1", "Q.3"
_ABBREVIATION = re.compile(
    r"(?:(p|f|x|tt|q|h|tx|tp|t|đk)\s*\.\s*|(p|f|x|tt|q|h|tx|tp)\s+(?=\S)|(tp|tt|tx)(?=[^\W\d_])|(p|f|q)(?=[0-9]))"
)
# A commune's type where a street part runs into it without a separator ("so 12 ngo 5 phuong tran phu")
_WARD_TYPE_TOKENS = frozenset({"p", "f", "x", "tt", "phuong", "xa", "thitran", "dackhu"})
_COUNTRY = frozenset(
    {"vietnam", "vn", "nuoccongbaxahoichunghiavietnam", "nuocchxhcnvietnam", "chxhcnvietnam"}
)
MAX_PARTS = 4  # the most parts one unit's name spans ("Tỉnh Bà Rịa - Vũng Tàu" is two)
MAX_TEXT = 500  # characters read from the right of a longer text (what an address field holds)


def plain_key(value: str) -> str:
    """The letters and digits without diacritics, case or separators; numbers without leading zeros."""
    return _plain(value.lower())


def _plain(lowered: str) -> str:
    # NFD, then ASCII only: the letters lose their marks in C (đ, a letter of its own, first becomes d)
    data = (
        unicodedata.normalize("NFD", lowered.replace("đ", "d")).encode("ascii", "ignore").replace(b" ", b"")
    )
    key = data.decode() if data.isalnum() else _NOT_KEY.sub("", data.decode())
    return _LEADING_ZEROS.sub("", key) if "0" in key else key


def accent_key(value: str) -> str:
    """The letters with their diacritics, each syllable's tone moved to its end ("hoà", "hòa" -> "hoa2")."""
    out = []
    for word in _WORD.findall(value.lower()):
        if word.isascii():
            out.append(word)
            continue
        nfd = unicodedata.normalize("NFD", word)
        tones = "".join(_TONES[c] for c in nfd if c in _TONES)
        out.append(unicodedata.normalize("NFC", nfd.translate(_DROP_TONES)) + tones)
    key = "".join(out)
    return _LEADING_ZEROS.sub("", key) if "0" in key else key


# A piece of the text between separators, its abbreviation written out: (hard segment number, text, plain key)
Part = tuple[int, str, str]


def parts_of(value: str) -> list[Part]:
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    value = value[-MAX_TEXT:].lower()
    hard = (
        value.split(",")
        if value.isascii() and value.isprintable() and ";" not in value and "|" not in value
        else _HARD.split(value)
    )
    out: list[Part] = [(n, text_, key) for n, segment in enumerate(hard) for text_, key in _pieces(segment)]
    if out and out[-1][2] in _COUNTRY:
        out.pop()
    return out


@lru_cache(maxsize=1 << 14)
def _pieces(segment: str) -> tuple[tuple[str, str], ...]:
    """A segment's names (several where a hyphen, an abbreviation or a unit type separates them), each as its
    text with the abbreviation written out and its plain key. Cached: segments repeat ("Tỉnh Hải Dương")."""
    words = segment.split()
    joined = " ".join(words)
    out = []
    for piece in _SOFT.split(joined) if len(words) > 1 and _may_split(joined, words) else (joined,):
        piece = piece.strip(" .")
        if piece[:1] in _ABBREVIATED_START and (
            piece[1:2] in _ABBREVIATED_NEXT or piece[:2] in _ABBREVIATED_TWO
        ):
            piece = expanded(piece)
        key = _plain(piece)
        if key:
            out.append((piece, key))
    return tuple(out)


_ABBREVIATED_START = frozenset("pfxqhtđ")
_ABBREVIATED_NEXT = frozenset(". 0123456789")
_ABBREVIATED_TWO = frozenset({"tp", "tt", "tx", "đk"})
_TYPE_HEADS = frozenset({"thị", "thành", "đặc", "phường", "xã", "quận", "huyện", "tỉnh"})
_TYPE_TAILS = {"thị": ("trấn", "xã"), "thành": ("phố",), "đặc": ("khu",)}


def _may_split(joined: str, words: list[str]) -> bool:
    """Whether a segment holds more than one name: a hyphen, an abbreviation's dot, or a unit type written out
    after its first word (checked by words: a regular expression over every segment costs more)."""
    if "-" in joined or "." in joined:
        return True
    if joined.isascii():
        return False
    if _DASH.search(joined):
        return True
    for i in range(1, len(words)):
        word = words[i]
        if word in _TYPE_HEADS:
            tails = _TYPE_TAILS.get(word)
            if tails is None:
                if not (word == "xã" and words[i - 1] == "thị"):
                    return True
            elif i + 1 < len(words) and words[i + 1] in tails:
                return True
    return False


def expanded(piece: str) -> str:
    """The piece with the abbreviation of a unit's type at its start written out ("tp.hcm" -> "thành phố hcm")."""
    m = _ABBREVIATION.match(piece)
    return piece if m is None else _ABBREVIATIONS[next(g for g in m.groups() if g)] + " " + piece[m.end() :]


def spans(parts: list[Part], end: int) -> Iterable[tuple[int, str, str]]:
    """(start, plain key, text) of the names that end at `end`, within one hard segment, longest first."""
    if end <= 0:
        return
    segment, text_, key = parts[end - 1]
    start = end - 1
    while start > 0 and end - start < MAX_PARTS and parts[start - 1][0] == segment:
        start -= 1
    for i in range(start, end - 1):
        chosen = parts[i:end]
        yield i, "".join(p[2] for p in chosen), " ".join(p[1] for p in chosen)
    yield end - 1, key, text_


def ward_spans(parts: list[Part], end: int) -> Iterable[tuple[str, str]]:
    """The names a commune may be at the left end: spans, then the words of the last part from a commune
    type on (a street run into the commune without a comma)."""
    for _start, key, name in spans(parts, end):
        yield key, name
    if end > 0:
        words = parts[end - 1][1].split()
        for i in range(1, len(words)):
            head = plain_key(words[i])
            if head in _WARD_TYPE_TOKENS or (
                head == "thi" and [plain_key(w) for w in words[i + 1 : i + 2]] == ["tran"]
            ):
                name = expanded(" ".join(words[i:]))
                yield plain_key(name), name


# -- the index ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)  # one object per unit: compared and hashed by identity
class Commune:
    code: str
    district: str | None  # the district-era district code; None for a 2025 commune
    area: str  # legacy: "<province key>/<district key>"; 2025: the province key
    province: str  # the province key (legacy or 2025)
    aliases: frozenset[str]  # plain keys the package lists for it (merged units' names included)


@dataclass(frozen=True, slots=True, eq=False)
class District:
    area: str  # "<province key>/<district key>"
    province: str
    only: frozenset[str] | None = None  # an old district's name: only the communes with these keys


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a name is looked for: district-era provinces (nearest first), and 2025 provinces."""

    legacy: tuple[frozenset[str], ...]
    current: frozenset[str]


@dataclass(frozen=True, slots=True)
class Province:
    legacy: str | None  # key in parser_legacy.json
    current: str | None  # key in parser_from_2025.json
    scope: Scope | None = None  # where its names are looked for (set once the index is built)


EVERYWHERE = ""  # the scope of the tables that hold every unit


class Names:
    """Names -> units, by (scope, plain key): a scope is a district ("<province key>/<district key>"), a province
    key, or EVERYWHERE. The units' names first, then the other names the package lists for them; when the plain
    letters match several units, the accents of the name decide (computed then, for those units only)."""

    def __init__(self) -> None:
        self.names: dict[tuple[str, str], list[Any]] = {}
        self.aliases: dict[tuple[str, str], list[Any]] = {}
        self.spelled: dict[int, tuple[str, ...]] = {}  # id(unit) -> its names as written
        self.letters: dict[int, str] = {}  # id(unit) -> the plain key of its name without its type
        self.accented: dict[int, frozenset[str]] = {}  # id(unit) -> their accent keys, once asked for

    def add(
        self, unit: Any, scopes: tuple[str, ...], type_: str, name: str, aliases: Iterable[str] = ()
    ) -> None:
        short = name[len(type_) :].strip() if name.lower().startswith(type_.lower() + " ") else name
        written = (f"{type_} {short}", short)
        self.spelled[id(unit)] = written
        self.letters[id(unit)] = plain_key(short)
        typed = plain_key(type_)
        for table, keys in (
            (self.names, {plain_key(w) for w in written}),
            (self.aliases, {k for alias in aliases for k in (alias, typed + alias)}),
        ):
            for scope in (*scopes, EVERYWHERE):
                for key in keys:
                    table.setdefault((scope, key), []).append(unit)

    def find(self, key: str, name: str, scopes: Iterable[str]) -> list[Any]:
        for table in (self.names, self.aliases):
            found = [u for scope in scopes for u in table.get((scope, key), ())]
            if len(found) > 1:
                wanted = accent_key(name)
                accented = [u for u in found if wanted in self.accents(u)]
                if accented:
                    return accented
            if found:
                if table is self.names and not name.isascii():
                    return self.contradicted(found, name, scopes)
                return found
        return []

    def contradicted(self, found: list[Any], name: str, scopes: Iterable[str]) -> list[Any]:
        """`found` and the units the name's accents point to instead: "Xã Tân Thạnh" where the district has a
        Thị trấn Tân Thạnh and a Xã Tân Thành is one of the two, not the Xã."""
        letters = self.letters[id(found[0])]  # the text named it by its name, typed or not: the same letters
        same_letters = [u for scope in scopes for u in self.names.get((scope, letters), ())]
        if len(same_letters) <= len(found):
            return found  # the usual case: no other unit is written with these letters
        wanted = accent_key(_LEADING_TYPE.sub("", name, count=1))
        if any(wanted in self.accents(u) for u in found):
            return found
        return found + [u for u in same_letters if u not in found and wanted in self.accents(u)]

    def accents(self, unit: Any) -> frozenset[str]:
        keys = self.accented.get(id(unit))
        if keys is None:
            keys = self.accented[id(unit)] = frozenset(accent_key(w) for w in self.spelled[id(unit)])
        return keys


@dataclass(frozen=True, slots=True)
class Index:
    provinces: dict[str, Province]  # plain key of a province name -> the province in each system
    legacy_codes: dict[str, str]  # legacy province code -> key
    current_codes: dict[str, str]  # 2025 province code -> key
    territory: dict[str, frozenset[str]]  # 2025 province key -> the legacy province keys it took in
    merged_into: dict[str, str]  # legacy province key -> the 2025 province key that took it in
    districts: Names  # district-era districts, by province
    old_districts: dict[tuple[str, str], list[District]]  # (province, an old district's name) -> successors
    legacy: Names  # district-era communes, by district and by province
    current: Names  # 2025 communes, by province
    everywhere: Scope


@cache
def name_index() -> Index:
    """Built once per process (about half a second), from the package's data files."""
    folder = data_dir()
    legacy = _json(folder / "parser_legacy.json")
    new = _json(folder / "parser_from_2025.json")
    converter = _json(folder / "converter_2025.json")

    provinces: dict[str, Province] = {}

    def province_keys(p: dict[str, Any]) -> set[str]:
        type_ = "Thành phố" if p["province"].startswith("Thành phố") else "Tỉnh"
        short = p["provinceShort"]
        keys = {plain_key(f"{type_} {short}"), plain_key(short)}
        for alias in p["provinceKeywords"]:
            keys |= {alias, plain_key(type_) + alias}
        return keys

    for key, p in legacy["DICT_PROVINCE"].items():
        for k in province_keys(p):
            provinces[k] = Province(key, provinces[k].current if k in provinces else None)
    for key, p in new["DICT_PROVINCE"].items():
        for k in province_keys(p):
            provinces[k] = Province(provinces[k].legacy if k in provinces else None, key)
    provinces["thuathienhue"] = provinces["tinhthuathienhue"] = provinces["hue"]  # its name until 2025-01-01

    legacy_codes = {p["provinceCode"]: k for k, p in legacy["DICT_PROVINCE"].items()}
    current_codes = {p["provinceCode"]: k for k, p in new["DICT_PROVINCE"].items()}
    territory = {k: frozenset(olds) for k, olds in converter["DICT_PROVINCE"].items()}
    merged_into = {old: k for k, olds in territory.items() for old in olds}
    provinces = {
        k: Province(p.legacy, p.current, scope_of(territory, p.legacy, p.current))
        for k, p in provinces.items()
    }

    districts = Names()
    for pkey, units in legacy["DICT_PROVINCE_DISTRICT"].items():
        for dkey, d in units.items():
            unit = District(f"{pkey}/{dkey}", pkey)
            districts.add(unit, (pkey,), d["districtType"], d["district"], d["districtKeywords"])
    old_districts: dict[tuple[str, str], list[District]] = {}
    for pkey, divided in legacy["DICT_PROVINCE_DISTRICT_DIVIDED"].items():
        for dkey, d in divided.items():
            if dkey in legacy["DICT_PROVINCE_DISTRICT"][pkey]:
                continue  # a district still in the data: its own communes only (a name elsewhere is unknown)
            successors = [
                District(f"{pkey}/{k}", pkey, frozenset(s["wardKeywords"])) for k, s in d["districts"].items()
            ]
            for alias in d["dividedDistrictKeywords"]:
                for scope in (pkey, EVERYWHERE):
                    old_districts.setdefault((scope, alias), []).extend(successors)

    communes = Names()
    for pkey, by_district in legacy["DICT_PROVINCE_DISTRICT_WARD_NO_ACCENTED"].items():
        for dkey, wards in by_district.items():
            dcode = legacy["DICT_PROVINCE_DISTRICT"][pkey][dkey]["districtCode"]
            area = f"{pkey}/{dkey}"
            for w in wards.values():
                if not isinstance(w["ward"], str):
                    continue  # an island district without communes
                aliases = frozenset(w["wardKeywords"])
                unit = Commune(w["wardCode"], dcode, area, pkey, aliases)
                communes.add(unit, (area, pkey), w["wardType"], w["ward"], aliases)

    current = Names()
    for pkey, wards in new["DICT_PROVINCE_WARD_NO_ACCENTED"].items():
        for w in wards.values():
            current.add(
                Commune(w["wardCode"], None, pkey, pkey, frozenset()), (pkey,), w["wardType"], w["ward"]
            )

    everywhere = Scope((frozenset({EVERYWHERE}),), frozenset({EVERYWHERE}))
    return Index(
        provinces,
        legacy_codes,
        current_codes,
        territory,
        merged_into,
        districts,
        old_districts,
        communes,
        current,
        everywhere,
    )


def _json(path: Path) -> Any:
    # The package writes NaN for the missing communes of island districts: orjson refuses it, json reads it.
    return json.loads(path.read_bytes())


def scope_of(territory: dict[str, frozenset[str]], legacy: str | None, current: str | None) -> Scope:
    """A province named in one system or both: its own district-era province first, then the others its 2025
    province took in (none for a name the 2025 units no longer have: Hải Dương means the district-era one)."""
    tiers = [frozenset({legacy})] if legacy is not None else []
    others = territory.get(current, frozenset()) - {legacy} if current is not None else frozenset()
    if others:
        tiers.append(others)
    return Scope(tuple(tiers), frozenset({current}) if current else frozenset())


def province_scope(code: str) -> Scope:
    """The province a transform's argument names: its district-era province with that code, and the 2025
    province with that code or the one that took it in. ValueError for a code that is neither."""
    index = name_index()
    legacy = index.legacy_codes.get(code)
    current = index.current_codes.get(code) or (index.merged_into.get(legacy) if legacy else None)
    if legacy is None and current is None:
        raise ValueError(f"{code!r} is not a province code (GSO, two digits: 01 Hà Nội … 96 Cà Mau)")
    return scope_of(index.territory, legacy, current)


# -- parsing --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Found:
    """What a text names: one commune, or the count of those it could be (0: none)."""

    commune: Commune | None
    count: int


def resolve(value: str, default: Scope | None = None) -> Found | None:
    """The commune a text names, from the right; None when the text holds no name at all. Cached (a feed
    repeats its communes); the text is cut to its last MAX_TEXT characters first, so the cache stays small."""
    return _resolve(value[-MAX_TEXT:], default)


@lru_cache(maxsize=1 << 13)
def _resolve(value: str, default: Scope | None) -> Found | None:
    index = name_index()
    parts = parts_of(value)
    if not parts:
        return None
    end = len(parts)
    for start, key, name in spans(parts, end):
        province = index.provinces.get(key)
        if province is not None:
            found = _read(index, parts, start, province.scope)
            other = default or province.scope
            if _districts(index, key, name, other):  # "An Xuyên, Cà Mau": of the province, or of its city?
                found = _either(found, _read(index, parts, end, other))
            return found
    return _read(index, parts, end, default or index.everywhere)


def _read(index: Index, parts: list[Part], end: int, scope: Scope) -> Found:
    """The commune named by parts[:end], in a province's scope: after a district, else in two levels."""
    hyphenated = Found(None, 0)  # a whole segment that is a 2025 commune's name ("Phường Lâm Viên - Đà Lạt")
    for n, (start, key, name) in enumerate(spans(parts, end)):  # a district named: the text is district-era
        if n == 0 and start < end - 1:
            hyphenated = _one(index.current.find(key, name, scope.current))
        districts = (
            _districts(index, key, name, scope) if start > 0 else None
        )  # (nothing left of it: a commune)
        if districts:
            return _either(hyphenated, _communes_of(index, districts, parts, start))
    if hyphenated.count:
        return hyphenated
    # no district: the 2025 units, then the district-era ones across the province's districts
    for key, name in ward_spans(parts, end):
        found = index.current.find(key, name, scope.current)
        if found:
            return _one(found)
    for tier in scope.legacy:
        for key, name in ward_spans(parts, end):
            found = index.legacy.find(key, name, tier)
            if found:
                return _one(found)
    return Found(None, 0)


def _districts(index: Index, key: str, name: str, scope: Scope) -> list[District]:
    for tier in scope.legacy:
        found = index.districts.find(key, name, tier) or [
            d for province in tier for d in index.old_districts.get((province, key), ())
        ]
        if found:
            return found
    return []


def _communes_of(index: Index, districts: list[District], parts: list[Part], end: int) -> Found:
    areas = [d.area for d in districts]
    for key, name in ward_spans(parts, end):
        found = index.legacy.find(key, name, areas)
        if found:
            restricted = {d.area: d.only for d in districts if d.only is not None}
            if restricted:  # an old district's name: only the communes that were in it
                found = [
                    c
                    for c in found
                    if c.area not in restricted or not c.aliases.isdisjoint(restricted[c.area])
                ]
            return _one(found)
    return Found(None, 0)


def _either(one: Found, other: Found) -> Found:
    """A text read two ways ("Phú Sơn - Lâm Hà": the 2025 commune Phú Sơn Lâm Hà, or Phú Sơn of the district
    Lâm Hà): one answer when only one way finds a unit, or when both find the same commune — the same code, or
    a district-era commune that became exactly that 2025 commune (its district-era code is then right before
    and after 2025-07-01: mappings.units converts it). Anything else is ambiguous."""
    if not one.count or not other.count:
        return one if one.count else other
    a, b = one.commune, other.commune
    if a is not None and b is not None:
        if a is b:
            return one
        legacy, current = (a, b) if b.district is None else (b, a)
        if legacy.district is not None and current.district is None:
            became = unit_index().communes.get(legacy.code, ())
            if legacy.code == current.code or [u.commune_code for u in became] == [current.code]:
                return Found(legacy, 1)
    return Found(None, one.count + other.count)


def _one(found: list[Commune]) -> Found:
    return Found(found[0] if len(found) == 1 else None, len(found))


def _commune(value: Any, default: Scope | None) -> Commune | None:
    s = text(value)
    found = resolve(s, default)
    if found is None:
        return None
    if found.commune is None:
        template = AMBIGUOUS if found.count > 1 else UNKNOWN
        named = unit_part(s)
        raise ConversionError(template.format(value=quote(named), n=found.count), named)
    return found.commune


# Where an address's units begin: a unit's type, written out or abbreviated ("Phường", "P.", "Q3")
_UNIT_START = re.compile(
    rf"(?<!\w)(?:{_TYPE_WORDS}|thi xa|thi tran|thanh pho|phuong|xa|quan|huyen|tinh)(?!\w)"
    r"|(?<!\w)(?:p|f|x|tt|q|h|tx|tp|t)(?:\s*\.|(?=\d))",
    re.IGNORECASE,
)
# A leading part that is the house and street, not a unit: a number, or a street word first
_STREET = re.compile(
    r"^\s*(?:\d|(?:số|so|ngõ|ngo|ngách|ngach|hẻm|hem|kiệt|kiet|đường|duong|phố|pho|tổ|to|thôn|thon|ấp|ap)\b)",
    re.IGNORECASE,
)


def unit_part(value: str) -> str:
    """What an error quotes of an address that names no one unit: its units, not the house and street before
    them (an applicant's address is more than an administrator needs to see in a reason or a log line). The
    last three parts at most (commune, district, province); the first of them from its unit's type on when a
    street runs into it, or left out when it reads as a street."""
    value = unicodedata.normalize("NFC", value[-MAX_TEXT:])
    segments = [p.strip() for p in _HARD.split(value) if p.strip()]
    if segments and plain_key(segments[-1]) in _COUNTRY:
        segments.pop()
    kept = segments[-3:]
    if kept:
        m = _UNIT_START.search(kept[0])
        if m is not None:
            kept[0] = kept[0][m.start() :]
        elif _STREET.match(kept[0]):
            kept = kept[1:]
    return ", ".join(kept) or "…"


# -- the transforms -------------------------------------------------------------------------------------------
@register_transform("commune_code_by_name", arg="optional")
def commune_code_by_name(province: str | None) -> Callable[[Any], str | None]:
    """`Phường Trần Phú, TP Hải Dương` -> `10528` (district-era), `Phường Lê Thanh Nghị, Hải Phòng` -> the
    2025 code; the argument is the province code assumed when the text names none."""
    default = province_scope(province) if province else None

    def transform(value: Any) -> str | None:
        commune = _commune(value, default)
        return commune.code if commune is not None else None

    return transform


@register_transform("district_code_by_name", arg="optional")
def district_code_by_name(province: str | None) -> Callable[[Any], str | None]:
    """The district-era district of the commune the text names (None when it is a 2025 commune): mapped beside
    commune_code_by_name, it tells mappings.units which unit system the commune code is in."""
    default = province_scope(province) if province else None

    def transform(value: Any) -> str | None:
        commune = _commune(value, default)
        return commune.district if commune is not None else None

    return transform
