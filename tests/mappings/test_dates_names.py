"""Two-digit years (yy) and month names (MMM, MMMM): FoxPro and Excel screens' `05/12/26`, Oracle's default
DD-MON-RR `05-DEC-26`, and the month names English and Vietnamese systems write, read in any case, with or
without diacritics, NFC or NFD."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mapping_samples import MINIMAL, minimal_record
from pydantic import ValidationError

from connectors.spec.rest import IncrementalSpec
from mappings import CompiledMapping, MappingError, load_mapping
from mappings.dates import DateParser, format_datetime, parse_format, window_format
from mappings.errors import ConversionError

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DEC_5 = datetime(2026, 12, 5, tzinfo=HCM)
EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
      "November", "December"]  # fmt: skip
# The words after `Tháng`: .NET's vi-VN culture says Giêng for January; Tư and Bốn are both April.
VI_WORDS = {1: ["Một", "Giêng"], 2: ["Hai"], 3: ["Ba"], 4: ["Tư", "Bốn"], 5: ["Năm"], 6: ["Sáu"], 7: ["Bảy"],
            8: ["Tám"], 9: ["Chín"], 10: ["Mười"], 11: ["Mười Một"], 12: ["Mười Hai"]}  # fmt: skip


def bare(text: str) -> str:
    """Without diacritics, as a keyboard without Vietnamese input writes it."""
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return text.replace("đ", "d").replace("Đ", "D")


def read(fmt: str, text: str) -> datetime:
    return DateParser([fmt], HCM).datetime(text)


# -- two-digit years ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("yy", "year"),
    [("00", 2000), ("26", 2026), ("49", 2049), ("50", 1950), ("75", 1975), ("99", 1999)],
)
def test_a_two_digit_year_takes_oracles_rr_century_as_read_this_century(yy: str, year: int) -> None:
    """Fixed, not relative to today: the same text reads the same in any year, so its content hash holds."""
    assert read("dd/MM/yy", f"05/12/{yy}") == DEC_5.replace(year=year)


@pytest.mark.parametrize("text", ["05/12/2026", "05/12/6", "05/12/026"])
def test_yy_takes_exactly_two_digits(text: str) -> None:
    with pytest.raises(ConversionError, match="unrecognized date"):
        read("dd/MM/yy", text)


def test_a_birth_month_in_two_digits_keeps_its_precision() -> None:
    assert DateParser(["MM/yy"], HCM).date("03/85") == (date(1985, 3, 1), "month")


# -- month names -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("dd-MMM-yy", "05-DEC-26"),  # Oracle's default NLS_DATE_FORMAT, DD-MON-RR
        ("dd-MMM-yy", "05-dec-26"),
        ("dd-MMM-yyyy", "05-Dec-2026"),
        ("MMM d, yyyy", "Dec 5, 2026"),  # .NET en-US, JavaScript's toDateString order
        ("d MMMM yyyy", "5 December 2026"),
        ("d MMMM yyyy", "5 DECEMBER 2026"),
        ("dd-MMMM-yyyy", "05-DECEMBER -2026"),  # Oracle pads MONTH to its longest name
        ("dd MMM yyyy", "05 December 2026"),  # either token reads either name, as Oracle's MON and MONTH do
        ("dd MMM yyyy", "05 Thg12 2026"),  # .NET vi-VN (Windows)
        ("dd MMM yyyy", "05 thg 12 2026"),  # CLDR, .NET on ICU
        ("dd MMM yyyy", "05 Th12 2026"),
        ("dd MMM yyyy", "05 Th.12 2026"),
        ("dd MMMM yyyy", "05 Tháng Mười Hai 2026"),  # .NET vi-VN's full name
        ("dd MMMM yyyy", "05 tháng mười hai 2026"),
        ("dd MMMM yyyy", "05 THÁNG MƯỜI HAI 2026"),
        ("dd MMMM yyyy", "05 thang muoi hai 2026"),  # no diacritics
        ("dd MMMM yyyy", unicodedata.normalize("NFD", "05 Tháng Mười Hai 2026")),
        ("dd MMMM yyyy", "05 tháng 12 2026"),  # CLDR's wide name
        ("'ngày' dd MMMM 'năm' yyyy", "ngày 05 tháng 12 năm 2026"),
        ("dd/MMM/yy HH:mm", "05/DEC/26 00:00"),
    ],
)
def test_a_month_name_in_any_case_and_script(fmt: str, text: str) -> None:
    assert read(fmt, text) == DEC_5


@pytest.mark.parametrize(
    ("text", "month"),
    [("05 tháng năm năm 2026", 5), ("05 tháng mười một năm 2026", 11), ("05 tháng mười năm 2026", 10),
     ("05 Tháng Giêng năm 2026", 1), ("05 tháng tư năm 2026", 4), ("05 tháng bốn năm 2026", 4),
     ("05 tháng 01 năm 2026", 1)],
)  # fmt: skip
def test_a_month_word_is_told_from_the_words_around_it(text: str, month: int) -> None:
    """`năm` is May and also the word for year: the name is the longest that lets the pattern match."""
    assert read("dd MMMM 'năm' yyyy", text) == DEC_5.replace(month=month)


@pytest.mark.parametrize(
    ("fmt", "text", "reason"),
    [
        ("dd-MMM-yy", "31-FEB-26", "impossible date '31-FEB-26'"),
        ("dd-MMM-yy", "29-FEB-25", "impossible date '29-FEB-25'"),
        ("dd MMM yyyy", "05 Th13 2026", "impossible date '05 Th13 2026'"),  # a month's shape, no month
        ("dd MMMM yyyy", "05 Tháng 0 2026", "impossible date '05 Tháng 0 2026'"),
        ("dd-MMM-yy", "05-FOO-26", "unrecognized date '05-FOO-26' (expected dd-MMM-yy)"),
        ("dd-MMM-yy", "05-DE-26", "unrecognized date '05-DE-26' (expected dd-MMM-yy)"),
        # the lunar calendar's last month: no system writes it for a Gregorian one
        (
            "dd MMMM yyyy",
            "05 Tháng Chạp 2026",
            "unrecognized date '05 Tháng Chạp 2026' (expected dd MMMM yyyy)",
        ),
        ("dd-MMM-yy", "05-12-26", "unrecognized date '05-12-26' (expected dd-MMM-yy)"),
    ],
)
def test_an_impossible_day_and_an_unknown_month_are_conversion_errors(
    fmt: str, text: str, reason: str
) -> None:
    with pytest.raises(ConversionError) as info:
        read(fmt, text)
    assert info.value.reason == reason


def test_a_leap_day_in_a_two_digit_year() -> None:
    assert read("dd-MMM-yy", "29-FEB-24") == datetime(2024, 2, 29, tzinfo=HCM)


# -- patterns ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("dd/MM/yyy", "yyy is no token \\(a year is yyyy or yy\\)"),
        ("dd-MMMMM-yyyy", "MMMMM is no token \\(a month is M, MM, MMM or MMMM\\)"),
        ("ddd-MM-yyyy", "ddd is no token"),
        ("dd/MM/yy yyyy", "yyyy appears twice"),
        ("dd-MMM-MM-yyyy", "MM appears twice"),
        ("dd-MMM", "no yyyy or yy"),
    ],
)
def test_a_pattern_with_a_run_that_is_no_token_is_refused(name: str, why: str) -> None:
    with pytest.raises(ValueError, match=f"unknown date format '{name}': {why}"):
        parse_format(name)


def test_a_mapping_with_such_a_pattern_is_refused_at_its_line(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(MINIMAL.format(name="t") + "  due_at: {path: due, formats: [dd-MMM-yy, dd-MMM-yyy]}\n")
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:11: fields.due_at.formats[1]: unknown date format 'dd-MMM-yyy': yyy is no token "
        "(a year is yyyy or yy)"
    ]


def test_a_source_window_in_such_a_pattern_is_refused() -> None:
    assert IncrementalSpec(format="dd-MMM-yy HH:mm:ss").format == "dd-MMM-yy HH:mm:ss"
    with pytest.raises(ValidationError, match="yyy is no token"):
        IncrementalSpec(format="dd-MMM-yyy")


# -- writing -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "written"),
    [
        ("dd-MMM-yy", "05-DEC-26"),  # Oracle's DD-MON-RR, upper case as it writes it
        ("dd-MMM-yy HH:mm:ss", "05-DEC-26 14:30:00"),
        ("d MMMM yyyy", "5 DECEMBER 2026"),
        ("dd/MM/yy", "05/12/26"),
    ],
)
def test_a_window_is_written_as_oracle_writes_it(pattern: str, written: str) -> None:
    assert window_format(pattern).name == pattern
    assert format_datetime(DEC_5.replace(hour=14, minute=30), pattern, HCM) == written


@pytest.mark.parametrize("year", [1949, 2050])
def test_a_year_yy_would_read_back_wrong_is_not_written(year: int) -> None:
    with pytest.raises(ValueError, match=f"the year {year} cannot be written as yy"):
        format_datetime(DEC_5.replace(year=year), "dd-MMM-yy", HCM)


# -- properties --------------------------------------------------------------------------------------------------
RR_SECONDS = st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2049, 12, 31, 23, 59, 59)).map(
    lambda t: t.replace(microsecond=0, tzinfo=HCM)
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(moment=RR_SECONDS)
def test_a_window_written_with_yy_and_a_month_name_reads_back_as_the_same_time(moment: datetime) -> None:
    for fmt in ("dd-MMM-yy HH:mm:ss", "dd/MM/yy HH:mm:ss", "d MMMM yy H:mm:ss", "MMM d, yyyy h:mm:ss tt"):
        written = format_datetime(moment, fmt, HCM)
        assert DateParser([fmt], HCM).datetime(written) == moment, (fmt, written)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(day=st.dates(min_value=date(1950, 1, 1), max_value=date(2049, 12, 31)))
def test_oracles_default_dd_mon_rr_reads_as_the_day_it_names(day: date) -> None:
    """What Oracle writes for a DATE under NLS_DATE_FORMAT=DD-MON-RR, NLS_DATE_LANGUAGE=AMERICAN."""
    oracle = f"{day.day:02d}-{EN[day.month - 1][:3].upper()}-{day.year % 100:02d}"
    assert DateParser(["dd-MMM-yy"], HCM).date(oracle) == (day, "day")
    assert format_datetime(datetime(day.year, day.month, day.day), "dd-MMM-yy", HCM) == oracle


def month_names(month: int) -> list[str]:
    """Every way a system writes the month: English, .NET vi-VN, CLDR, date pickers, words."""
    english = EN[month - 1]
    names = [english, english[:3], f"Thg{month}", f"thg {month}", f"Th{month:02d}", f"Th.{month}",
             f"Tháng {month}", *(f"Tháng {word}" for word in VI_WORDS[month])]  # fmt: skip
    return names + (["Sept"] if month == 9 else [])


CASES: list[Callable[[str], str]] = [str, str.upper, str.lower, str.title]


@settings(max_examples=500, derandomize=True, deadline=None)
@given(
    month=st.integers(1, 12),
    pick=st.integers(0, 20),
    case=st.sampled_from(CASES),
    strip=st.booleans(),
    form=st.sampled_from(["NFC", "NFD"]),
    fmt=st.sampled_from(["dd MMM yyyy", "dd MMMM yyyy", "'ngày' dd MMMM 'năm' yyyy"]),
)
def test_every_name_of_a_month_reads_as_that_month(
    month: int, pick: int, case: Callable[[str], str], strip: bool, form: str, fmt: str
) -> None:
    names = month_names(month)
    name = case(names[pick % len(names)])
    name = unicodedata.normalize(form, bare(name) if strip else name)
    text = f"ngày 05 {name} năm 2026" if fmt.startswith("'") else f"05 {name} 2026"
    assert read(fmt, text) == DEC_5.replace(month=month), text


# -- through a compiled mapping ----------------------------------------------------------------------------------
def test_a_mapping_reads_oracles_dates(compile_yaml: Callable[..., CompiledMapping]) -> None:
    """The generated code's ISO fast path hands what fromisoformat refuses to the field's parser."""
    m = compile_yaml(
        """
        due_at: {path: due, formats: ["dd-MMM-yy HH:mm:ss", dd-MMM-yy]}
        applicant.birth_date: {path: born, formats: [dd-MMM-yy, MMMM yyyy, yyyy]}
        """,
        top='date_formats: [iso, "dd-MMM-yy HH:mm:ss"]\n',
    )
    record = minimal_record(received="05-DEC-26 08:15:00", due="17-DEC-26", born="Tháng Ba 1985")
    d = m.normalize(record, "s").dossier
    assert d is not None
    assert d.received_at == datetime(2026, 12, 5, 8, 15, tzinfo=HCM)
    assert d.received_at.utcoffset() == timedelta(hours=7)
    assert d.due_at == datetime(2026, 12, 17, tzinfo=HCM)
    assert (d.applicant.birth_date, d.applicant.birth_date_precision) == (date(1985, 3, 1), "month")
    d = m.normalize(minimal_record(born="02-MAR-85"), "s").dossier
    assert d is not None and (d.applicant.birth_date, d.applicant.birth_date_precision) == (
        date(1985, 3, 2),
        "day",
    )


def test_a_mapping_names_an_impossible_or_unknown_month(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml("due_at: {path: due, formats: [dd-MMM-yy]}\n")
    [error] = m.normalize(minimal_record(due="31-FEB-26"), "s").errors
    assert (error.field, error.source_path, error.reason) == ("due_at", "due", "impossible date '31-FEB-26'")
    [error] = m.normalize(minimal_record(due="05-FOO-26"), "s").errors
    assert error.reason == "unrecognized date '05-FOO-26' (expected dd-MMM-yy)"
