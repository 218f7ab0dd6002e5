"""Deterministic canonical ground truth for the vendor servers: what every vendor must deliver, field by field.

`generate(vendor, seed, count)` returns dossiers shaped like `Dossier.model_dump(mode="json")`, restricted to the
fields set here (a key that is absent was not set: nothing to compare). A vendor server renders these in its
own shape; after a sync, the loaded `onestop.dossier.record` must equal them on every `canonical_fields` pair.

Choices that keep every vendor able to carry the truth losslessly:
- times are whole minutes (a vendor writing `dd/MM/yyyy HH:mm` loses nothing), office hours, Asia/Ho_Chi_Minh;
- receipts fall 2025-01-02 .. 2025-06-25, before the 2025-07-01 unit cut-over, and no district/commune codes are
  set, so mappings.units leaves the dossier as it came;
- except for the vendors in NAMED_UNITS, systems that keep units as names only: their receipts run to
  2025-09-30, and each dossier has its commune and its applicant's (codes from the vietnamadminunits data):
  before the cut-over a Hải Dương commune of the agency's district (province 30, district and commune codes,
  units "legacy"), the applicant's address naming ward, district and province; from it a 2025 Hải Phòng
  commune (province 31, no district, units "2025"), the address naming ward and province. The vendor's
  server writes the names for those codes (`commune_names`); its mapping finds the codes again;
- text is NFC Vietnamese and fits Windows-1258 once decomposed (no characters outside the Vietnamese alphabet
  besides ASCII punctuation);
- source_record_id is a digit string (a vendor may send it as a number);
- the status is the last history event's; finished_at for 9/10, returned_at for 10; source_updated_at is the
  last event's time.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from mappings.units import CUTOVER, data_dir, unit_index
from schemas.dossier import HCM

RECEIPTS_FROM = datetime(2025, 1, 2, tzinfo=HCM)
RECEIPTS_UNTIL = datetime(2025, 6, 25, tzinfo=HCM)  # last receipt day (inclusive)
NAMED_UNITS = frozenset({"foxpro_1258"})  # vendors whose systems keep communes as names only
NAMED_RECEIPTS_UNTIL = datetime(2025, 9, 30, tzinfo=HCM)  # theirs run past the 2025-07-01 cut-over

# (national code, name, field code, field name, fees [(name, code, amount)], documents [(name, form code)])
PROCEDURES: tuple[
    tuple[str, str, str, str, tuple[tuple[str, str, int], ...], tuple[tuple[str, str], ...]], ...
] = (
    (
        "1.001193",
        "Đăng ký khai sinh",
        "HT",
        "Hộ tịch",
        (),
        (("Tờ khai đăng ký khai sinh", "TK-KS"), ("Giấy chứng sinh", "GCS")),
    ),
    (
        "1.000894",
        "Đăng ký kết hôn",
        "HT",
        "Hộ tịch",
        (),
        (("Tờ khai đăng ký kết hôn", "TK-KH"),),
    ),
    (
        "2.000908",
        "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
        "CT",
        "Chứng thực",
        (("Phí chứng thực bản sao", "PCT", 2000),),
        (("Bản chính giấy tờ cần chứng thực", "BC"),),
    ),
    (
        "1.001612",
        "Cấp giấy chứng nhận đăng ký hộ kinh doanh",
        "DKKD",
        "Thành lập và hoạt động của hộ kinh doanh",
        (("Lệ phí đăng ký hộ kinh doanh", "LPHKD", 100000),),
        (("Giấy đề nghị đăng ký hộ kinh doanh", "PL-III-1"), ("Bản sao giấy tờ pháp lý của cá nhân", "CCCD")),
    ),
    (
        "1.003622",
        "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "XD",
        "Hoạt động xây dựng",
        (("Lệ phí cấp giấy phép xây dựng", "LPXD", 75000),),
        (("Đơn đề nghị cấp giấy phép xây dựng", "MS-01"), ("Bản vẽ thiết kế xây dựng", "BVTK")),
    ),
    (
        "1.004227",
        "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        "DD",
        "Đất đai",
        (("Lệ phí cấp giấy chứng nhận", "LPGCN", 50000), ("Phí thẩm định hồ sơ", "PTĐ", 350000)),
        (("Đơn đăng ký biến động đất đai", "09/ĐK"), ("Giấy chứng nhận đã cấp", "GCN")),
    ),
    (
        "1.010942",
        "Xác nhận thông tin hộ tịch",
        "HT",
        "Hộ tịch",
        (("Lệ phí xác nhận", "LPXN", 8000),),
        (("Tờ khai xác nhận thông tin hộ tịch", "TK-XN"),),
    ),
)

AGENCIES = (
    ("000.00.11.H23", "UBND huyện Nam Sách"),
    ("000.00.12.H23", "UBND huyện Thanh Hà"),
    ("000.00.13.H23", "UBND huyện Gia Lộc"),
    ("000.00.14.H23", "UBND thị xã Kinh Môn"),
)
HAI_DUONG, HAI_PHONG = "30", "31"

SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương", "Lương")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thanh", "Quốc", "Ngọc", "Hữu", "Thu", "Xuân")
GIVEN = (
    "An",
    "Bình",
    "Chiến",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Mạnh",
    "Nga",
    "Phúc",
    "Quyết",
    "Sơn",
    "Thảo",
    "Tuấn",
    "Tùng",
    "Uyên",
    "Việt",
    "Yến",
    "Đạt",
    "Ánh",
    "Thủy",
    "Hằng",
)
BUSINESS = ("Hộ kinh doanh", "Công ty TNHH", "Công ty cổ phần")
TRADES = (
    "Thương mại Hưng Thịnh",
    "Xây dựng Phú Cường",
    "Nông sản Hải Dương",
    "Dịch vụ Ánh Dương",
    "Vải thiều Thanh Hà",
)
VILLAGES = (
    "thôn Đồng Lạc",
    "thôn Kim Đôi",
    "khu dân cư Nguyễn Trãi",
    "thôn Thượng Triệt",
    "thôn Hữu Chung",
    "khu 3",
    "thôn Phú Lương",
)
COMMUNES = (
    ("xã Nam Hồng", "huyện Nam Sách"),
    ("xã Thanh Hồng", "huyện Thanh Hà"),
    ("thị trấn Gia Lộc", "huyện Gia Lộc"),
    ("phường An Lưu", "thị xã Kinh Môn"),
)
OFFICERS = ("Phạm Thị Huệ", "Nguyễn Văn Khải", "Trần Minh Đức", "Lê Thị Ngọc Ánh", "Đỗ Quang Vinh")
EVENT_TEXT = {
    1: "Công dân nộp hồ sơ trực tuyến",
    2: "Tiếp nhận hồ sơ tại Bộ phận Một cửa",
    4: "Chuyển chuyên viên thụ lý",
    5: "Đề nghị bổ sung giấy tờ còn thiếu",
    6: "Thông báo nộp phí, lệ phí",
    9: "Đã ký duyệt kết quả",
    10: "Trả kết quả cho công dân",
}
# the dossier's status -> the statuses its history goes through after receipt
PATHS = {2: (2,), 4: (2, 4), 5: (2, 4, 5), 6: (2, 4, 6), 9: (2, 4, 9), 10: (2, 4, 9, 10)}
STATUS_WEIGHTS = {2: 2, 4: 4, 5: 1, 6: 1, 9: 2, 10: 6}


def _iso(t: datetime) -> str:
    return t.isoformat()  # whole minutes, +07:00: exactly what Dossier.model_dump(mode="json") writes


def _office_time(rng: random.Random, day: datetime) -> datetime:
    return day.replace(hour=rng.randint(7, 16), minute=rng.randint(0, 59), second=0, microsecond=0)


def _later(rng: random.Random, t: datetime, min_hours: int, max_hours: int) -> datetime:
    return (t + timedelta(minutes=rng.randint(min_hours * 60, max_hours * 60))).replace(
        second=0, microsecond=0
    )


def _person(rng: random.Random) -> dict[str, Any]:
    name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
    birth = datetime(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 55))
    applicant: dict[str, Any] = {
        "type": 1,
        "name": name,
        "id_type": 1,
        "id_number": f"030{rng.randint(0, 1):01d}{birth.year % 100:02d}{rng.randint(0, 999999):06d}",
        "phone": f"09{rng.randint(0, 99999999):08d}",
        "birth_date": birth.date().isoformat(),
    }
    if rng.random() < 0.5:
        applicant["email"] = f"congdan{rng.randint(100, 99999)}@gmail.com"
    return applicant


def _business(rng: random.Random) -> dict[str, Any]:
    applicant: dict[str, Any] = {
        "type": 2,
        "name": f"{rng.choice(BUSINESS)} {rng.choice(TRADES)}",
        "id_number": f"08{rng.randint(0, 99999999):08d}",  # tax code: 10 digits, no id_type
        "phone": f"09{rng.randint(0, 99999999):08d}",
        "email": f"lienhe{rng.randint(10, 999)}@doanhnghiep.vn",
    }
    return applicant


@cache
def _legacy_units() -> dict[str, Any]:
    return json.loads((data_dir() / "parser_legacy.json").read_bytes())


@cache
def _units_2025() -> dict[str, Any]:
    return json.loads((data_dir() / "parser_from_2025.json").read_bytes())


@cache
def hai_duong_communes() -> dict[str, list[tuple[str, str, str]]]:
    """District code -> its communes (code, commune name, district name), district-era, from the package."""
    data = _legacy_units()
    out: dict[str, list[tuple[str, str, str]]] = {}
    for dkey, wards in data["DICT_PROVINCE_DISTRICT_WARD_NO_ACCENTED"]["tinhhaiduong"].items():
        d = data["DICT_PROVINCE_DISTRICT"]["tinhhaiduong"][dkey]
        out[d["districtCode"]] = [(w["wardCode"], w["ward"], d["district"]) for w in wards.values()]
    return out


@cache
def hai_phong_communes() -> dict[str, str]:
    """2025 commune code -> its name, in Thành phố Hải Phòng (which took in Hải Dương), from the package."""
    return {
        w["wardCode"]: w["ward"]
        for w in _units_2025()["DICT_PROVINCE_WARD_NO_ACCENTED"]["thanhphohaiphong"].values()
    }


def commune_names(code: str, units: str) -> tuple[str, str | None]:
    """(commune name, district name or None) of a code NAMED_UNITS dossiers carry, in their `dvhc_version`:
    "legacy", a district-era commune of Hải Dương; "2025", a commune of Hải Phòng."""
    if units == "2025":
        return hai_phong_communes()[code], None
    return next((name, district) for c, name, district in _all_hai_duong() if c == code)


def _all_hai_duong() -> list[tuple[str, str, str]]:
    return [c for communes in hai_duong_communes().values() for c in communes]


def agency_district(agency_name: str) -> str:
    """The district-era district (GSO code) of an agency: "UBND huyện Nam Sách" -> Huyện Nam Sách's."""
    district = agency_name.removeprefix("UBND ").lower()
    return next(code for code, communes in hai_duong_communes().items() if communes[0][2].lower() == district)


