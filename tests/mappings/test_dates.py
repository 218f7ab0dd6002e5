"""Dates: every named format, zones, partial dates with their precision, null values, impossible dates."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mapping_samples import minimal_record

from mappings import CompiledMapping
from mappings.dates import DateParser, format_datetime, parse_format
from mappings.errors import ConversionError

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
AT_0815 = datetime(2025, 3, 12, 8, 15, tzinfo=HCM)


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("iso", "2025-03-12T08:15:00+07:00", AT_0815),
        ("iso", "2025-03-12T08:15:00+0700", AT_0815),
        ("iso", "2025-03-12T01:15:00Z", AT_0815),  # another offset is converted to the mapping's zone
        ("iso", "2025-03-12T08:15:00", AT_0815),  # no zone: the mapping's zone
        ("iso", "2025-03-12T08:15:00.250+07:00", AT_0815.replace(microsecond=250000)),
        ("iso", "2025-03-12 08:15:00", AT_0815),
        ("iso", "2025-03-12", AT_0815.replace(hour=0, minute=0)),
        ("yyyyMMddHHmmss", "20250312081500", AT_0815),
        ("dd/MM/yyyy", "12/03/2025", AT_0815.replace(hour=0, minute=0)),
        ("dd/MM/yyyy HH:mm", "12/03/2025 08:15", AT_0815),
        ("yyyy-MM-dd HH:mm:ss", "2025-03-12 08:15:00", AT_0815),
        ("d/M/yyyy", "12/3/2025", AT_0815.replace(hour=0, minute=0)),
        ("epoch_s", 1741742100, AT_0815),
        ("epoch_ms", "1741742100000", AT_0815),
        ("excel", 45728.34375, AT_0815),  # a date cell's serial, as a flow that did not format it sends it
        ("excel", "45728.34375", AT_0815),
        ("excel", 45728.3437500001, AT_0815),  # a float a little off: read to the millisecond
    ],
)
def test_datetime_formats(fmt: str, text: str | int, expected: datetime) -> None:
    parsed = DateParser([fmt], HCM).datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(hours=7)


def test_formats_are_tried_in_order() -> None:
    parse = DateParser(["iso", "dd/MM/yyyy HH:mm", "yyyyMMddHHmmss"], HCM).datetime
    assert (
        parse("12/03/2025 08:15") == parse("20250312081500") == parse("2025-03-12T08:15:00+07:00") == AT_0815
    )


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("iso", "1985-03-02", (date(1985, 3, 2), "day")),
        ("iso", "1985-03-01T17:00:00Z", (date(1985, 3, 2), "day")),  # the day in Vietnam
        ("dd/MM/yyyy", "02/03/1985", (date(1985, 3, 2), "day")),
        ("MM/yyyy", "03/1985", (date(1985, 3, 1), "month")),
        ("yyyy", "1985", (date(1985, 1, 1), "year")),
    ],
)
def test_date_formats_and_precision(fmt: str, text: str, expected: tuple[date, str]) -> None:
    assert DateParser([fmt], HCM).date(text) == expected


@pytest.mark.parametrize(
    ("formats", "text", "reason"),
    [
        (["iso"], "2025-02-30T08:00:00+07:00", "impossible date '2025-02-30T08:00:00+07:00'"),
        (["iso"], "2025-03-12T25:00:00+07:00", "impossible date '2025-03-12T25:00:00+07:00'"),
        (["dd/MM/yyyy"], "30/02/2025", "impossible date '30/02/2025'"),
        (["yyyyMMddHHmmss"], "20250230081500", "impossible date '20250230081500'"),
        (["iso", "dd/MM/yyyy"], "12.03.2025", "unrecognized date '12.03.2025' (expected iso or dd/MM/yyyy)"),
        (["iso"], "soon", "unrecognized date 'soon' (expected iso)"),
    ],
)
def test_bad_dates_are_conversion_errors(formats: list[str], text: str, reason: str) -> None:
    with pytest.raises(ConversionError) as info:
        DateParser(formats, HCM).datetime(text)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("dd/MM/yyy", "unknown date format 'dd/MM/yyy'"),
        ("dd/MM", "no yyyy"),
        ("dd/MMMMM/yyyy", "MMMMM is no token"),
        ("yyyy-dd", "a pattern with d needs M"),
        ("yyyy-MM-dd mm", "a pattern with m needs H"),
        ("%Y-%m-%d", "unknown date format '%Y-%m-%d'"),
    ],
)
def test_unknown_format_names(name: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_format(name)


def test_partial_formats_are_for_date_fields() -> None:
    assert parse_format("MM/yyyy").partial and parse_format("yyyy").partial
    assert not parse_format("dd/MM/yyyy").partial


def test_in_a_mapping_null_values_are_no_value(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml(
        """
        finished_at: done
        """,
        top="""
        null_values: ["", "0000-00-00 00:00:00", "N/A"]
        date_formats: [iso, "yyyy-MM-dd HH:mm:ss"]
        """,
    )
    for raw in ("0000-00-00 00:00:00", "", "  ", "N/A", None):
        outcome = m.normalize(minimal_record(done=raw), "s")
        assert outcome.dossier is not None and outcome.dossier.finished_at is None, raw
    d = m.normalize(minimal_record(done="2025-03-13 16:30:00"), "s").dossier
    assert d is not None and d.finished_at == datetime(2025, 3, 13, 16, 30, tzinfo=HCM)


def test_in_a_mapping_a_birth_month_sets_the_precision(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml(
        """
        applicant.birth_date: {path: born, formats: [dd/MM/yyyy, MM/yyyy, yyyy]}
        """
    )
    cases = {
        "02/03/1985": (date(1985, 3, 2), "day"),
        "03/1985": (date(1985, 3, 1), "month"),
        "1985": (date(1985, 1, 1), "year"),
    }
    for raw, expected in cases.items():
        d = m.normalize(minimal_record(born=raw), "s").dossier
        assert d is not None
        assert (d.applicant.birth_date, d.applicant.birth_date_precision) == expected


def test_in_a_mapping_a_field_can_override_the_formats(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml(
        """
        due_at: {path: due, formats: ["dd/MM/yyyy HH:mm"]}
        """
    )
    d = m.normalize(minimal_record(due="17/03/2025 17:00"), "s").dossier
    assert d is not None and d.due_at == datetime(2025, 3, 17, 17, 0, tzinfo=HCM)
    [error] = m.normalize(minimal_record(due="2025-03-17T17:00:00+07:00"), "s").errors
    assert (error.field, error.source_path) == ("due_at", "due")
    assert error.reason == "unrecognized date '2025-03-17T17:00:00+07:00' (expected dd/MM/yyyy HH:mm)"


def test_a_time_in_another_zone_is_the_same_instant() -> None:
    parsed = DateParser(["iso"], HCM).datetime("2025-03-12T10:15:00+09:00")
    assert parsed == datetime(2025, 3, 12, 1, 15, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(hours=7)


def test_a_system_that_writes_utc_without_a_zone_is_read_in_utc_and_every_time_comes_out_in_vietnam(
    compile_yaml: Callable[..., CompiledMapping],
) -> None:
    """Odoo keeps naive UTC: `timezone: UTC` reads it so; the canonical time is still Asia/Ho_Chi_Minh."""
    utc = DateParser(["yyyy-MM-dd HH:mm:ss", "iso", "epoch_s"], ZoneInfo("UTC"))
    for value in ("2025-03-01 17:30:00", "2025-03-01T17:30:00Z", "2025-03-02T00:30:00+07:00", 1740850200):
        parsed = utc.datetime(value)
        assert (parsed.isoformat(), parsed.utcoffset()) == ("2025-03-02T00:30:00+07:00", timedelta(hours=7))
    assert utc.date("2025-03-01T17:30:00Z") == (date(2025, 3, 2), "day")  # the Vietnamese day
    generated = compile_yaml(top="timezone: UTC\ndate_formats: ['yyyy-MM-dd HH:mm:ss', iso]\n")
    d = generated.normalize(
        minimal_record(received="2025-03-01 17:30:00", updated="2025-03-01T17:30:00"), "s"
    )
    assert d.dossier is not None and d.dossier.received_at.isoformat() == "2025-03-02T00:30:00+07:00"
    assert d.dossier.source_updated_at.isoformat() == "2025-03-02T00:30:00+07:00"


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("M/d/yyyy h:mm:ss tt", "12/5/2026 2:30:00 PM", datetime(2026, 12, 5, 14, 30, tzinfo=HCM)),
        ("M/d/yyyy h:mm:ss tt", "12/5/2026 12:05:00 AM", datetime(2026, 12, 5, 0, 5, tzinfo=HCM)),  # midnight
        ("M/d/yyyy h:mm:ss tt", "12/5/2026 12:05:00 pm", datetime(2026, 12, 5, 12, 5, tzinfo=HCM)),  # noon
        ("dd/MM/yyyy hh:mm tt", "05/12/2026 02:30 CH", datetime(2026, 12, 5, 14, 30, tzinfo=HCM)),  # chiều
        ("dd/MM/yyyy hh:mm tt", "05/12/2026 09:30 SA", datetime(2026, 12, 5, 9, 30, tzinfo=HCM)),  # sáng
        ("'ngày' dd 'tháng' MM 'năm' yyyy", "ngày 05 tháng 12 năm 2026", datetime(2026, 12, 5, tzinfo=HCM)),
        ("'ngày' dd 'tháng' MM 'năm' yyyy", "Ngày 05 Tháng 12 Năm 2026", datetime(2026, 12, 5, tzinfo=HCM)),
        ("'ngày' dd 'tháng' MM 'năm' yyyy", unicodedata.normalize("NFD", "ngày 05 tháng 12 năm 2026"),
         datetime(2026, 12, 5, tzinfo=HCM)),
        ("HH'h'mm dd/MM/yyyy", "14h30 05/12/2026", datetime(2026, 12, 5, 14, 30, tzinfo=HCM)),
        ("yyyy-MM-dd'T'HH:mm:ss''", "2026-12-05T14:30:00'", datetime(2026, 12, 5, 14, 30, tzinfo=HCM)),
    ],
)  # fmt: skip
def test_a_twelve_hour_clock_and_words_in_quotes(fmt: str, text: str, expected: datetime) -> None:
    """.NET's en-US culture on a Vietnamese server writes `12/5/2026 2:30:00 PM`, its vi-VN one `SA`/`CH`; a
    report writes its date in words. Each is a pattern of the same language."""
    assert DateParser([fmt], HCM).datetime(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [("12/5/2026 13:30:00 PM", "impossible"), ("12/5/2026 0:30:00 AM", "impossible"),
     ("12/5/2026 2:30:00", "unrecognized"), ("12/5/2026 2:30:00 XM", "unrecognized")],
)  # fmt: skip
def test_a_twelve_hour_clock_past_twelve_or_without_its_designator_is_refused(text: str, reason: str) -> None:
    with pytest.raises(ConversionError, match=reason):
        DateParser(["M/d/yyyy h:mm:ss tt"], HCM).datetime(text)


@pytest.mark.parametrize(
    ("name", "why"),
    [("M/d/yyyy h:mm", "with h needs t"), ("M/d/yyyy HH tt", "with t needs h"),
     ("M/d/yyyy H h tt", "24-hour clock"), ("yyyy 'open", "unknown date format")],
)  # fmt: skip
def test_a_twelve_hour_pattern_needs_its_designator_and_a_quote_its_end(name: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_format(name)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(moment=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(microsecond=0, tzinfo=HCM)))  # fmt: skip
def test_a_window_written_in_a_twelve_hour_pattern_reads_back_as_the_same_time(moment: datetime) -> None:
    for fmt in (
        "M/d/yyyy h:mm:ss tt",
        "'ngày' dd 'tháng' MM 'năm' yyyy hh:mm:ss tt",
        "MMMM d, yyyy h:mm:ss tt",
    ):
        written = format_datetime(moment, fmt, HCM)
        assert DateParser([fmt], HCM).datetime(written) == moment


@pytest.mark.parametrize(
    ("serial", "expected"),
    [(1, date(1900, 1, 1)), (59, date(1900, 2, 28)), (61, date(1900, 3, 1)), (45474, date(2024, 7, 1)),
     ("45474", date(2024, 7, 1)), (2958465, date(9999, 12, 31))],
)  # fmt: skip
def test_an_excel_serial_counts_days_as_excel_does(serial: int | str, expected: date) -> None:
    assert DateParser(["excel"], HCM).date(serial) == (expected, "day")


@pytest.mark.parametrize("serial", [0, 60, 60.5, -1, 2958466, 1e300])
def test_an_excel_serial_outside_its_calendar_is_impossible(serial: float) -> None:
    """Day 60 is the 1900-02-29 Excel counts and the calendar never had; 0 is its "1900-01-00"."""
    with pytest.raises(ConversionError, match="impossible date"):
        DateParser(["excel"], HCM).datetime(serial)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (True, "expected a date, got bool"),
        ("45474 ngày", "unrecognized date"),
        ([45474], "expected a date, got list"),
    ],
)
def test_what_is_no_serial_is_refused(value: object, reason: str) -> None:
    with pytest.raises(ConversionError, match=reason):
        DateParser(["excel"], HCM).datetime(value)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(moment=st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 30)).map(
    lambda d: d.replace(microsecond=0, tzinfo=HCM)))  # fmt: skip
def test_a_window_written_as_an_excel_serial_reads_back_as_the_same_second(moment: datetime) -> None:
    written = format_datetime(moment, "excel", HCM)
    assert DateParser(["excel"], HCM).datetime(written) == moment
