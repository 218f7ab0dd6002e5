"""Date and time parsing for mapping rules: named formats compiled once into fast parsers.

Format names (DOMAIN.md §4.2):
  iso             ISO 8601: `2025-03-12T08:15:00+07:00`, `...Z`, `...+0700`, no zone, fractional seconds,
                  a space instead of `T`, or a bare date (midnight). Parsed by datetime.fromisoformat.
  epoch_s         seconds since 1970 (a number or a digit string), epoch_ms: milliseconds.
  dotnet          the JSON date of WCF, ASP.NET AJAX and OData v2: `/Date(1700000000000)/`,
                  `/Date(1700000000000+0700)/`, `/Date(-86400000-0500)/` (also with `\\/` for `/`). The number is
                  milliseconds since 1970-01-01T00:00:00Z and alone fixes the instant; the optional ±hhmm is the
                  offset of the zone it was written in (the local time is the instant at that offset).
  excel           a spreadsheet's serial day number, as a sheet or a flow (Power Automate, SheetJS) sends a date
                  cell it did not format: days since 1899-12-30, the fraction the time of day, read to the
                  millisecond, in the mapping's timezone (`45474.375` = 2024-07-01 09:00); a number or its text.
                  Excel's day 60 (1900-02-29, a day that never was) is impossible; days 1-59 are January and
                  February 1900, as Excel counts them.
  a pattern       built from the tokens yyyy yy MMMM MMM MM M dd d HH H mm ss S… and the separators `-/.:, T`,
                  e.g. `yyyyMMddHHmmss`, `dd/MM/yyyy`, `dd/MM/yyyy HH:mm`, `yyyy-MM-dd HH:mm:ss`, `d/M/yyyy`.
                  Two-letter tokens take exactly two digits, one-letter tokens one or two; S… is a fraction.
                  A token is a whole run of its letter: `yyy` or `MMMMM` is no token, and no pattern.
                  yy is a year in two digits, its century fixed as Oracle's RR fixes it this century, so that
                  a value reads the same whatever year it is read in: 00-49 are 2000-2049, 50-99 are 1950-1999
                  (`dd/MM/yy`: `05/12/26` is 5 December 2026, `05/12/75` 1975). Written, it is the year's
                  last two digits; a time outside 1950-2049 cannot be written so (it would read back wrong).
                  MMM and MMMM are a month's name, read in any case, with or without Vietnamese diacritics, in
                  NFC or NFD, either token any of the names (Oracle reads MON and MONTH so; a culture's
                  abbreviation is another's full name): English `Dec`, `Sept`, `December`; Vietnamese as
                  .NET's vi-VN culture (`Thg12`, `Tháng Mười Hai`, `Tháng Giêng` for January), CLDR (`thg 12`,
                  `tháng 12`, `tháng mười hai`) and web pickers (`Th12`, `Th.12`) write it, and `Tháng Tư` or
                  `Tháng Bốn`; trailing blanks (Oracle pads MONTH) are read. A month word or number that names
                  no month (`Th13`) is impossible; a word that is no month's name is unrecognized. Written,
                  MMM is the English abbreviation and MMMM the English name, upper case as Oracle's default
                  NLS_DATE_LANGUAGE writes them: `dd-MMM-yy` is Oracle's default NLS_DATE_FORMAT DD-MON-RR,
                  `05-DEC-26`.
                  A 12-hour clock is hh or h with tt, the designator: AM/PM as .NET's en-US culture writes it,
                  or SA/CH (sáng, chiều) as its vi-VN one does, read in any case and written AM/PM
                  (`M/d/yyyy h:mm:ss tt`: `12/5/2026 2:30:00 PM`). Text in single quotes is literal
                  (`'ngày' dd 'tháng' MM 'năm' yyyy`; `''` is a quote).
                  A pattern without a day is *partial* (`MM/yyyy`, `yyyy`): only for date fields, where it
                  gives the first day of the period and the precision "month" or "year".
A time without a zone is in the mapping's timezone; every time comes out in Asia/Ho_Chi_Minh (a time with
another offset, or read in another zone, is converted to it), so the same instant always serialises the same way
(stable content hashes) and the province reads its own clock.
A value that has the shape of a format but names no real day or time (2025-02-30, 25:00) is *impossible*;
one that fits no format is *unrecognized*. Both raise ConversionError, never anything else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from mappings.errors import ConversionError
from schemas.dossier import HCM  # the zone every time comes out in
from schemas.text_safety import escape

Precision = Literal["day", "month", "year"]
DateResult = tuple[date, Precision]

# A token is a whole run of one letter (`yyy` is no yyyy followed by a y, but no token at all).
_TOKEN = re.compile(r"y+|M+|d+|H+|h+|m+|s+|t+|S+|'(?:[^']|'')*'|[-/.:, T]")
# What each letter's runs may be, for the message that refuses another run.
_RUNS = {
    "y": "a year is yyyy or yy",
    "M": "a month is M, MM, MMM or MMMM",
    "d": "a day is d or dd",
    "H": "an hour is H or HH",
    "h": "a 12-hour clock's hour is h or hh",
    "m": "minutes are mm",
    "s": "seconds are ss",
    "t": "the AM/PM designator is tt",
    "S": "a fraction is S to SSSSSSSSS",
}
_MONTHS_EN = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
# Vietnamese month words after `tháng`, without diacritics (each folds to one month: no two collide). .NET's
# vi-VN culture calls January Giêng; Tư and Bốn are both heard for April.
_MONTH_WORDS_VI = {
    "mot": 1, "gieng": 1, "hai": 2, "ba": 3, "tu": 4, "bon": 4, "nam": 5, "sau": 6,
    "bay": 7, "tam": 8, "chin": 9, "muoi": 10, "muoi mot": 11, "muoi hai": 12,
}  # fmt: skip
_MONTH_BY_NAME = {
    **{name: i for i, name in enumerate(_MONTHS_EN, 1)},
    **{name[:3]: i for i, name in enumerate(_MONTHS_EN, 1)},
    "sept": 9,
    **{f"thang {word}": i for word, i in _MONTH_WORDS_VI.items()},
}


def _fold(text: str) -> str:
    """Lower case without diacritics, words one space apart: `Tháng  Mười Hai` is `thang muoi hai`."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(bare.replace("đ", "d").replace("Đ", "D").lower().split())