def _lower_type(name: str) -> str:
    """ "Xã Nam Hồng" -> "xã Nam Hồng", as an address writes a unit inside it."""
    return name[0].lower() + name[1:]


def _named_units(rng: random.Random, dossier: dict[str, Any], village: str) -> None:
    """The dossier's commune (of its agency's district) and its applicant's, in the units of its receipt date."""
    received = datetime.fromisoformat(dossier["received_at"])
    district = agency_district(dossier["agency_name"])
    own = rng.choice(hai_duong_communes()[district])
    home = rng.choice(_all_hai_duong())
    applicant = dossier["applicant"]
    if received < CUTOVER:
        dossier.update(
            province_code=HAI_DUONG, district_code=district, commune_code=own[0], dvhc_version="legacy"
        )
        applicant["commune_code"] = home[0]
        applicant["address"] = f"{village}, {_lower_type(home[1])}, {_lower_type(home[2])}, tỉnh Hải Dương"
        return
    # from the cut-over: a 2025 commune that took in (part of) the district-era one
    own_2025 = unit_index().communes[own[0]][0].commune_code
    home_2025 = rng.choice(sorted(hai_phong_communes()))
    dossier.update(province_code=HAI_PHONG, district_code=None, commune_code=own_2025, dvhc_version="2025")
    applicant["commune_code"] = home_2025
    applicant["address"] = f"{village}, {_lower_type(hai_phong_communes()[home_2025])}, thành phố Hải Phòng"


