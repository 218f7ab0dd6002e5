"""Every text field is bounded; the character classes hold what their doc says; MaHoSo refuses hostile text."""

from __future__ import annotations

import sys
import unicodedata
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import Applicant, Document, Dossier, Fee, ResultDoc, StatusEvent, Supplement, TextFix
from schemas.text_safety import CODE, FREE_TEXT, SUSPECT, SUSPECT_IN_CODE, escape, problem, remove_invisible

MODELS = (Dossier, Applicant, StatusEvent, Document, Fee, Supplement, ResultDoc, TextFix)


def unbounded_strings(schema: dict[str, Any]) -> list[str]:
    """JSON-schema paths of string schemas without maxLength (enums, consts and formatted strings are bounded)."""
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if (
                node.get("type") == "string"
                and "maxLength" not in node
                and not {"enum", "const", "format"} & set(node)
            ):
                found.append(path)
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")

    walk(schema, "#")
    return found


def test_every_text_field_of_the_dossier_has_a_maximum_length() -> None:
    schema = Dossier.model_json_schema()
    assert unbounded_strings(schema) == []
    # the walk does see the nested models and the lists' items
    assert schema["$defs"]["StatusEvent"]["properties"]["content"]["anyOf"][0]["maxLength"] == 4000
    assert schema["properties"]["flags"]["items"]["maxLength"] == 100


