"""Legacy Vietnamese text: TCVN3, VNI and Windows-1258 damage becomes one NFC text, and the fix is recorded.

The damaged forms are made from the tables the way real rows were: Unicode -> legacy bytes -> read as
Windows-1252. A few known answers (rows as they are seen in migrated databases) pin the tables themselves.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from mapping_samples import MINIMAL, minimal_record

from mappings import TextFixed, compile_mapping, load_mapping
from mappings.legacy_text import (
    decode_tcvn3,
    encode_cp1258,
    encode_tcvn3,
    encode_vni,
    legacy_bytes,
    looks_vietnamese,
    read_as_cp1252,
    repair,
)
from mappings.transforms import build_transform
from onestop.simulators import igate_catalog as cat
from schemas import TextFix

NAMES = [
    "Nguyễn Thị Ánh Hồng",
    "Trần Văn Đức",
    # every tone (ngang, huyền, sắc, hỏi, ngã, nặng) on every kind of vowel, capitals with tones included
    "Ủy ban nhân dân cấp lại Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn "
    "liền với đất do bị mất, hư hỏng hoặc ố nhòe; những trường hợp Ông Đỗ Ngọc Quỳnh đã giải quyết, "
    "thuở ấy cũng sẽ dẫn đến khuyết tật, rượu, nguồn nước, Ấp Ổn Định",
]

DAMAGE: dict[str, tuple[Callable[[str], str], str]] = {
    "NFD": (lambda s: unicodedata.normalize("NFD", s), "nfc"),
    "TCVN3 read as Windows-1252": (lambda s: read_as_cp1252(encode_tcvn3(s)), "tcvn3"),
    "VNI read as Windows-1252": (lambda s: read_as_cp1252(encode_vni(s)), "vni"),
    "Windows-1258 export": (lambda s: encode_cp1258(s).decode("cp1258"), "cp1258"),
    "Windows-1258 read as Windows-1252": (lambda s: read_as_cp1252(encode_cp1258(s)), "cp1258"),
    "UTF-8 read as Windows-1252": (lambda s: read_as_cp1252(s.encode()), "utf8"),
    "UTF-8 read as latin-1": (lambda s: s.encode().decode("latin-1"), "utf8"),
    "UTF-8 read as Windows-1252 twice": (
        lambda s: read_as_cp1252(read_as_cp1252(s.encode()).encode()),
        "utf8",
    ),
    # the first word stored again by a fixed client, the rest still damaged
    "UTF-8 partly read as Windows-1252": (
        lambda s: " ".join([s.split(" ")[0], *(read_as_cp1252(w.encode()) for w in s.split(" ")[1:])]),
        "utf8",
    ),
}
MOJIBAKE = {form for form in DAMAGE if form.endswith("read as Windows-1252")}


@pytest.mark.parametrize("name", NAMES, ids=["name", "name with Đ", "procedure"])
@pytest.mark.parametrize("form", list(DAMAGE))
def test_every_damaged_form_becomes_the_same_nfc_text_and_says_which_fix(name: str, form: str) -> None:
    damage, fix = DAMAGE[form]
    damaged = damage(name)
    assert damaged != name  # the damage is real

    assert build_transform("vn_text")(damaged) == TextFixed(name, fix)
    assert unicodedata.is_normalized("NFC", name)


@pytest.mark.parametrize("name", NAMES, ids=["name", "name with Đ", "procedure"])
def test_the_declared_decoders_repair_their_own_encoding(name: str) -> None:
    for transform, form in (
        ("tcvn3", "TCVN3 read as Windows-1252"),
        ("vni", "VNI read as Windows-1252"),
        ("cp1258", "Windows-1258 export"),
        ("cp1258", "Windows-1258 read as Windows-1252"),
        ("utf8", "UTF-8 read as Windows-1252"),
        ("utf8", "UTF-8 read as latin-1"),
        ("utf8", "UTF-8 read as Windows-1252 twice"),
    ):
        damage, fix = DAMAGE[form]
        assert build_transform(transform)(damage(name)) == TextFixed(name, fix), form


@pytest.mark.parametrize(
    "correct",
    [
        *NAMES,
        "Nguyen Van An",  # ASCII
        "Số 12, phố Trần Hưng Đạo",
        # Unicode Vietnamese made only of latin-1 letters: each of these bytes means something in TCVN3/VNI
        "Hoàng Anh",
        "Lê Hà",
        "Cao Bá Quát",
        "Tô Hoài",
        "Krông Bông",
        # not Vietnamese at all
        "Café Müller",
        "José Ñandú, São Paulo",
        "25°C, © 2025, ½",
    ],
)
def test_correct_unicode_and_ascii_pass_unchanged_and_unrecorded(correct: str) -> None:
    result = build_transform("vn_text")(correct)
    assert result == correct and type(result) is str


def test_no_generated_name_is_mistaken_for_mojibake() -> None:
    vn_text = build_transform("vn_text")
    names = {f"{f} {m} {g}" for f, m, g in _all_names()}
    changed = [n for n in names if vn_text(n) != n]
    assert len(names) > 10_000 and changed == []


def test_the_utf8_transform_reads_back_any_character_not_only_vietnamese_letters() -> None:
    """Told that the field is UTF-8 so damaged, it repairs quotes, signs and other scripts too."""
    meant = "“12” – 50.000 ₫ (€4), 北京"
    assert build_transform("utf8")(read_as_cp1252(meant.encode())) == TextFixed(meant, "utf8")


@pytest.mark.parametrize(
    ("seen", "meant", "fix"),
    [
        ("NguyÔn V¨n An", "Nguyễn Văn An", "tcvn3"),
        ("TrÇn V¨n §øc", "Trần Văn Đức", "tcvn3"),
        ("B¶o Th¾ng", "Bảo Thắng", "tcvn3"),
        ("M\xadêng Kh\xad¬ng", "Mường Khương", "tcvn3"),  # ư is 0xAD: a soft hyphen to Windows-1252
        ("Nguyeãn Vaên An", "Nguyễn Văn An", "vni"),
        ("Xin chaøo caùc baïn", "Xin chào các bạn", "vni"),
        ("Ñaêng kyù khai sinh", "Đăng ký khai sinh", "vni"),
        ("Nguyá»…n VÄƒn An", "Nguyễn Văn An", "utf8"),
        ("Ä\x90Äƒng kÃ½ khai sinh", "Đăng ký khai sinh", "utf8"),
        ("PhÆ°á»\x9dng Tráº§n PhÃº, TP Háº£i DÆ°Æ¡ng", "Phường Trần Phú, TP Hải Dương", "utf8"),
    ],
)
def test_known_answers_pin_the_tables(seen: str, meant: str, fix: str) -> None:
    assert build_transform("vn_text")(seen) == TextFixed(meant, fix)
    assert build_transform(fix)(seen) == TextFixed(meant, fix)


@pytest.mark.parametrize(
    ("seen", "meant", "fix"),
    [
        ("Ðặng Văn An", "Đặng Văn An", "eth"),  # Ð (U+00D0, eth) where Đ (U+0110) was meant
        ("Nguyễn Văn Ðức", "Nguyễn Văn Đức", "eth"),
        ("Thôn Ðông, xã Ðông Hòa, ðường Lê Lợi", "Thôn Đông, xã Đông Hòa, đường Lê Lợi", "eth"),
        (unicodedata.normalize("NFD", "Ðỗ Thị Hà"), "Đỗ Thị Hà", "nfc+eth"),  # both repairs, both named
        ("Ðinh Van An", "Đinh Van An", "cp1258"),  # Latin-1 letters only: the Windows-1258 reading repairs it
    ],
)
def test_eth_typed_for_dj_is_repaired_where_it_makes_a_vietnamese_word(
    seen: str, meant: str, fix: str
) -> None:
    assert build_transform("vn_text")(seen) == TextFixed(meant, fix)


@pytest.mark.parametrize(
    ("seen", "meant"),
    [
        ("Ðóra Jónsdóttir", "Ðóra Jónsdóttir"),  # Icelandic: Đóra is no Vietnamese word
        ("Guðrún Ðức", "Guðrún Đức"),  # each word on its own: the Icelandic one keeps its eth
        ("Ðð", "Ðð"),
    ],
)
def test_eth_stays_where_the_swap_makes_no_vietnamese_word(seen: str, meant: str) -> None:
    assert repair(seen)[0] == meant


def test_limit_mojibake_that_reads_as_vietnamese_is_kept() -> None:
    """VNI `Hoà Thò Lan` is `Hồ Thị Lan`, TCVN3 `Vò Minh Long` is `Vũ Minh Long`: both read as Vietnamese,
    so nothing at the level of one value can tell; keeping correct text intact comes first."""
    for seen, meant, fix in (("Hoà Thò Lan", "Hồ Thị Lan", "vni"), ("Vò Minh Long", "Vũ Minh Long", "tcvn3")):
        assert looks_vietnamese(seen)
        assert build_transform("vn_text")(seen) == seen
        assert build_transform(fix)(seen) == TextFixed(meant, fix)  # a source declared as such is decoded


def test_limit_vn3_has_no_capital_letter_with_a_tone() -> None:
    """Text typed in VN3 wrote `Ánh` with the byte of `ánh`; VN1's capitals are read when they are there."""
    assert decode_tcvn3(encode_tcvn3("Ánh Hồng", capitals=False)) == "ánh Hồng"
    assert decode_tcvn3(encode_tcvn3("Ánh Hồng")) == "Ánh Hồng"
    assert legacy_bytes("ƒnh") == bytes([0x83]) + b"nh"  # VN1's Á, as Windows-1252 shows it


