"""Code tables: vendor values to canonical codes, compared as text, optionally by the record's date."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from mapping_samples import MINIMAL, minimal_record

from mappings import CompiledMapping, compile_mapping, load_mapping
from schemas import Channel, IdType

# The vendor swapped its channel numbers on 2024-01-01 (DOMAIN.md §4.3: one system's 1/2 is another's 2/1).
DATED = """
code_tables:
  channel:
    target: channel
    periods:
      - until: 2024-01-01
        values: {1: 2, 2: 1}
      - values: {0: 1, 1: 2, 2: 3}
"""


@pytest.fixture
def dated(write_yaml: Callable[..., Path]) -> CompiledMapping:
    text = MINIMAL.format(name="t").replace("channel: {const: 1}", "channel: {path: kenh, code: channel}")
    return compile_mapping(load_mapping(write_yaml(text + "  submitted_at: submitted\n" + DATED)))


def channel_of(m: CompiledMapping, **record: object) -> Channel:
    outcome = m.normalize(minimal_record(**record), "s")
    assert outcome.dossier is not None, outcome.errors
    return outcome.dossier.channel


def test_the_table_in_force_on_the_receipt_date_is_used(dated: CompiledMapping) -> None:
    assert channel_of(dated, kenh=1, received="2023-12-31T23:59:00+07:00") is Channel.ONLINE  # old numbering
    assert channel_of(dated, kenh=1, received="2024-01-01T00:00:00+07:00") is Channel.ONLINE  # new numbering
    assert channel_of(dated, kenh=2, received="2023-06-01T08:00:00+07:00") is Channel.IN_PERSON
    assert channel_of(dated, kenh=2, received="2024-06-01T08:00:00+07:00") is Channel.POSTAL


def test_the_day_is_a_vietnamese_day(dated: CompiledMapping) -> None:
    # 2023-12-31T17:30Z is 2024-01-01 00:30 in Hà Nội: the new table
    assert channel_of(dated, kenh=2, received="2023-12-31T17:30:00Z") is Channel.POSTAL


def test_without_a_receipt_the_submission_date_decides(dated: CompiledMapping) -> None:
    record = {"kenh": 2, "received": None, "submitted": "2023-05-01T10:00:00+07:00"}
    assert channel_of(dated, **record) is Channel.IN_PERSON


def test_a_value_unknown_in_that_period_is_an_error(dated: CompiledMapping) -> None:
    outcome = dated.normalize(minimal_record(kenh=0, received="2023-05-01T10:00:00+07:00"), "s")
    assert [(e.field, e.source_path, e.reason) for e in outcome.errors] == [
        ("channel", "kenh", "unknown value '0' (not in code table channel for 2023-05-01)")
    ]


def test_values_are_compared_as_text(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml(
        "applicant.id_type: {path: loai, code: id_type}\n",
        top="""
        code_tables:
          id_type: {target: id_type, values: {CCCD: 1, CMND: 2, 01: 1, 9: 2}}
        """,
    )
    for raw, expected in (
        ("CCCD", IdType.CCCD),
        ("01", IdType.CCCD),
        (9, IdType.CMND),
        ("9", IdType.CMND),
        (9.0, IdType.CMND),
    ):
        outcome = m.normalize(minimal_record(loai=raw, name="Trần B"), "s")
        assert outcome.dossier is not None, (raw, outcome.errors)
        assert outcome.dossier.applicant.id_type is expected, raw
    [error] = m.normalize(minimal_record(loai="1"), "s").errors  # `01` in the file is the text "01"
    assert error.reason == "unknown value '1' (not in code table id_type)"


TEXT_TABLE = """
code_tables:
  channel:
    target: channel
    match: {match}
    values: {{"Trực tiếp": 1, "Trực tuyến": 2, "Bưu chính": 3}}
"""


def with_text_table(write_yaml: Callable[..., Path], match: str) -> CompiledMapping:
    text = MINIMAL.format(name=match).replace("channel: {const: 1}", "channel: {path: kenh, code: channel}")
    return compile_mapping(load_mapping(write_yaml(text + TEXT_TABLE.format(match=match), match)))


@pytest.mark.parametrize(
    "typed", ["TRỰC TUYẾN", "trực  tuyến", unicodedata.normalize("NFD", "Trực tuyến"), "Trực tuyến"]
)
def test_a_table_matched_as_text_finds_values_typed_in_another_case_or_spacing(
    write_yaml: Callable[..., Path], typed: str
) -> None:
    text = with_text_table(write_yaml, "text")
    assert channel_of(text, kenh=typed) is Channel.ONLINE
    [unknown] = text.normalize(minimal_record(kenh="Trực  tuyến nhanh"), "s").errors
    assert unknown.reason.startswith("unknown value 'Trực  tuyến nhanh'")
    exact = with_text_table(write_yaml, "exact")
    if typed in ("TRỰC TUYẾN", "trực  tuyến"):  # the default compares as written (NFC aside)
        assert exact.normalize(minimal_record(kenh=typed), "s").errors


@pytest.mark.parametrize(
    ("table", "said"),
    [
        (
            'match: maybe\n    values: {"A": 1}',
            "code_tables.channel.match: 'maybe': exact (the default) or text",
        ),
        (
            'match: text\n    values: {"Trực tiếp": 1, "TRỰC TIẾP": 2}',
            "'Trực tiếp' and 'TRỰC TIẾP' are one text, two codes",
        ),
    ],
)
def test_a_text_table_s_keys_are_checked(write_yaml: Callable[..., Path], table: str, said: str) -> None:
    text = MINIMAL.format(name="t") + f"code_tables:\n  channel:\n    target: channel\n    {table}\n"
    with pytest.raises(Exception, match=re.escape(said)):
        load_mapping(write_yaml(text))
