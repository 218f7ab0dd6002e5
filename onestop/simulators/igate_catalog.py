"""Static content for the iGate simulator: procedures, fields, names, streets, and Hải Dương's legacy units.

Procedure codes have the national shape `d.dddddd` and realistic names, but the list is illustrative, not
an extract of the national procedure database. Administrative units come from the `vietnamadminunits`
package's shipped SQLite file (legacy 63-province units), read offline.
"""

from __future__ import annotations

import importlib.util
import sqlite3
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROVINCE_CODE = "30"
PROVINCE_NAME = "Tỉnh Hải Dương"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@cache
def ascii_fold(text: str) -> str:
    """Vietnamese without diacritics (for e-mail addresses and file names)."""
    stripped = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return stripped.replace("đ", "d").replace("Đ", "D")


@dataclass(frozen=True)
class Sector:
    suffix: str  # the part after "G{NN}-", e.g. "TP01"
    name: str
    department: str  # the district office that processes it ("" = the town/city variant is used)
    forms: tuple[tuple[str, str], ...]  # (formCode, file name)


@dataclass(frozen=True)
class Procedure:
    nation_code: str
    name: str
    sector: str  # key of SECTORS
    days: int  # processing time limit, working days (0 = same day)
    level: int  # online service level 2, 3 or 4
    fee: int  # VND; 0 = no fee
    fee_name: str
    weight: int  # relative frequency at a district desk


_URBAN_DEPT = "Phòng Quản lý đô thị"
_RURAL_DEPT = "Phòng Kinh tế và Hạ tầng"

SECTORS: dict[str, Sector] = {
    "TP01": Sector(
        "TP01",
        "Hộ tịch",
        "Phòng Tư pháp",
        (
            ("TP01", "to-khai-dang-ky.pdf"),
            ("TP02", "giay-to-tuy-than.pdf"),
            ("TP03", "giay-to-lien-quan.pdf"),
        ),
    ),
    "TP02": Sector(
        "TP02",
        "Chứng thực",
        "Phòng Tư pháp",
        (("TP01", "ban-chinh-giay-to.pdf"), ("TP02", "giay-to-tuy-than.pdf")),
    ),
    "TN01": Sector(
        "TN01",
        "Đất đai",
        "Phòng Tài nguyên và Môi trường",
        (
            ("TP01", "don-dang-ky-bien-dong.pdf"),
            ("TP02", "giay-chung-nhan-qsdd.pdf"),
            ("TP03", "hop-dong-chuyen-nhuong.pdf"),
            ("TP04", "to-khai-thue.pdf"),
        ),
    ),
    "TN02": Sector(
        "TN02",
        "Môi trường",
        "Phòng Tài nguyên và Môi trường",
        (("TP01", "ke-hoach-bao-ve-moi-truong.pdf"), ("TP02", "bao-cao-du-an.pdf")),
    ),
    "KH01": Sector(
        "KH01",
        "Thành lập và hoạt động của hộ kinh doanh",
        "Phòng Tài chính - Kế hoạch",
        (("TP01", "giay-de-nghi-dang-ky-hkd.pdf"), ("TP02", "giay-to-phap-ly-ca-nhan.pdf")),
    ),
    "XD01": Sector(
        "XD01",
        "Hoạt động xây dựng",
        "",
        (("TP01", "don-de-nghi-cap-gpxd.pdf"), ("TP02", "ban-ve-thiet-ke.pdf"), ("TP03", "giay-to-dat.pdf")),
    ),
    "LD01": Sector(
        "LD01",
        "Bảo trợ xã hội",
        "Phòng Lao động - Thương binh và Xã hội",
        (("TP01", "to-khai-de-nghi-tro-giup.pdf"), ("TP02", "giay-xac-nhan-khuyet-tat.pdf")),
    ),
    "LD02": Sector(
        "LD02",
        "Người có công",
        "Phòng Lao động - Thương binh và Xã hội",
        (("TP01", "ban-khai-nguoi-co-cong.pdf"), ("TP02", "giay-bao-tu.pdf")),
    ),
    "GD01": Sector(
        "GD01",
        "Giáo dục và Đào tạo",
        "Phòng Giáo dục và Đào tạo",
        (("TP01", "don-xin-chuyen-truong.pdf"), ("TP02", "hoc-ba.pdf")),
    ),
    "CT01": Sector(
        "CT01",
        "Lưu thông hàng hóa trong nước",
        "Phòng Kinh tế",
        (("TP01", "don-de-nghi-cap-phep.pdf"), ("TP02", "giay-chung-nhan-dkkd.pdf")),
    ),
    "YT01": Sector(
        "YT01",
        "An toàn thực phẩm",
        "Phòng Y tế",
        (
            ("TP01", "don-de-nghi-cap-gcn.pdf"),
            ("TP02", "thuyet-minh-co-so.pdf"),
            ("TP03", "giay-kham-suc-khoe.pdf"),
        ),
    ),
    "VH01": Sector(
        "VH01",
        "Văn hóa cơ sở",
        "Phòng Văn hóa và Thông tin",
        (("TP01", "van-ban-dang-ky.pdf"), ("TP02", "chuong-trinh-le-hoi.pdf")),
    ),
    "NV01": Sector(
        "NV01",
        "Thi đua, khen thưởng",
        "Phòng Nội vụ",
        (("TP01", "to-trinh-khen-thuong.pdf"), ("TP02", "bao-cao-thanh-tich.pdf")),
    ),
}

