"""Amounts (`type: decimal`): whole VND however a district writes them — Vietnamese or English grouping, the
currency word before or after, composed or decomposed, "miễn phí" — and anything else is a field error."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mapping_samples import minimal_record

from mappings import CompiledMapping
from mappings.convert import to_vnd
from mappings.errors import ConversionError


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.mark.parametrize(
    ("raw", "amount"),
    [
        (50000, 50000),
        (50000.0, 50000),
        (Decimal("50000.00"), 50000),
        ("50000", 50000),
        ("50.000", 50000),  # Vietnamese: "." groups thousands
        ("1.500.000", 1500000),
        ("50.000,00", 50000),  # ... and "," starts the decimals
        ("1,250,000", 1250000),  # English
        ("1,250,000.00", 1250000),
        ("50000.00", 50000),
        ("50000,00", 50000),
        ("50000.0000", 50000),  # SQL Server money
        ("50 000", 50000),
        ("1\u00a0500\u00a0000", 1500000),  # grouped with no-break spaces
        (" 50.000\n", 50000),
        ("1.500", 1500),  # "." or "," before three digits groups them: 1500, not 1.5
        ("1,500", 1500),
        ("0", 0),
        ("-50.000", -50000),  # the sign is the model's business (a refund, a correction)
    ],
)
def test_numbers_in_every_grouping_are_whole_vnd(raw: object, amount: int) -> None:
    assert to_vnd(raw) == amount


@pytest.mark.parametrize(
    "raw",
    [
        "75.000 đồng",
        "75.000 Đồng",
        "75.000 ĐỒNG",
        "75.000đồng",
        "75.000 đ",
        "75.000đ",
        "75.000 Đ",
        "75.000 VND",
        "75.000 VNĐ",
        "75.000 vnđ",
        "75.000VNĐ",
        "75.000 ₫",
        "75.000₫",
        "75,000 VND",
        "75 000 đ",
        "75.000,00 đồng",
        "VND 75,000",
        "VNĐ 75.000",
        "₫75.000",
        "₫ 75.000",
        "đ75.000",
        "đồng 75.000",
        nfd("75.000 đồng"),
        nfd("75.000 Đồng"),
        nfd("VNĐ 75.000"),
    ],
)
def test_the_currency_before_or_after_the_number_is_ignored(raw: str) -> None:
    assert to_vnd(raw) == 75000


@pytest.mark.parametrize(
    "raw",
    [
        "Miễn phí",
        "miễn phí",
        "MIỄN PHÍ",
        " Miễn  phí ",
        "Miễn lệ phí",
        "Không thu phí",
        "không thu phí",
        "Không thu lệ phí",
        nfd("Miễn phí"),
        nfd("Không thu phí"),
    ],
)
def test_free_of_charge_is_zero(raw: str) -> None:
    assert to_vnd(raw) == 0


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "",
        "đồng",  # a currency without a number
        "VND",
        "1.2.3.4 đồng",  # not groups of three
        "1.2.3.4",
        "1.5.000,00",
        "1.000.000.00",  # "." groups, so it cannot also start the decimals
        "1,000,000,00",
        "1,000.000,5",
        "50.00.000",
        "5 0 0",
        "50 00",
        "5đ0",  # the currency inside the number
        "đ 75.000 đ",  # twice
        "75.000 đ đ",
        "75.000 USD",
        "75 nghìn đồng",  # a word for thousands: not guessed
        "1e3",
        "1_000",
        "NaN",
        "Infinity",
        "٥٠٠٠٠",  # digits, but not ASCII ones
        "50.000,",
        "miễn",
        "Có phí",
    ],
)
def test_anything_else_is_not_an_amount(raw: str) -> None:
    with pytest.raises(ConversionError) as info:
        to_vnd(raw)
    assert info.value.reason == f"not an amount: '{raw}'"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("12.5", "not a whole number of VND: '12.5'"),
        ("1,5", "not a whole number of VND: '1,5'"),
        ("1.500,5 đồng", "not a whole number of VND: '1.500,5 đồng'"),
        (12.5, "not a whole number of VND: '12.5'"),
        (float("inf"), "not a whole number of VND: 'inf'"),
        (True, "not an amount: True"),
        ([50000], "not an amount: got a list"),
        ({"x": 1}, "not an amount: got an object"),
    ],
)
def test_fractions_and_other_types_are_errors(raw: object, reason: str) -> None:
    with pytest.raises(ConversionError) as info:
        to_vnd(raw)
    assert info.value.reason == reason


def test_the_reason_quotes_the_value_as_written() -> None:
    raw = nfd("1.2.3 đồng")
    with pytest.raises(ConversionError) as info:
        to_vnd(raw)
    assert info.value.value == raw and info.value.reason == f"not an amount: '{raw}'"


CURRENCIES = ["", "đồng", "Đồng", "VND", "VNĐ", "vnđ", "đ", "₫"]


@settings(max_examples=500, derandomize=True, deadline=None)
@given(
    amount=st.integers(min_value=0, max_value=10**15),
    grouping=st.sampled_from([("", ","), (".", ","), (",", "."), (" ", ",")]),
    decimals=st.sampled_from(["", "0", "00", "0000"]),
    currency=st.sampled_from(CURRENCIES),
    after=st.booleans(),
    space=st.sampled_from(["", " "]),
    form=st.sampled_from(["NFC", "NFD"]),
)
def test_any_amount_written_any_way_reads_back(
    amount: int,
    grouping: tuple[str, str],
    decimals: str,
    currency: str,
    after: bool,
    space: str,
    form: str,
) -> None:
    thousands, point = grouping
    number = f"{amount:,}".replace(",", thousands) + (point + decimals if decimals else "")
    written = (number + space + currency) if after else (currency + space + number)
    assert to_vnd(unicodedata.normalize(form, written)) == amount


def test_in_a_mapping_a_fee_in_words_is_converted(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml("fees: {path: fees, each: {name: ten, amount_vnd: {path: gia, type: decimal}}}\n")
    fees = [
        {"ten": "Lệ phí", "gia": "75.000 đồng"},
        {"ten": "Phí", "gia": nfd("1.500.000 Đồng")},
        {"ten": "Bản sao", "gia": "Miễn phí"},
    ]
    d = m.normalize(minimal_record(fees=fees), "s").dossier
    assert d is not None and [f.amount_vnd for f in d.fees] == [75000, 1500000, 0]
    [error] = m.normalize(minimal_record(fees=[{"ten": "Phí", "gia": "1.2.3.4 đồng"}]), "s").errors
    assert (error.field, error.source_path, error.reason) == (
        "fees[0].amount_vnd",
        "fees[0].gia",
        "not an amount: '1.2.3.4 đồng'",
    )
