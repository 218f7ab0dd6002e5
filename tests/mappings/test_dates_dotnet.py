"""The `dotnet` date format: the JSON dates of WCF, ASP.NET AJAX and OData v2, `/Date(ms)/` and `/Date(ms±hhmm)/`.
The milliseconds since 1970 (UTC) alone are the instant; the offset only says at which zone it was written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mapping_samples import minimal_record

from connectors.spec.rest import IncrementalSpec
from mappings import CompiledMapping
from mappings.dates import DateParser, format_datetime, parse_format, window_format
from mappings.errors import ConversionError

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
AT_0815 = datetime(2025, 3, 12, 8, 15, tzinfo=HCM)  # 1741742100000 ms
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def test_dotnet_is_a_named_format_of_a_whole_day() -> None:
    fmt = parse_format("dotnet")
    assert (fmt.name, fmt.kind, fmt.partial) == ("dotnet", "dotnet", False)


@pytest.mark.parametrize(
    "text",
    [
        "/Date(1741742100000)/",  # ASP.NET AJAX, WCF for a UTC DateTime, OData v2
        "/Date(1741742100000+0700)/",  # WCF for a local DateTime: the same instant, written at +07:00
        "/Date(1741742100000+0000)/",
        "/Date(1741742100000-0500)/",  # written in New York: still the same instant
        "/Date(1741742100000+0545)/",
        "\\/Date(1741742100000)\\/",  # the JSON escape, if it arrives unparsed
        "\\/Date(1741742100000+0700)\\/",
    ],
)
def test_the_milliseconds_are_the_instant_whatever_the_offset(text: str) -> None:
    parsed = DateParser(["dotnet"], HCM).datetime(text)
    assert parsed == AT_0815
    assert parsed.utcoffset() == timedelta(hours=7)  # in the mapping's zone, like every other format


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/Date(0)/", datetime(1970, 1, 1, tzinfo=UTC)),
        ("/Date(-1)/", datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
        ("/Date(-86400000-0500)/", datetime(1969, 12, 31, tzinfo=UTC)),  # before 1970
        ("/Date(-2208988800000)/", datetime(1900, 1, 1, tzinfo=UTC)),
        ("/Date(1741742100250+0700)/", AT_0815.replace(microsecond=250000)),  # milliseconds kept
        (
            "/Date(253402275599999)/",
            datetime(9999, 12, 31, 16, 59, 59, 999000, tzinfo=UTC),
        ),  # the last instant
        # that is still year 9999 on the province's clock, where every time comes out (9999-12-31 23:59:59.999+07)
    ],
)
def test_before_1970_and_to_the_millisecond(text: str, expected: datetime) -> None:
    assert DateParser(["dotnet"], ZoneInfo("UTC")).datetime(text) == expected


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("/Date(478544400000+0700)/", date(1985, 3, 2)),  # 1985-03-02 00:00 in Vietnam, from a local DateTime
        ("/Date(478569600000)/", date(1985, 3, 2)),  # 1985-03-02 00:00 UTC, from a UTC DateTime
        ("/Date(478630800000)/", date(1985, 3, 3)),  # 1985-03-02 17:00 UTC: already the 3rd in Vietnam
    ],
)
def test_a_date_field_gets_the_day_in_the_mapping_zone(text: str, day: date) -> None:
    assert DateParser(["dotnet"], HCM).date(text) == (day, "day")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("/Date(abc)/", "unrecognized date '/Date(abc)/' (expected dotnet)"),
        ("/Date()/", "unrecognized date '/Date()/' (expected dotnet)"),
        ("/Date(1.5)/", "unrecognized date '/Date(1.5)/' (expected dotnet)"),
        ("/Date(1700000000000+07)/", "unrecognized date '/Date(1700000000000+07)/' (expected dotnet)"),
        ("/Date(1700000000000+07:00)/", "unrecognized date '/Date(1700000000000+07:00)/' (expected dotnet)"),
        ("Date(1700000000000)", "unrecognized date 'Date(1700000000000)' (expected dotnet)"),
        ("/date(1700000000000)/", "unrecognized date '/date(1700000000000)/' (expected dotnet)"),
        (" /Date(1700000000000)/", "unrecognized date ' /Date(1700000000000)/' (expected dotnet)"),
        ("1700000000000", "unrecognized date '1700000000000' (expected dotnet)"),  # that is epoch_ms
        (1700000000000, "unrecognized date '1700000000000' (expected dotnet)"),
        ("/Date(0+2400)/", "impossible date '/Date(0+2400)/'"),  # no such offset
        ("/Date(0+0760)/", "impossible date '/Date(0+0760)/'"),
        ("/Date(253402300800000)/", "impossible date '/Date(253402300800000)/'"),  # after 9999
        ("/Date(253402300799999)/", "impossible date '/Date(253402300799999)/'"),  # 9999 in UTC, 10000 here
        ("/Date(-62135596800001)/", "impossible date '/Date(-62135596800001)/'"),  # before year 1
        ("/Date(" + "9" * 5000 + ")/", "impossible date '/Date(" + "9" * 73 + "…'"),
    ],
)
def test_bad_dotnet_dates_are_conversion_errors(text: object, reason: str) -> None:
    with pytest.raises(ConversionError) as info:
        DateParser(["dotnet"], HCM).datetime(text)
    assert info.value.reason == reason


def test_dotnet_is_tried_in_order_with_the_others() -> None:
    parse = DateParser(["iso", "dotnet", "dd/MM/yyyy HH:mm"], HCM).datetime
    assert parse("2025-03-12T08:15:00+07:00") == parse("/Date(1741742100000)/") == parse("12/03/2025 08:15")
    with pytest.raises(ConversionError, match=r"\(expected iso or dotnet or dd/MM/yyyy HH:mm\)"):
        parse("/Date(abc)/")


def test_in_a_mapping_dotnet_dates_need_no_transform(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml(
        """
        submitted_at: {path: NgayNop, formats: [dotnet]}
        due_at: NgayHen
        applicant.birth_date: NgaySinh
        """,
        top="""
        date_formats: [iso, dotnet]
        """,
    )
    record = minimal_record(
        NgayNop="/Date(1741742100000+0700)/",
        NgayHen="\\/Date(1742205600000)\\/",
        NgaySinh="/Date(478544400000+0700)/",
    )
    d = m.normalize(record, "s").dossier
    assert d is not None
    assert d.submitted_at == AT_0815
    assert d.due_at == datetime(2025, 3, 17, 17, 0, tzinfo=HCM)
    assert d.applicant.birth_date == date(1985, 3, 2)
    [error] = m.normalize(minimal_record(NgayNop="/Date(abc)/"), "s").errors
    assert (error.field, error.source_path) == ("submitted_at", "NgayNop")
    assert error.reason == "unrecognized date '/Date(abc)/' (expected dotnet)"


# -- request windows (incremental.format: dotnet) -------------------------------------------------------------
T = datetime(2025, 3, 1, 20, 5, 7, 123456, tzinfo=UTC)


def test_a_window_bound_is_written_as_utc_milliseconds_and_reads_back() -> None:
    assert window_format("dotnet").name == "dotnet"
    for tz in (HCM, ZoneInfo("UTC"), ZoneInfo("America/New_York")):  # the zone does not change the instant
        written = format_datetime(T, "dotnet", tz)
        assert written == "/Date(1740859507123)/"
        assert DateParser(["dotnet"], tz).datetime(written) == T.replace(microsecond=123000)


def test_a_window_bound_before_1970_is_negative_and_never_later_than_the_instant() -> None:
    before = datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC)
    assert format_datetime(before, "dotnet", HCM) == "/Date(-1)/"


def test_incremental_format_accepts_dotnet() -> None:
    assert IncrementalSpec(format="dotnet").format == "dotnet"


# -- properties ------------------------------------------------------------------------------------------------
INSTANTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))  # what milliseconds can say
OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)  # minutes


def dotnet(instant: datetime, offset_minutes: int | None) -> str:
    """How .NET writes it: the milliseconds since the epoch, then the offset of the zone it was in."""
    ms = (instant - EPOCH) // timedelta(milliseconds=1)
    if offset_minutes is None:
        return f"/Date({ms})/"
    sign = "-" if offset_minutes < 0 else "+"
    hh, mm = divmod(abs(offset_minutes), 60)
    return f"/Date({ms}{sign}{hh:02d}{mm:02d})/"


@settings(max_examples=1000, derandomize=True, deadline=None)
@given(instant=INSTANTS, offset=st.none() | OFFSETS, zone=st.sampled_from(["Asia/Ho_Chi_Minh", "UTC"]))
def test_any_instant_written_at_any_offset_reads_back_as_the_same_instant(
    instant: datetime, offset: int | None, zone: str
) -> None:
    parsed = DateParser(["dotnet"], ZoneInfo(zone)).datetime(dotnet(instant, offset))
    assert parsed == instant
    assert parsed.tzinfo is not None


@settings(max_examples=300, derandomize=True, deadline=None)
@given(instant=INSTANTS, offset=OFFSETS)
def test_the_local_day_is_the_mapping_zones_not_the_writers(instant: datetime, offset: int) -> None:
    written = dotnet(instant, offset)
    day, precision = DateParser(["dotnet"], HCM).date(written)
    assert (day, precision) == (instant.astimezone(HCM).date(), "day")


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    instant=st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
)
def test_any_window_bound_written_as_dotnet_reads_back_to_the_millisecond(instant: datetime) -> None:
    back = DateParser(["dotnet"], HCM).datetime(format_datetime(instant, "dotnet", HCM))
    assert timedelta(0) <= instant - back < timedelta(milliseconds=1)