PROCEDURES: tuple[Procedure, ...] = (
    Procedure(
        "1.001193", "Đăng ký khai sinh có yếu tố nước ngoài", "TP01", 15, 3, 50000, "Lệ phí hộ tịch", 3
    ),
    Procedure(
        "1.000894", "Đăng ký kết hôn có yếu tố nước ngoài", "TP01", 15, 3, 1000000, "Lệ phí hộ tịch", 2
    ),
    Procedure("1.000656", "Đăng ký khai tử có yếu tố nước ngoài", "TP01", 3, 3, 50000, "Lệ phí hộ tịch", 1),
    Procedure(
        "2.000528",
        "Thay đổi, cải chính, bổ sung thông tin hộ tịch, xác định lại dân tộc",
        "TP01",
        3,
        3,
        28000,
        "Lệ phí hộ tịch",
        4,
    ),
    Procedure("2.000635", "Cấp bản sao trích lục hộ tịch", "TP01", 1, 4, 8000, "Lệ phí cấp bản sao", 6),
    Procedure(
        "2.000815",
        "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm quyền của Việt Nam cấp",
        "TP02",
        0,
        2,
        2000,
        "Phí chứng thực",
        14,
    ),
    Procedure(
        "2.000884", "Chứng thực chữ ký trong các giấy tờ, văn bản", "TP02", 0, 2, 10000, "Phí chứng thực", 6
    ),
    Procedure(
        "2.001035",
        "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản",
        "TP02",
        2,
        2,
        50000,
        "Phí chứng thực hợp đồng",
        3,
    ),
    Procedure(
        "1.004227",
        "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        "TN01",
        10,
        3,
        30000,
        "Lệ phí đăng ký đất đai",
        9,
    ),
    Procedure(
        "1.004221",
        "Cấp lại Giấy chứng nhận quyền sử dụng đất do bị mất",
        "TN01",
        10,
        3,
        50000,
        "Lệ phí cấp giấy chứng nhận",
        2,
    ),
    Procedure("2.000889", "Đính chính Giấy chứng nhận đã cấp", "TN01", 10, 3, 0, "", 2),
    Procedure("1.003003", "Giao đất, cho thuê đất cho hộ gia đình, cá nhân", "TN01", 20, 2, 0, "", 1),
    Procedure("1.004138", "Xác nhận đăng ký kế hoạch bảo vệ môi trường", "TN02", 10, 3, 0, "", 1),
    Procedure(
        "2.000720", "Đăng ký thành lập hộ kinh doanh", "KH01", 3, 4, 100000, "Lệ phí đăng ký hộ kinh doanh", 6
    ),
    Procedure(
        "2.000575",
        "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh",
        "KH01",
        3,
        4,
        100000,
        "Lệ phí đăng ký hộ kinh doanh",
        3,
    ),
    Procedure(
        "2.000555",
        "Tạm ngừng kinh doanh, tiếp tục kinh doanh trước thời hạn đã thông báo của hộ kinh doanh",
        "KH01",
        3,
        4,
        0,
        "",
        2,
    ),
    Procedure("1.001612", "Chấm dứt hoạt động hộ kinh doanh", "KH01", 3, 4, 0, "", 1),
    Procedure(
        "1.009974",
        "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
        "XD01",
        15,
        3,
        75000,
        "Lệ phí cấp giấy phép xây dựng",
        5,
    ),
    Procedure(
        "1.009976",
        "Cấp giấy phép sửa chữa, cải tạo đối với nhà ở riêng lẻ",
        "XD01",
        15,
        3,
        75000,
        "Lệ phí cấp giấy phép xây dựng",
        1,
    ),
    Procedure(
        "1.001776",
        "Thực hiện, điều chỉnh, thôi hưởng trợ cấp xã hội hằng tháng",
        "LD01",
        20,
        3,
        0,
        "",
        3,
    ),
    Procedure("1.001739", "Hỗ trợ chi phí mai táng cho đối tượng bảo trợ xã hội", "LD01", 5, 3, 0, "", 1),
    Procedure("1.010805", "Giải quyết chế độ trợ cấp thờ cúng liệt sĩ", "LD02", 12, 3, 0, "", 1),
    Procedure("1.004442", "Chuyển trường đối với học sinh trung học cơ sở", "GD01", 3, 4, 0, "", 2),
    Procedure("2.000633", "Cấp Giấy phép bán lẻ sản phẩm rượu", "CT01", 10, 3, 400000, "Phí thẩm định", 1),
    Procedure(
        "2.000181",
        "Cấp Giấy phép bán lẻ sản phẩm thuốc lá",
        "CT01",
        10,
        3,
        400000,
        "Phí thẩm định",
        1,
    ),
    Procedure(
        "1.003348",
        "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm",
        "YT01",
        15,
        3,
        500000,
        "Phí thẩm định cơ sở",
        1,
    ),
    Procedure("2.001628", "Đăng ký tổ chức lễ hội", "VH01", 15, 3, 0, "", 1),
    Procedure(
        "1.000748",
        "Tặng Giấy khen của Chủ tịch UBND cấp huyện về thành tích thực hiện nhiệm vụ chính trị",
        "NV01",
        20,
        2,
        0,
        "",
        1,
    ),
    Procedure("1.005388", "Xác nhận hợp đồng tiếp cận nguồn nước phục vụ du lịch", "TN02", 10, 2, 0, "", 1),
    Procedure("2.000286", "Cấp lại Giấy chứng nhận đăng ký hộ kinh doanh", "KH01", 3, 4, 0, "", 1),
)


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(nfc(w) for w in text.split(sep))