def _variants() -> dict[str, str]:
    """Each ASCII letter with every Latin letter that is it plus diacritics (á ă ắ ư đ …), both cases."""
    found: dict[str, set[str]] = {}
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        base = _fold(chr(code))
        if len(base) == 1 and base.isascii() and base.isalpha():
            found.setdefault(base, {base, base.upper()}).add(chr(code))
    return {letter: "".join(sorted(chars)) for letter, chars in found.items()}


_VARIANTS = _variants()


def _loose(words: str) -> str:
    """A regex of lower-case ASCII `words` in any case and with any diacritics, blanks between the words."""
    return r"\s+".join(
        "".join(f"[{_VARIANTS[c]}]" if c in _VARIANTS else re.escape(c) for c in word)
        for word in words.split()
    )


def _month_name_regex() -> str:
    """Every month name MMM and MMMM read, longest first: a name never stops short inside a longer one."""
    thang = _loose("thang")
    words = sorted(_MONTH_WORDS_VI, key=len, reverse=True)
    names = [
        *sorted({*_MONTHS_EN, "sept", *(n[:3] for n in _MONTHS_EN)}, key=len, reverse=True),
        # tháng 12, Tháng Mười Hai; a number that is no month (Th13) is read, and is impossible
        rf"{thang}\s+(?:\d{{1,2}}|{'|'.join(_loose(w) for w in words)})",
        # Thg12 (.NET vi-VN), thg 12 (CLDR), Th12, Th.12 (web date pickers)
        r"th(?:g|\.)?\s?\d{1,2}",
    ]
    # Oracle pads MONTH with blanks to its longest name's width.
    return f"(?P<N>(?i:{'|'.join(names)}))[ ]*"


@lru_cache(maxsize=256)
def _month(name: str) -> int:
    """The month a name _month_name_regex matched says (13 for Th13: the caller finds it impossible)."""
    key = _fold(name)
    digits = re.search(r"\d+", key)
    return int(digits.group()) if digits else _MONTH_BY_NAME[key]