def test_the_walk_would_catch_an_unbounded_field() -> None:
    assert unbounded_strings({"properties": {"x": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}) == [
        "#/properties/x/anyOf/0"
    ]


def test_every_text_field_is_either_free_text_or_a_code() -> None:
    """The mapping engine screens a text by its class: a text field without one would not be screened."""
    for model in MODELS:
        for name, info in model.model_fields.items():
            text = str(info.annotation)
            if "str" in text and "Literal" not in text and model is not TextFix and name != "flags":
                marks = [
                    m for m in _metadata(info.annotation) + list(info.metadata) if m in (FREE_TEXT, CODE)
                ]
                assert marks, f"{model.__name__}.{name}"


def _metadata(annotation: Any) -> list[Any]:
    out = list(getattr(annotation, "__metadata__", ()))
    for arg in getattr(annotation, "__args__", ()):
        out += _metadata(arg)
    return out


def test_the_portal_limits_are_the_contract_ones() -> None:
    props = Dossier.model_json_schema()["properties"]
    assert props["summary"]["anyOf"][0]["maxLength"] == 1000  # TrichYeuHoSo ≤ 1000 (DOMAIN.md §2)
    assert props["ma_ho_so"]["maxLength"] == 60


def test_every_suspect_character_is_non_printable() -> None:
    """mappings.compiler skips the regex when the joined texts are printable: that must never hide one."""
    hidden = [
        hex(c) for c in range(sys.maxunicode + 1) if SUSPECT_IN_CODE.match(chr(c)) and chr(c).isprintable()
    ]
    assert hidden == []


@pytest.mark.parametrize(
    ("text", "free", "code"),
    [
        ("Nguyễn Văn An", None, None),
        ("dòng 1\ndòng 2\tcột", None, "control character U+000A at position 7"),
        ("ab\x00c", "control character U+0000 at position 3", "control character U+0000 at position 3"),
        ("\x1b[31m", "control character U+001B at position 1", "control character U+001B at position 1"),
        ("x\x7f", "control character U+007F at position 2", "control character U+007F at position 2"),
        ("x\x85", "control character U+0085 at position 2", "control character U+0085 at position 2"),
        ("\ud800", "lone surrogate U+D800 at position 1", "lone surrogate U+D800 at position 1"),
        ("a\ufffe", "non-character U+FFFE at position 2", "non-character U+FFFE at position 2"),
        ("a\uffff", "non-character U+FFFF at position 2", "non-character U+FFFF at position 2"),
        ("a\u200bb", None, "invisible character U+200B at position 2"),
        ("a\u202eb", None, "bidi control character U+202E at position 2"),
        ("\ufeffa", None, "invisible character U+FEFF at position 1"),
        ("Hải\u00adDương", None, "invisible character U+00AD at position 4"),
        ("a\u00a0b", None, None),  # a no-break space is a space
    ],
)
def test_problems_name_the_character_and_its_position(text: str, free: str | None, code: str | None) -> None:
    assert problem(text) == free
    assert problem(text, code=True) == code


def test_invisible_characters_are_removed_and_forbidden_ones_escaped() -> None:
    text = "\ufeffNguyễn\u200b Văn\u202e An\u2066"
    assert remove_invisible(text) == "Nguyễn Văn An"
    assert escape("a\x00b\u200bc\ud800") == "a\\x00b\\u200bc\\ud800"
    assert escape("Nguyễn") == "Nguyễn"
    assert SUSPECT.search("Nguyễn Văn An\n") is None


def dossier(**overrides: Any) -> Dossier:
    data: dict[str, Any] = {
        "source": "hd-thanhpho",
        "source_record_id": "1",
        "ma_ho_so": "000.00.14.H23-250312-0118",
        "procedure_code": "1.000656",
        "procedure_name": "Đăng ký khai sinh",
        "channel": 2,
        "status": 4,
        "applicant": {"name": "Nguyễn Văn An"},
        "received_at": "2025-03-12T08:15:00",
        "source_updated_at": "2025-03-13T09:00:00+07:00",
    }
    data.update(overrides)
    return Dossier.model_validate(data)


@pytest.mark.parametrize(
    "code",
    [
        "HS-2025-000118",  # free-form local code
        "000.00.14.H23-2503-0118",  # a month instead of a day
        "H23.39-20250312-0000118",  # short agency code + yyyyMMdd + 7 digits
        "123/HS-UBND",
        "HS 2025 118",
        "Đ.2025_118",
        "x" * 60,
    ],
)
def test_a_clean_nonstandard_ma_ho_so_is_only_flagged(code: str) -> None:
    d = dossier(ma_ho_so=code)
    assert d.ma_ho_so == code and "ma_ho_so_nonstandard" in d.flags


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("<script>alert(1)</script>", "character '<' (U+003C) at position 1 is not allowed"),
        ("HS-2025>1", "character '>' (U+003E) at position 8"),
        ("HS'2025", 'character "\'" (U+0027)'),
        ('HS"2025', "character '\"' (U+0022)"),
        ("HS`2025", "character '`' (U+0060)"),
        ("1;DROP TABLE onestop.dossier", "character ';' (U+003B)"),
        ("HS-2025 UNION SELECT password FROM users", "SQL-looking text 'UNION'"),
        ("drop table x", "SQL-looking text 'drop'"),
        ("H23--0001", "SQL-looking text '--'"),
        ("HS/*x*/1", "character '*' (U+002A)"),
        ("HS\\2025", "character '\\\\' (U+005C)"),
        ("HS\n2025", "character '\\n' (U+000A)"),
        ("HS\u200b2025", "character '\\u200b' (U+200B)"),
        ("x" * 61, "String should have at most 60 characters"),
    ],
)
def test_a_hostile_ma_ho_so_is_refused(code: str, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        dossier(ma_ho_so=code)
    errors = info.value.errors()
    assert [e["loc"] for e in errors] == [("ma_ho_so",)]
    assert reason in errors[0]["msg"]


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"processing_days": 10**30}, ("processing_days",)),
        ({"fees": [{"name": "Lệ phí", "amount_vnd": 10**30}]}, ("fees", 0, "amount_vnd")),
        ({"fees": [{"name": "Lệ phí", "amount_vnd": 1, "method": 10**6}]}, ("fees", 0, "method")),
        ({"documents": [{"name": "a.pdf", "size": 2**63}]}, ("documents", 0, "size")),
        ({"documents": [{"name": "a.pdf", "size": -1}]}, ("documents", 0, "size")),
        ({"service_level": 10**30}, ("service_level",)),
    ],
)
def test_integers_are_bounded(overrides: dict[str, Any], loc: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError) as info:
        dossier(**overrides)
    assert [e["loc"] for e in info.value.errors()] == [loc]


def test_the_largest_allowed_integers_make_canonical_json() -> None:
    d = dossier(
        fees=[{"name": "Lệ phí", "amount_vnd": 2**53 - 1, "method": 32767}],
        documents=[{"name": "a.pdf", "size": 2**53 - 1}],
    )
    assert '"amount_vnd":9007199254740991' in d.canonical_json()


def test_a_text_at_its_bound_is_kept_whole() -> None:
    summary = "ệ" * 1000
    assert unicodedata.is_normalized("NFC", summary)
    assert dossier(summary=summary).summary == summary
    with pytest.raises(ValidationError, match="at most 1000 characters"):
        dossier(summary=summary + "x")