def _dossier(rng: random.Random, index: int, record_id: int, named: bool = False) -> dict[str, Any]:
    code, proc_name, field_code, field_name, fees, docs = rng.choice(PROCEDURES)
    agency_code, agency_name = rng.choice(AGENCIES)
    applicant = _business(rng) if field_code == "DKKD" and rng.random() < 0.4 else _person(rng)
    commune, district = rng.choice(COMMUNES)
    village = f"Số {rng.randint(1, 199)}, {rng.choice(VILLAGES)}"
    applicant["address"] = f"{village}, {commune}, {district}, tỉnh Hải Dương"

    days = ((NAMED_RECEIPTS_UNTIL if named else RECEIPTS_UNTIL) - RECEIPTS_FROM).days
    received = _office_time(rng, RECEIPTS_FROM + timedelta(days=rng.randint(0, days)))
    channel = rng.choices((1, 2, 3), weights=(5, 4, 1))[0]
    status = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0]

    events: list[tuple[int, datetime]] = []
    submitted = None
    if channel == 2:
        submitted = received - timedelta(minutes=rng.randint(30, 60 * 48))
        events.append((1, submitted))
    at = received
    for step in PATHS[status]:
        if step != 2:
            at = _later(rng, at, 2, 24 * 6)
        events.append((step, at))
    due = _later(rng, received, 24 * 3, 24 * 15)

    history = [
        {"status": s, "at": _iso(t), "actor": rng.choice(OFFICERS), "content": EVENT_TEXT[s]}
        for s, t in events
    ]
    seq = index + 1
    dossier: dict[str, Any] = {
        "source_record_id": str(record_id),
        "ma_ho_so": f"{agency_code}-{received:%y%m%d}-{seq:04d}",
        "procedure_code": code,
        "procedure_name": proc_name,
        "field_code": field_code,
        "field_name": field_name,
        "agency_code": agency_code,
        "agency_name": agency_name,
        "channel": channel,
        "status": status,
        "summary": f"{proc_name} cho {applicant['name']}",
        "applicant": applicant,
    }
    if submitted is not None:
        dossier["submitted_at"] = _iso(submitted)
    dossier["received_at"] = _iso(received)
    dossier["due_at"] = _iso(due)
    if status in (9, 10):
        dossier["finished_at"] = history[-1 if status == 9 else -2]["at"]
    if status == 10:
        dossier["returned_at"] = history[-1]["at"]
    dossier["source_updated_at"] = history[-1]["at"]
    dossier["history"] = history
    dossier["fees"] = [{"name": n, "code": c, "amount_vnd": a} for n, c, a in fees]
    dossier["documents"] = [{"name": n, "form_code": f} for n, f in docs]
    if named:
        _named_units(rng, dossier, village)
    return dossier