def _century(yy: str) -> int:
    """Oracle's RR as read this century, fixed so that a value reads the same every year: 00-49 are 20xx."""
    year = int(yy)
    return year + (2000 if year < 50 else 1900)


_TOKEN_RE = {
    "hh": r"(?P<h>\d{2})",
    "h": r"(?P<h>\d{1,2})",
    "tt": r"(?P<t>(?i:AM|PM|A\.M\.|P\.M\.|SA|CH))",
    "yyyy": r"(?P<y>\d{4})",
    "yy": r"(?P<Y>\d{2})",
    "MMMM": _month_name_regex(),
    "MMM": _month_name_regex(),
    "MM": r"(?P<M>\d{2})",
    "M": r"(?P<M>\d{1,2})",
    "dd": r"(?P<d>\d{2})",
    "d": r"(?P<d>\d{1,2})",
    "HH": r"(?P<H>\d{2})",
    "H": r"(?P<H>\d{1,2})",
    "mm": r"(?P<m>\d{2})",
    "ss": r"(?P<s>\d{2})",
}
# What has to be present for a token to make sense: a day needs a month, minutes need hours, ... (a 12-hour
# clock's hour counts as the hour: `h` and `t` need each other).
_NEEDS = {"M": "y", "d": "M", "H": "d", "m": "H", "s": "m", "S": "s", "h": "t", "t": "h"}
_AFTERNOON = frozenset({"PM", "P.M.", "CH"})  # chiều: the vi-VN culture's PM
_ISO_SHAPE = re.compile(
    r"^[+-]?\d{4}-?\d{2}-?\d{2}(?:[T ]\d{2}(?::?\d{2}(?::?\d{2}(?:[.,]\d+)?)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_EPOCH_TEXT = re.compile(r"^-?\d+(?:\.\d+)?$")
_DOTNET = re.compile(
    r"^\\?/Date\((?P<ms>-?[0-9]+)(?:(?P<sign>[+-])(?P<hh>[0-9]{2})(?P<mm>[0-9]{2}))?\)\\?/\Z"
)


@dataclass(frozen=True, slots=True)
class DateFormat:
    name: str
    kind: Literal["iso", "epoch", "dotnet", "excel", "pattern"]
    precision: Precision = "day"  # a pattern without a day is partial
    regex: re.Pattern[str] | None = None
    scale: float = 1.0  # epoch: seconds per unit

    @property
    def partial(self) -> bool:
        return self.precision != "day"


def parse_format(name: str) -> DateFormat:
    """The format called `name`, or ValueError saying why it is not one."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a date format is a name, not {name!r}")
    if name == "iso":
        return DateFormat(name, "iso")
    if name in ("epoch_s", "epoch_ms"):
        return DateFormat(name, "epoch", scale=1.0 if name == "epoch_s" else 0.001)
    if name in ("dotnet", "excel"):
        return DateFormat(name, name)
    pos, parts, seen = 0, [], set()
    while pos < len(name):
        m = _TOKEN.match(name, pos)
        if not m:
            raise ValueError(
                f"unknown date format {name!r} (not iso, epoch_s, epoch_ms, dotnet, excel or a yyyy/MM/dd pattern)"
            )
        tok = m.group()
        pos = m.end()
        if tok[0] in _RUNS and tok not in _TOKEN_RE and not (tok[0] == "S" and len(tok) <= 9):
            raise ValueError(f"unknown date format {name!r}: {tok} is no token ({_RUNS[tok[0]]})")
        if tok[0] == "S":
            seen.add("S")
            parts.append(r"(?P<S>\d{1,9})")
        elif tok[0] == "'":  # any case, in NFC as the value is read
            parts.append(f"(?i:{re.escape(unicodedata.normalize('NFC', _literal(tok)))})")
        elif tok in _TOKEN_RE:
            letter = tok[0]
            if letter in seen:
                raise ValueError(f"unknown date format {name!r}: {tok} appears twice ({_RUNS[letter]}, once)")
            seen.add(letter)
            parts.append(_TOKEN_RE[tok])
        else:
            parts.append(re.escape(tok))
    if "y" not in seen:
        raise ValueError(f"unknown date format {name!r}: no yyyy or yy")
    if "h" in seen and "H" in seen:
        raise ValueError(
            f"unknown date format {name!r}: an hour of a 24-hour clock (H) and of a 12-hour one (h)"
        )
    if "h" in seen and "d" not in seen:
        raise ValueError(f"unknown date format {name!r}: a pattern with h needs d")
    for letter, needed in _NEEDS.items():
        if letter in seen and needed not in seen and not (needed == "H" and "h" in seen):
            raise ValueError(f"unknown date format {name!r}: a pattern with {letter} needs {needed}")
    precision: Precision = "day" if "d" in seen else "month" if "M" in seen else "year"
    return DateFormat(name, "pattern", precision, re.compile("^" + "".join(parts) + "$"))


class _Impossible(Exception):
    pass


def quote(value: Any, limit: int = 80) -> str:
    """A value as a reason quotes it: at most `limit` characters, control and invisible characters escaped."""
    text = value if isinstance(value, str) else repr(value)
    return "'" + escape(text if len(text) <= limit else text[: limit - 1] + "…") + "'"


class DateParser:
    """Parses one field's values with its formats, in order. Built once per rule at compile time."""

    def __init__(self, formats: Sequence[str], tz: ZoneInfo) -> None:
        self.formats = [parse_format(f) for f in formats]
        self.tz = tz  # of times written without a zone
        self._local = tz.key == HCM.key
        # The canonical zone's usual offset: times already carrying it are kept as they are (no astimezone).
        self._offset = datetime(2020, 1, 1, tzinfo=HCM).utcoffset()
        self._fixed = timezone(self._offset) if self._offset is not None else HCM
        self._expected = " or ".join(f.name for f in self.formats)
        self._attempts = [self._attempt(f) for f in self.formats]
        self._iso_first = bool(self.formats) and self.formats[0].kind == "iso"
        self.iso_only = [f.kind for f in self.formats] == ["iso"]
        self.datetime: Callable[[Any], datetime] = self._iso_datetime if self.iso_only else self._any_datetime

    # -- datetime targets -------------------------------------------------------------------------------
    def _iso_datetime(self, value: Any) -> datetime:
        if type(value) is str:
            try:
                dt = datetime.fromisoformat(value)
            except ValueError:
                if _ISO_SHAPE.match(value):
                    raise ConversionError(f"impossible date {quote(value)}", value) from None
                raise ConversionError(f"unrecognized date {quote(value)} (expected iso)", value) from None
            return self._zoned(dt, value)
        return self._any_datetime(value)

    def _any_datetime(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            dt = value
        elif isinstance(value, date):
            dt = datetime(value.year, value.month, value.day)
        else:
            dt = self._run(value)
        return self._zoned(dt, value)

    def _zoned(self, dt: datetime, value: Any) -> datetime:
        try:
            return self._zone(dt)
        except OverflowError:  # a time that is past year 9999 (or before year 1) on the province's clock
            raise ConversionError(f"impossible date {quote(value)}", value) from None

    def _zone(self, dt: datetime) -> datetime:
        t = dt.tzinfo
        if t is None:
            dt = dt.replace(tzinfo=self.tz)
            if self._local:
                return dt
        elif t == self._fixed or dt.utcoffset() == self._offset:
            return dt
        return dt.astimezone(HCM)

    # -- date targets -----------------------------------------------------------------------------------
    def date(self, value: Any) -> DateResult:
        if isinstance(value, datetime):
            return self._local_date(value), "day"
        if isinstance(value, date):
            return value, "day"
        if self._iso_first and type(value) is str and len(value) == 10:
            try:  # fast path: a plain ISO date
                return date.fromisoformat(value), "day"
            except ValueError:
                pass
        result = self._run(value, dates=True)
        if isinstance(result, tuple):
            return result
        if isinstance(result, datetime):
            return self._local_date(result), "day"
        return result, "day"

    def _local_date(self, dt: datetime) -> date:
        # A birthday serialised as 1985-03-01T17:00:00Z is 2 March in Vietnam.
        return dt.date() if dt.tzinfo is None else dt.astimezone(HCM).date()

    # -- shared -----------------------------------------------------------------------------------------
    def _run(self, value: Any, dates: bool = False) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConversionError(f"expected a date, got {type(value).__name__}", value)
        impossible = False
        for attempt in self._attempts:
            try:
                result = attempt(value, dates)
            except _Impossible:
                impossible = True
                continue
            if result is not None:
                return result
        if impossible:
            raise ConversionError(f"impossible date {quote(value)}", value)
        raise ConversionError(f"unrecognized date {quote(value)} (expected {self._expected})", value)

    def _attempt(self, fmt: DateFormat) -> Callable[[Any, bool], Any]:
        if fmt.kind == "iso":

            def iso(value: Any, dates: bool) -> Any:
                if type(value) is not str:
                    return None
                try:
                    return datetime.fromisoformat(value)
                except ValueError:
                    if _ISO_SHAPE.match(value):
                        raise _Impossible from None
                    return None

            return iso
        if fmt.kind == "epoch":
            scale, tz = fmt.scale, HCM

            def epoch(value: Any, dates: bool) -> Any:
                if type(value) is str:
                    if not _EPOCH_TEXT.match(value):
                        return None
                    value = float(value)
                try:
                    return datetime.fromtimestamp(value * scale, UTC).astimezone(tz)
                except (OverflowError, OSError, ValueError):
                    raise _Impossible from None

            return epoch
        if fmt.kind == "dotnet":
            return _dotnet
        if fmt.kind == "excel":
            return _excel
        regex, precision = fmt.regex, fmt.precision
        assert regex is not None
        two_digit, named = "Y" in regex.groupindex, "N" in regex.groupindex

        def pattern(value: Any, dates: bool) -> Any:
            if type(value) is not str:
                return None
            m = regex.match(value)
            if m is None and not value.isascii():  # a literal's words in NFD, as some systems write them
                m = regex.match(unicodedata.normalize("NFC", value))
            if m is None:
                return None
            g = m.groupdict()
            year = _century(g["Y"]) if two_digit else int(g["y"])
            month = _month(g["N"]) if named else int(g.get("M") or 1)
            try:
                if precision != "day":
                    return date(year, month, 1), precision
                frac, hour = g.get("S"), int(g.get("H") or 0)
                if g.get("h") is not None:  # a 12-hour clock: 12 AM is midnight, 12 PM noon
                    if not 1 <= (hour := int(g["h"])) <= 12:
                        raise ValueError
                    hour = hour % 12 + (12 if g["t"].upper() in _AFTERNOON else 0)
                dt = datetime(
                    year,
                    month,
                    int(g["d"]),
                    hour,
                    int(g.get("m") or 0),
                    int(g.get("s") or 0),
                    int((frac + "000000")[:6]) if frac else 0,
                )
            except ValueError:
                raise _Impossible from None
            return dt.date() if dates else dt

        return pattern


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Day 61 is 1900-03-01: Excel counts a 1900-02-29 (Lotus 1-2-3's leap year), so its day 0 is 1899-12-30.
_EXCEL_DAY_0 = datetime(1899, 12, 30)
_EXCEL_LAST = 2958465  # 9999-12-31
_DAY_MS = 86_400_000


def _excel(value: Any, dates: bool) -> Any:
    """A serial day number (a number or its text, never a bool) as the local wall time it names."""
    if type(value) is str:
        if not _EPOCH_TEXT.match(value):
            return None
        value = float(value)
    elif type(value) not in (int, float):
        return None
    # Before 1900, after 9999, or the day that never was.
    if not 1 <= value < _EXCEL_LAST + 1 or 60 <= value < 61:
        raise _Impossible
    ms = round(value * _DAY_MS)  # read to the millisecond: 09:30 is 0.39583333…, stored a little off
    moment = _EXCEL_DAY_0 + timedelta(milliseconds=ms) + (timedelta(days=1) if value < 60 else timedelta())
    return moment.date() if dates else moment


_MS = timedelta(milliseconds=1)


def _dotnet(value: Any, dates: bool) -> datetime | None:
    """`/Date(ms±hhmm)/`: the instant `ms` after the epoch, at the offset ±hhmm (UTC without one)."""
    if type(value) is not str or (m := _DOTNET.match(value)) is None:
        return None
    ms, hh, mm = m["ms"], m["hh"], m["mm"]
    if len(ms.lstrip("-")) > 18 or (hh is not None and (int(hh) > 23 or int(mm) > 59)):
        raise _Impossible  # far beyond year 9999 (and no int() of a huge digit string), or no real offset
    zone = UTC
    if hh is not None:
        offset = timedelta(hours=int(hh), minutes=int(mm))
        zone = timezone(-offset if m["sign"] == "-" else offset)
    try:
        return (_EPOCH + int(ms) * _MS).astimezone(zone)
    except OverflowError:  # before year 1 or after 9999, here or at the offset
        raise _Impossible from None


_WRITE = {
    "yyyy": "{0.year:04d}",
    "MM": "{0.month:02d}",
    "M": "{0.month}",
    "dd": "{0.day:02d}",
    "d": "{0.day}",
    "HH": "{0.hour:02d}",
    "H": "{0.hour}",
    "mm": "{0.minute:02d}",
    "ss": "{0.second:02d}",
}


def _two_digit_year(year: int) -> str:
    """A year as yy writes it, if it reads back as the same year (1950-2049)."""
    if not 1950 <= year <= 2049:
        raise ValueError(
            f"the year {year} cannot be written as yy: it would read back as {_century(f'{year % 100:02d}')}"
        )
    return f"{year % 100:02d}"


def _literal(token: str) -> str:
    """A quoted token's text: `'ngày'` is ngày, `''` a quote."""
    return "'" if token == "''" else token[1:-1].replace("''", "'")


def window_format(name: str) -> DateFormat:
    """A format a request window can be written in: any format of a day or finer (not `MM/yyyy`)."""
    fmt = parse_format(name)
    if fmt.partial:
        raise ValueError(f"date format {name!r} names no day: a window bound needs one")
    return fmt


def format_datetime(value: datetime, name: str, tz: ZoneInfo) -> str | int:
    """`value` written in format `name`, in zone `tz` (how a source that reads local time wants its window).

    iso carries the zone's offset; epoch_s and epoch_ms are numbers; dotnet is `/Date(ms)/` (an instant: UTC,
    no offset); a pattern is the local wall time. Finer parts a format cannot write are truncated.
    """
    fmt = window_format(name)
    local = value.astimezone(tz) if value.tzinfo is not None else value.replace(tzinfo=tz)
    if fmt.kind == "iso":
        return local.isoformat(timespec="seconds")
    if fmt.kind == "epoch":  # whole units since 1970, exactly (no float rounding)
        return (local - _EPOCH) // timedelta(seconds=fmt.scale)
    if fmt.kind == "dotnet":
        return f"/Date({(local - _EPOCH) // _MS})/"
    if fmt.kind == "excel":  # the local wall time's serial, to the second (a whole day: an int)
        seconds = (local.replace(tzinfo=None, microsecond=0) - _EXCEL_DAY_0) // timedelta(seconds=1)
        return seconds // 86400 if seconds % 86400 == 0 else round(seconds / 86400, 10)
    out = []
    for tok in _TOKEN.findall(name):
        if tok[0] == "S":
            out.append(f"{local.microsecond:06d}"[: len(tok)].ljust(len(tok), "0"))
        elif tok[0] == "'":
            out.append(_literal(tok))
        elif tok in ("hh", "h"):
            out.append(f"{(local.hour - 1) % 12 + 1:0{len(tok)}d}")
        elif tok == "tt":
            out.append("PM" if local.hour >= 12 else "AM")
        elif tok == "yy":
            out.append(_two_digit_year(local.year))
        elif tok in ("MMM", "MMMM"):
            # English and upper case, as Oracle writes MON and MONTH by default (and reads in any case)
            name = _MONTHS_EN[local.month - 1].upper()
            out.append(name[:3] if tok == "MMM" else name)
        else:
            out.append(_WRITE[tok].format(local) if tok in _WRITE else tok)
    return "".join(out)
