"""mappings.units: from 2025-07-01 (Asia/Ho_Chi_Minh) a dossier's units become the 2025 units, by code, offline.

Codes are found in the vietnamadminunits package's own data, and the expected 2025 unit is what the package's
name-based converter answers for "ward, district, province" (without a street it never geocodes): the two
routes — ours by code, the package's by name — must agree.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from mapping_samples import igate_record
from vietnamadminunits.converter.converter_2025 import DICT_PROVINCE_WARD_DIVIDED, convert_address_2025
from vietnamadminunits.database import query

from mappings import CompiledMapping
from mappings.units import apply_units, unit_index
from schemas import Dossier

pytestmark = pytest.mark.disable_socket  # no socket and no DNS lookup, for the oracle too

ROOT = Path(__file__).resolve().parents[2]
HAI_DUONG, HAI_PHONG, HD_CITY = "30", "31", "288"  # Thành phố Hải Dương (DOMAIN.md §3)
BEFORE = "2025-06-30T23:30:00+07:00"
AFTER = "2025-07-01T00:10:00+07:00"


@cache
def legacy_communes(province: str = HAI_DUONG) -> list[dict[str, Any]]:
    return query(
        "SELECT wardCode, ward, districtCode, district, province, provinceKey, districtKey, wardKey"
        f" FROM admin_units_legacy WHERE provinceCode = '{province}' AND wardCode IS NOT NULL ORDER BY wardCode"
    )


def is_split(row: dict[str, Any]) -> bool:
    key = f"{row['provinceKey']}_{row['districtKey']}_{row['wardKey']}"
    return any(key in olds for olds in DICT_PROVINCE_WARD_DIVIDED.values())


def package_says(row: dict[str, Any]) -> tuple[str, str]:
    """(2025 province code, 2025 commune code) by the package's own converter, from the names."""
    unit = convert_address_2025(f"{row['ward']}, {row['district']}, {row['province']}")
    assert unit.OldAdminUnit.street is None  # the package geocodes online only an old address with a street
    return unit.province_code, unit.ward_code


def merged_commune() -> dict[str, Any]:
    """A Thành phố Hải Dương commune merged into a 2025 commune that has another code."""
    return next(
        r
        for r in legacy_communes()
        if r["districtCode"] == HD_CITY and not is_split(r) and package_says(r)[1] != r["wardCode"]
    )


def split_commune() -> dict[str, Any]:
    return next(r for r in legacy_communes() if r["districtCode"] == HD_CITY and is_split(r))


def dossier(
    commune: str | None,
    *,
    received: str | None = AFTER,
    submitted: str | None = None,
    district: str | None = HD_CITY,
    province: str = HAI_DUONG,
    applicant_commune: str | None = "same",
) -> Dossier:
    return Dossier.model_validate(
        {
            "source": "hd-thanhpho",
            "source_record_id": "r1",
            "ma_ho_so": "000.00.14.H23-250701-0001",
            "province_code": province,
            "district_code": district,
            "commune_code": commune,
            "procedure_code": "1.000656",
            "procedure_name": "Đăng ký khai sinh",
            "channel": 1,
            "status": 2,
            "applicant": {
                "name": "Nguyễn Văn An",
                "commune_code": commune if applicant_commune == "same" else applicant_commune,
            },
            "received_at": received,
            "submitted_at": submitted,
            "source_updated_at": "2025-07-01T09:00:00+07:00",
        }
    )


def units(d: Dossier) -> tuple[str | None, str | None, str | None, str | None, str]:
    return d.province_code, d.district_code, d.commune_code, d.applicant.commune_code, d.dvhc_version


def test_received_before_the_cutover_keeps_district_era_codes() -> None:
    code = merged_commune()["wardCode"]
    d = dossier(code, received=BEFORE)

    assert apply_units(d) is d
    assert units(d) == (HAI_DUONG, HD_CITY, code, code, "legacy")


@pytest.mark.parametrize(
    "received",
    [AFTER, "2025-06-30T17:30:00Z"],  # the second is 2025-07-01 00:30 in Hanoi
    ids=["00:10+07:00", "17:30Z"],
)
def test_received_from_the_cutover_gets_its_2025_unit(received: str) -> None:
    row = merged_commune()
    province, commune = package_says(row)

    d = apply_units(dossier(row["wardCode"], received=received))

    assert province == HAI_PHONG  # Hải Dương became part of Thành phố Hải Phòng
    assert units(d) == (HAI_PHONG, None, commune, commune, "2025")
    assert d.flags == [f"dvhc_legacy_district:{HD_CITY}"]