def test_the_fix_is_recorded_on_the_dossier(write_yaml: Callable[..., Path]) -> None:
    text = MINIMAL.format(name="legacy").replace(
        "applicant.name: name", "applicant.name: {path: name, transform: vn_text}"
    )
    text += "  summary: {path: summary, transform: vn_text}\n  applicant.address: {path: address, transform: vn_text}\n"
    mapping = compile_mapping(load_mapping(write_yaml(text, "legacy")))
    record = minimal_record(
        name=read_as_cp1252(encode_tcvn3("Trần Văn Đức")),
        summary=read_as_cp1252(encode_vni("Đăng ký khai sinh")),
        address="Số 12, phố Trần Hưng Đạo",
    )

    d = mapping.normalize(record, "src").dossier

    assert d is not None
    assert (d.applicant.name, d.summary, d.applicant.address) == (
        "Trần Văn Đức",
        "Đăng ký khai sinh",
        "Số 12, phố Trần Hưng Đạo",
    )
    assert sorted(d.text_fixes, key=lambda f: f.field) == [
        TextFix(field="applicant.name", fix="tcvn3"),
        TextFix(field="summary", fix="vni"),
    ]


def test_every_text_the_simulators_write_survives_each_damage() -> None:
    """Every name and place the simulators write comes back exactly from each damage, except where the
    module's stated limits apply (mojibake that reads as Vietnamese; a capital VN3 cannot write)."""
    texts = {p.name for p in cat.PROCEDURES} | set(cat.STREETS) | set(cat.VILLAGES)
    texts |= {w.name for d in cat.province_districts().values() for w in d.wards}
    texts |= {f"{f} {m} {g}" for f, m, g in _all_names()}
    repaired = 0
    for form, (damage, fix) in DAMAGE.items():
        for text in texts:
            try:
                damaged = damage(text)
            except ValueError:  # a character the legacy encoding lacks: no such row can exist
                continue
            if damaged == text or (form in MOJIBAKE and looks_vietnamese(damaged)):
                continue
            if form.startswith("TCVN3") and decode_tcvn3(encode_tcvn3(text)) != text:
                continue  # Ứng, Ý, ...: VN1 writes these capitals below 0x20, VN3 not at all
            expected = fix
            if form == "Windows-1258 export" and damaged == unicodedata.normalize("NFD", damaged):
                expected = "nfc"  # no precomposed letter at all: the same text as plain NFD
            assert repair(damaged) == (text, expected), (form, text, damaged)
            repaired += 1
    assert repaired > 50_000


def _all_names() -> itertools.chain[tuple[str, str, str]]:
    male = itertools.product(cat.FAMILY_NAMES, cat.MIDDLE_MALE, cat.GIVEN_MALE)
    female = itertools.product(cat.FAMILY_NAMES, cat.MIDDLE_FEMALE, cat.GIVEN_FEMALE)
    return itertools.chain(male, female)
