"""Window bounds are written in the source's own zone and pattern, by the module that parses mapping dates: what
we send reads back as the same instant."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mappings.dates import DateParser, format_datetime

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
T = datetime(2025, 3, 1, 20, 5, 7, 123000, tzinfo=UTC)  # 03:05:07 on 2 March in Vietnam


@pytest.mark.parametrize(
    ("pattern", "written"),
    [
        ("yyyy-MM-dd HH:mm:ss", "2025-03-02 03:05:07"),
        ("dd-MM-yyyy HH:mm:ss", "02-03-2025 03:05:07"),
        ("yyyyMMddHHmmss", "20250302030507"),
        ("dd/MM/yyyy", "02/03/2025"),
        ("d/M/yyyy H:mm", "2/3/2025 3:05"),
        ("yyyy-MM-ddTHH:mm:ss.SSS", "2025-03-02T03:05:07.123"),
        ("dd-MMM-yy HH:mm:ss", "02-MAR-25 03:05:07"),  # Oracle's DD-MON-RR HH24:MI:SS
        ("d MMMM yyyy", "2 MARCH 2025"),
        ("iso", "2025-03-02T03:05:07+07:00"),
        ("epoch_s", 1740859507),
        ("epoch_ms", 1740859507123),
    ],
)
def test_a_zone_less_pattern_is_local_time_and_reads_back_as_the_same_instant(
    pattern: str, written: object
) -> None:
    assert format_datetime(T, pattern, HCM) == written
    back = DateParser([pattern], HCM).datetime(written)
    precision = {"dd/MM/yyyy": 86400, "d MMMM yyyy": 86400, "d/M/yyyy H:mm": 60}.get(pattern, 1)
    assert 0 <= (T - back).total_seconds() < precision  # truncated: never later than the instant


def test_another_zone_is_honoured() -> None:
    assert format_datetime(T, "yyyy-MM-dd HH:mm", ZoneInfo("UTC")) == "2025-03-01 20:05"


def test_a_pattern_without_a_day_cannot_bound_a_window() -> None:
    with pytest.raises(ValueError, match="names no day"):
        format_datetime(T, "MM/yyyy", HCM)
