"""Administrative units across the 2025-07-01 cut-over (DESIGN.md Contracts, "Administrative units").

A dossier received (else submitted) before 2025-07-01 in Asia/Ho_Chi_Minh keeps its district-era codes; a later
one is moved to the 2025 units (province + commune, no district). The conversion is by code, from the data
files shipped inside the `vietnamadminunits` package, read directly: importing that package would pull in
its online geocoder (geopy/ArcGIS), and no citizen address may leave the machine.

The package keys its conversion by name slugs ("tinhhaiduong_thanhphohaiduong_phuongtranphu"), so the
index joins three tables once, on first use:
  dataset.db  admin_units_legacy   wardCode/districtCode/provinceCode <- provinceKey, districtKey, wardKey
  converter_2025.json              legacy "province_district_ward" key -> 2025 (province key, ward key)
  dataset.db  admin_units          2025 (provinceKey, wardKey) -> provinceCode, wardCode, ward (name)
"""

from __future__ import annotations

import importlib.util
import json
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from schemas.dossier import HCM, Dossier

CUTOVER = datetime(2025, 7, 1, tzinfo=HCM)
SPLIT = "dvhc_split:"  # a legacy commune split between 2025 communes: its code is kept
UNKNOWN = "dvhc_unknown:"  # a code in neither the legacy nor the 2025 units: kept as it came
LEGACY_DISTRICT = "dvhc_legacy_district:"  # the district code the 2025 units no longer have


@dataclass(frozen=True, slots=True)
class Unit:
    """A 2025 commune (xã, phường, đặc khu) and its province."""

    province_code: str
    commune_code: str
    name: str


@dataclass(frozen=True, slots=True)
class UnitIndex:
    communes: dict[str, tuple[Unit, ...]]  # legacy commune code -> the 2025 commune(s) it became
    districts: dict[str, Unit]  # legacy island district without communes -> its 2025 special zone
    provinces: dict[str, str]  # legacy province code -> 2025 province code (2025 codes map to themselves)
    current: dict[str, Unit]  # 2025 commune code -> its unit (records already in 2025 units)


def data_dir() -> Path:
    """The package's data/ folder, located without importing the package (its __init__ loads geopy)."""
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the vietnamadminunits package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@cache
def unit_index() -> UnitIndex:
    """The conversion index, built once per process (tens of milliseconds)."""
    import sqlite3  # only when first needed: importing mappings stays cheap

    folder = data_dir()
    converter: dict[str, Any] = json.loads((folder / "converter_2025.json").read_text(encoding="utf-8"))
    with closing(sqlite3.connect(f"{(folder / 'dataset.db').as_uri()}?mode=ro", uri=True)) as db:
        legacy = db.execute(
            "SELECT provinceCode, districtCode, wardCode, provinceKey, districtKey, wardKey"
            " FROM admin_units_legacy"
        ).fetchall()
        new = db.execute(
            "SELECT provinceCode, wardCode, ward, provinceKey, wardKey FROM admin_units"
        ).fetchall()

    by_key = {(pkey, wkey): Unit(pcode, wcode, name) for pcode, wcode, name, pkey, wkey in new}

    def unit_of(pkey: str, wkey: str) -> Unit:
        if (pkey, wkey) not in by_key:
            raise RuntimeError(
                f"vietnamadminunits data: {pkey}/{wkey} of converter_2025.json not in dataset.db"
            )
        return by_key[pkey, wkey]

    targets: dict[str, list[Unit]] = {}
    for pkey, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for wkey, old_keys in wards.items():
            for old in old_keys:
                targets.setdefault(old, []).append(unit_of(pkey, wkey))
    for pkey, olds in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, parts in olds.items():
            targets.setdefault(old, []).extend(unit_of(pkey, part["newWardKey"]) for part in parts)

    communes: dict[str, tuple[Unit, ...]] = {}
    districts: dict[str, Unit] = {}
    for _pcode, dcode, wcode, pkey, dkey, wkey in legacy:
        found = tuple(dict.fromkeys(targets.get(f"{pkey}_{dkey}_{wkey or ''}", ())))  # dedup, keep order
        if wcode:
            communes[wcode] = found
        elif len(found) == 1:  # island districts with no communes became one special zone each
            districts[dcode] = found[0]

    legacy_province = {pkey: pcode for pcode, _d, _w, pkey, _dk, _wk in legacy}
    new_province = {pkey: pcode for pcode, _w, _n, pkey, _wk in new}
    provinces = {
        legacy_province[old]: new_province[pkey]
        for pkey, olds in converter["DICT_PROVINCE"].items()
        for old in olds
    }
    provinces.update({code: code for code in new_province.values()})
    return UnitIndex(communes, districts, provinces, {u.commune_code: u for u in by_key.values()})