FAMILY_NAMES = _words(
    "Nguyễn Nguyễn Nguyễn Nguyễn Trần Trần Lê Lê Phạm Phạm Hoàng Vũ Vũ Đặng Bùi Đỗ Hồ Ngô Dương Lý "
    "Đinh Phan Trịnh Mai Đoàn Lương Tạ Nhữ Hà Cao"
)
MIDDLE_MALE = _words("Văn Văn Văn Đức Hữu Minh Quang Công Thành Xuân Mạnh Tiến Ngọc")
MIDDLE_FEMALE = _words("Thị Thị Thị Thu Ngọc Thanh Minh Hồng Phương Thùy Kim")
GIVEN_MALE = _words(
    "Hùng Dũng Tuấn Nam Long Hải Quân Thắng Cường Khánh Huy Phong Sơn Trung Đạt Hiếu Tùng Việt Bình Lộc "
    "An Duy Hoàng Kiên Thịnh"
)
GIVEN_FEMALE = _words(
    "Lan Hương Hoa Mai Ngọc Trang Linh Hà Thảo Hằng Nga Yến Dung Huyền Nhung Phương Oanh Thủy Vân Anh "
    "Hạnh Loan Quỳnh Tâm Giang"
)
STREETS = _words(
    "phố Trần Hưng Đạo;đường Nguyễn Lương Bằng;phố Quang Trung;phố Chi Lăng;đường Thanh Niên;phố Bạch Đằng;"
    "đường Lê Thanh Nghị;phố Hồng Quang;phố Điện Biên Phủ;đường Nguyễn Văn Linh;phố Phạm Ngũ Lão;"
    "đường Trường Chinh",
    ";",
)
VILLAGES = _words(
    "Đông;Đoài;Trung;Thượng;Hạ;Nam;Bắc;An Lạc;Phú Lộc;Tân Hưng;Cao Xá;Lạc Dục;Phương Khê;Đồng Xá", ";"
)
BUSINESS_WORDS = _words("Thương mại;Dịch vụ;Xây dựng;Sản xuất;Vận tải", ";")
BUSINESS_NAMES = _words("Minh Phát;Hưng Thịnh;Thành Công;Phú Gia;An Khang;Đại Việt", ";")
PHONE_PREFIXES = _words(
    "032 033 034 035 036 037 038 039 052 056 058 070 076 077 078 079 081 082 083 084 085 086 088 089 "
    "090 091 093 094 096 097 098"
)
SUPPLEMENT_REASONS = tuple(
    nfc(s)
    for s in (
        "bản sao giấy tờ tùy thân chưa chứng thực",
        "thiếu bản vẽ hiện trạng",
        "tờ khai chưa ghi đủ thông tin",
        "thiếu giấy ủy quyền",
    )
)