def generate(vendor: str, seed: int, count: int) -> list[dict[str, Any]]:
    """`count` dossiers for `vendor`, the same for the same arguments in every process (str seeds are stable)."""
    rng = random.Random(f"{vendor}:{seed}")
    ids = rng.sample(range(1_000_000, 9_999_999), count)
    return [_dossier(rng, i, ids[i], vendor in NAMED_UNITS) for i in range(count)]


def canonical_fields(item: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Every leaf of a truth item as (path, value): `applicant.name`, `history[2].at`; a list also as its length.

    The length pair (`history[]`, 4) makes a missing or extra list item a mismatch, not a silent skip.
    """
    out: list[tuple[str, Any]] = []
    for key, value in item.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(canonical_fields(value, f"{path}."))
        elif isinstance(value, list):
            out.append((f"{path}[]", len(value)))
            for i, element in enumerate(value):
                if isinstance(element, dict):
                    out.extend(canonical_fields(element, f"{path}[{i}]."))
                else:
                    out.append((f"{path}[{i}]", element))
        else:
            out.append((path, value))
    return out


def lookup(record: dict[str, Any], path: str) -> Any:
    """The value at a canonical_fields path in a loaded record (None when absent); `x[]` is the list's length."""
    value: Any = record
    for part in path.split("."):
        name, _, rest = part.partition("[")
        value = value.get(name) if isinstance(value, dict) else None
        if rest == "]":
            return len(value) if isinstance(value, list) else None
        if rest:
            i = int(rest.rstrip("]"))
            value = value[i] if isinstance(value, list) and i < len(value) else None
    return value


def same(expected: Any, actual: Any) -> bool:
    """Truth equals the loaded value: times as the same instant written with the same offset, the rest exactly."""
    if isinstance(expected, str) and isinstance(actual, str) and expected != actual and "T" in expected:
        try:
            e, a = datetime.fromisoformat(expected), datetime.fromisoformat(actual)
        except ValueError:
            return False
        return e == a and e.utcoffset() == a.utcoffset()
    return expected == actual and type(expected) is type(actual)
