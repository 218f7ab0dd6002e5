"""schemas.jsontext reads JSON as the standard library reads it, at orjson's speed where orjson reads it right."""

from __future__ import annotations

import json
import math
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onestop.pipeline import parse_payload
from schemas import jsontext

# JSON values as a source may send them: integers of any size (ids of 20 digits and more), floats, any text.
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_any_json_value_reads_as_the_standard_library_reads_it(value):
    text = json.dumps(value, ensure_ascii=False)
    assert jsontext.loads(text) == json.loads(text)
    assert jsontext.loads(text.encode("utf-8", "surrogatepass")) == json.loads(text)


@pytest.mark.parametrize(
    "number",
    [
        18446744073709551616,  # 2**64: one past what orjson keeps an integer
        -9223372036854775809,  # one below int64
        123456789012345678901234567890,
        -(10**40) - 7,
    ],
)
def test_an_integer_beyond_64_bits_keeps_every_digit(number):
    read = jsontext.loads(f'{{"id": {number}, "name": "Nguyễn Văn A"}}')
    assert read["id"] == number
    assert isinstance(read["id"], int)


def test_a_staged_record_with_a_20_digit_id_is_read_back_with_its_id_whole():
    # what a re-drive and `mapping try` read: an id that became a float would name another record
    record = parse_payload('{"MaHoSo": 12345678901234567890123, "TenThuTuc": "Đăng ký"}', "application/json")
    assert record["MaHoSo"] == 12345678901234567890123


@pytest.mark.parametrize("text", ["[" * 100_000, '{"a":' * 50_000, "[" * 100_000 + "12345678901234567890"])
def test_nesting_past_the_depth_is_refused_without_recursing(text):
    # With Python's own recursion limit lowered to 120, a reader that recursed per level would stop with
    # RecursionError (or crash whatever runs at that depth); the refusal is a plain ValueError that says why.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(120)
    try:
        with pytest.raises(ValueError, match="nested past 1024 levels"):
            jsontext.loads(text)
    finally:
        sys.setrecursionlimit(limit)


def test_what_orjson_refuses_reads_as_the_standard_library_reads_it():
    assert math.isnan(jsontext.loads('{"x": NaN}')["x"])
    assert jsontext.loads('"a\\ud800"') == "a\ud800"
    assert jsontext.loads('[18446744073709551617, "\\ud800"]') == [18446744073709551617, "\ud800"]


@pytest.mark.parametrize("text", ["", "nope", "[1,", '{"a" 1}', "1 2"])
def test_what_is_not_json_is_a_value_error(text):
    with pytest.raises(ValueError):
        jsontext.loads(text)