# Vietnamese public holidays in the simulated years: no dossiers are received on them.
HOLIDAYS = frozenset(
    {
        "2025-01-01",
        *(f"2025-01-{d}" for d in range(25, 32)),
        "2025-02-01",
        "2025-02-02",
        "2025-04-07",
        "2025-04-30",
        "2025-05-01",
        "2025-05-02",
        "2025-09-01",
        "2025-09-02",
        "2026-01-01",
    }
)


@dataclass(frozen=True)
class Ward:
    code: str
    name: str
    kind: str  # "Phường", "Xã", "Thị trấn"


@dataclass(frozen=True)
class District:
    code: str
    name: str
    kind: str  # "Thành phố", "Thị xã", "Huyện"
    wards: tuple[Ward, ...]


def _dataset_path() -> Path:
    spec = importlib.util.find_spec("vietnamadminunits")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the vietnamadminunits package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "dataset.db"
    if not path.exists():
        raise RuntimeError(f"vietnamadminunits data file missing: {path}")
    return path


@cache
def province_districts() -> dict[str, District]:
    """Hải Dương's legacy districts and communes (real GSO codes), keyed by 3-digit district code."""
    conn = sqlite3.connect(f"file:{_dataset_path()}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT districtCode, district, districtType, wardCode, ward, wardType FROM admin_units_legacy"
            " WHERE provinceCode = ? ORDER BY districtCode, wardCode",
            (PROVINCE_CODE,),
        ).fetchall()
    finally:
        conn.close()
    grouped: dict[str, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(row[0], []).append(row)
    return {
        code: District(
            code,
            nfc(group[0][1]),
            nfc(group[0][2]),
            tuple(Ward(r[3], nfc(r[4]), nfc(r[5])) for r in group),
        )
        for code, group in grouped.items()
    }


def sector_department(sector: Sector, district: District) -> str:
    if sector.department:
        return sector.department
    return _URBAN_DEPT if district.kind in ("Thành phố", "Thị xã") else _RURAL_DEPT