def apply_units(dossier: Dossier) -> Dossier:
    """The dossier in the units of its reference date: itself before the cut-over, else a converted copy.

    From the cut-over: province and commune codes (the applicant's too) become 2025 codes, the district code
    moves to a `dvhc_legacy_district:` flag, dvhc_version becomes "2025". A commune split between several
    2025 communes keeps its code (`dvhc_split:<code>`); a code found nowhere is kept (`dvhc_unknown:<code>`).
    A record without a district code whose commune is a 2025 commune is taken as already in 2025 units:
    legacy and 2025 codes overlap, and converting a 2025 code again could move it to a wrong commune.
    The copy is shallow: lists other than flags are shared with the input.
    """
    if dossier.dvhc_version == "2025" or dossier.reference_date < CUTOVER:
        return dossier
    applicant = dossier.applicant
    province_code, commune_code, applicant_commune, flags = converted(
        dossier.province_code,
        dossier.district_code,
        dossier.commune_code,
        applicant.commune_code,
        dossier.flags,
    )
    if applicant_commune != applicant.commune_code:
        applicant = applicant.model_copy(update={"commune_code": applicant_commune})
    update: dict[str, Any] = {
        "province_code": province_code,
        "district_code": None,
        "commune_code": commune_code,
        "dvhc_version": "2025",
        "applicant": applicant,
        "flags": flags,
    }
    # model_copy skips validation: flags/on_time derived in Dossier._derive do not depend on units
    return dossier.model_copy(update=update)


def apply_units_to(values: dict[str, Any]) -> None:
    """apply_units on a dossier's plain values (a model_dump in python mode), in place: the same conversion
    for the compiled check of mappings.modelcheck, which never builds the model."""
    reference = values["received_at"] or values["submitted_at"]
    if values["dvhc_version"] == "2025" or reference < CUTOVER:
        return
    applicant = values["applicant"]
    province_code, commune_code, applicant["commune_code"], flags = converted(
        values["province_code"],
        values["district_code"],
        values["commune_code"],
        applicant["commune_code"],
        values["flags"],
    )
    values.update(
        province_code=province_code,
        district_code=None,
        commune_code=commune_code,
        dvhc_version="2025",
        flags=flags,
    )


def converted(
    province: str | None,
    district: str | None,
    commune: str | None,
    applicant_commune: str | None,
    flags: list[str],
) -> tuple[str | None, str | None, str | None, list[str]]:
    """(province, commune, the applicant's commune, flags) in 2025 units, from a record's district-era codes."""
    index = unit_index()
    district_era = district is not None  # a district code is what a district-era record carries
    added: list[str] = []

    unit = _commune(index, commune, district_era, added)
    if unit is None and commune is None and district is not None:
        unit = index.districts.get(district)
    commune_code = unit.commune_code if unit else commune
    if unit is not None:
        province_code = unit.province_code
    elif len(parts := index.communes.get(commune or "", ())) > 1:
        province_code = parts[0].province_code  # a split commune: its parts share one province
    else:
        province_code = _province(index, province, added)
    if district is not None:
        added.append(LEGACY_DISTRICT + district)

    old = applicant_commune
    if old is not None:
        old = commune_code if old == commune else _commune_code(index, old, district_era, added)
    return province_code, commune_code, old, list(dict.fromkeys([*flags, *added]))


def _commune(index: UnitIndex, code: str | None, district_era: bool, flags: list[str]) -> Unit | None:
    """The 2025 unit of a commune code, or None (flagged) when it cannot be decided by code."""
    if code is None:
        return None
    if not district_era and (unit := index.current.get(code)) is not None:
        return unit
    found = index.communes.get(code)
    if not found:
        flags.append(UNKNOWN + code)
        return None
    if len(found) > 1:
        flags.append(SPLIT + code)
        return None
    return found[0]


def _commune_code(index: UnitIndex, code: str, district_era: bool, flags: list[str]) -> str:
    unit = _commune(index, code, district_era, flags)
    return unit.commune_code if unit else code


def _province(index: UnitIndex, code: str | None, flags: list[str]) -> str | None:
    if code is None:
        return None
    new = index.provinces.get(code)
    if new is None:
        flags.append(UNKNOWN + code)
        return code
    return new
