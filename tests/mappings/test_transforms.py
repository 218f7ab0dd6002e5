"""Transforms: named value fixes applied before code/type, from a registry that is easy to extend."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator

import pytest
from mapping_samples import minimal_record

from mappings import TRANSFORMS, CompiledMapping, TextFixed, register_transform
from mappings.errors import ConversionError
from mappings.transforms import build_transform
from schemas import TextFix


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        ("national_procedure_code", "1.000656.000.00.00.H56", "1.000656"),
        ("national_procedure_code", "1.000656", "1.000656"),
        ("digits", "030 085 001-234", "030085001234"),
        ("digits", 30085, "30085"),
        ("digits", "n/a", None),  # nothing left: missing
        ("upper", "cccd", "CCCD"),
        ("lower", "DANG_XL", "dang_xl"),
        ("strip", "  x ", "x"),
        ("collapse_spaces", "Phường  Trần\n Hưng   Đạo", "Phường Trần Hưng Đạo"),
        ("strip_prefix:DVC-", "DVC-000.00.14.H23-250312-0118", "000.00.14.H23-250312-0118"),
        ("strip_suffix:.pdf", "to-khai.pdf", "to-khai"),
        ("after_last:/", "projects/p/databases/(default)/documents/hoso/4521907", "4521907"),
        ("after_last:/", "projects/q/databases/(default)/documents/hoso/NS-12", "NS-12"),
        ("after_last:/", "projects/p/databases/(default)/documents/hoso/", None),  # no last segment: missing
    ],
)
def test_builtin_transforms(spec: str, value: object, expected: object) -> None:
    assert build_transform(spec)(value) == expected


@pytest.mark.parametrize("value", ["4521907", "/4521907"])
def test_a_name_without_its_separator_is_an_error_not_kept(value: str) -> None:
    """A value of another shape (an id where a resource name is awaited) is not taken as its own last segment."""
    with pytest.raises(ConversionError, match="no '/' in the value"):
        build_transform("after_last:/")(value)


def test_nfc_reports_its_fix() -> None:
    nfd = unicodedata.normalize("NFD", "Hộ tịch")
    assert build_transform("nfc")(nfd) == TextFixed("Hộ tịch", "nfc")
    assert build_transform("nfc")("Hộ tịch") == "Hộ tịch"


def test_a_localized_code_without_a_national_part_is_an_error() -> None:
    with pytest.raises(ConversionError, match=r"no national procedure code \(d\.dddddd\) in 'TTHC-01'"):
        build_transform("national_procedure_code")("TTHC-01")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("shout", "unknown transform 'shout'"),
        ("strip_prefix", "needs an argument"),
        ("upper:x", "takes no argument"),
    ],
)
def test_bad_transform_names(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_transform(spec)


@pytest.fixture
def rot_fixer() -> Iterator[None]:
    """A stand-in for a legacy decoder (TCVN3, VNI): repairs text and says so."""

    @register_transform("unswap")
    def unswap(value: object) -> object:
        text = str(value)
        return TextFixed(text.replace("@", "ư"), "unswap") if "@" in text else text

    yield
    del TRANSFORMS["unswap"]


def test_a_registered_fixer_is_recorded_like_nfc(
    rot_fixer: None, compile_yaml: Callable[..., CompiledMapping]
) -> None:
    m = compile_yaml("note: {path: ghiChu, transform: unswap}\n")
    d = m.normalize(minimal_record(ghiChu="Tr@ờng hợp đặc biệt"), "s").dossier
    assert d is not None
    assert d.note == "Trường hợp đặc biệt"
    assert d.text_fixes == [TextFix(field="note", fix="unswap")]


def test_transforms_chain_and_feed_the_code_table(compile_yaml: Callable[..., CompiledMapping]) -> None:
    m = compile_yaml(
        "applicant.id_type: {path: loai, transform: [strip_prefix:type-, upper], code: id_type}\n",
        top="code_tables:\n  id_type: {target: id_type, values: {CCCD: 1, CMND: 2}}\n",
    )
    d = m.normalize(minimal_record(loai="type-cmnd"), "s").dossier
    assert d is not None and int(d.applicant.id_type) == 2  # type: ignore[arg-type]


def test_a_faulty_transform_is_reported_on_its_field(compile_yaml: Callable[..., CompiledMapping]) -> None:
    @register_transform("broken")
    def broken(value: object) -> object:
        raise KeyError("boom")

    try:
        m = compile_yaml("note: {path: ghiChu, transform: broken}\n")
        [error] = m.normalize(minimal_record(ghiChu="x"), "s").errors
        assert (error.field, error.source_path, error.reason, error.value) == (
            "note",
            "ghiChu",
            "KeyError: 'boom'",
            "x",
        )
    finally:
        del TRANSFORMS["broken"]


def test_an_optional_argument_may_be_given_or_not() -> None:
    @register_transform("pad", arg="optional")
    def pad(width: str | None) -> Callable[[object], str]:
        return lambda value: str(value).rjust(int(width or 5), "0")

    try:
        assert (build_transform("pad")(12), build_transform("pad:3")(12)) == ("00012", "012")
    finally:
        del TRANSFORMS["pad"]