def test_the_submission_date_decides_when_there_is_no_receipt() -> None:
    row = merged_commune()
    _, commune = package_says(row)

    after = apply_units(dossier(row["wardCode"], received=None, submitted="2025-07-01T07:00:00+07:00"))
    before = apply_units(dossier(row["wardCode"], received=None, submitted="2025-06-30T16:59:59Z"))

    assert units(after) == (HAI_PHONG, None, commune, commune, "2025")
    assert units(before) == (HAI_DUONG, HD_CITY, row["wardCode"], row["wardCode"], "legacy")


def test_a_split_commune_keeps_its_code_and_is_flagged() -> None:
    code = split_commune()["wardCode"]

    d = apply_units(dossier(code))

    assert units(d) == (HAI_PHONG, None, code, code, "2025")
    assert f"dvhc_split:{code}" in d.flags
    assert f"dvhc_legacy_district:{HD_CITY}" in d.flags


def test_an_unknown_commune_keeps_its_code_and_is_flagged() -> None:
    known = {
        r["wardCode"]
        for r in query("SELECT wardCode FROM admin_units_legacy UNION SELECT wardCode FROM admin_units")
    }
    code = next(f"{n:05d}" for n in range(99999, 0, -1) if f"{n:05d}" not in known)

    d = apply_units(dossier(code))

    assert units(d) == (HAI_PHONG, None, code, code, "2025")  # the province still converts
    assert f"dvhc_unknown:{code}" in d.flags


def test_the_applicant_commune_converts_on_its_own() -> None:
    row, split = merged_commune(), split_commune()["wardCode"]
    _, commune = package_says(row)

    d = apply_units(dossier(row["wardCode"], applicant_commune=split))

    assert (d.commune_code, d.applicant.commune_code) == (commune, split)
    assert f"dvhc_split:{split}" in d.flags


def test_every_hai_duong_commune_converts_as_the_package_converts_it() -> None:
    for row in legacy_communes():
        d = apply_units(dossier(row["wardCode"], district=row["districtCode"]))
        if is_split(row):
            assert (d.commune_code, f"dvhc_split:{row['wardCode']}" in d.flags) == (row["wardCode"], True)
        else:
            assert (d.province_code, d.commune_code) == package_says(row), row["ward"]


def test_an_island_district_without_communes_becomes_its_special_zone() -> None:
    [island] = query(
        f"SELECT districtCode, district, province FROM admin_units_legacy"
        f" WHERE provinceCode = '{HAI_PHONG}' AND wardCode IS NULL"
    )
    zone = convert_address_2025(f"{island['district']}, {island['province']}")

    d = apply_units(dossier(None, district=island["districtCode"], province=HAI_PHONG))

    assert (d.province_code, d.district_code, d.commune_code) == (HAI_PHONG, None, zone.ward_code)


def test_a_record_already_in_2025_units_is_kept() -> None:
    # a 2025 Hải Phòng commune whose code is also a split legacy commune's: not to be taken for the legacy one
    split_codes = {
        r["wardCode"] for r in legacy_communes(HAI_DUONG) + legacy_communes(HAI_PHONG) if is_split(r)
    }
    [code, *_] = (
        r["wardCode"]
        for r in query(
            f"SELECT wardCode FROM admin_units WHERE provinceCode = '{HAI_PHONG}' ORDER BY wardCode"
        )
        if r["wardCode"] in split_codes
    )

    d = apply_units(dossier(code, district=None, province=HAI_PHONG))

    assert units(d) == (HAI_PHONG, None, code, code, "2025")
    assert not [f for f in d.flags if f.startswith("dvhc_")]


def test_converting_twice_changes_nothing_more() -> None:
    once = apply_units(dossier(merged_commune()["wardCode"]))
    assert apply_units(once) is once


def test_normalize_applies_the_units_of_the_receipt_date(igate: CompiledMapping) -> None:
    record = igate_record(appliedDate="2025-07-01T07:50:00+07:00", acceptedDate="2025-07-01T08:15:00+07:00")
    ward = record["applicant"]["address"]["ward"]["code"]
    row = next(r for r in legacy_communes() if r["wardCode"] == ward)

    d = igate.normalize(record, "hd-thanhpho").dossier

    assert d is not None
    assert units(d) == (HAI_PHONG, None, package_says(row)[1], package_says(row)[1], "2025")
    assert f"dvhc_legacy_district:{HD_CITY}" in d.flags


def test_the_conversion_never_touches_the_network() -> None:
    # This module runs with sockets and DNS disabled; rebuild the index under that guard.
    unit_index.cache_clear()
    assert apply_units(dossier(merged_commune()["wardCode"])).dvhc_version == "2025"
    # And the package's geocoding code (geopy) is never even imported by the conversion.
    script = textwrap.dedent(
        """
        import sys
        from mappings.units import apply_units, unit_index
        unit_index()
        assert not {"vietnamadminunits", "geopy", "shapely"} & set(sys.modules), sorted(sys.modules)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60, cwd=ROOT)
