"""The portal's checks on incoming dossier and progress records (DOMAIN.md §2), and its error codes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

OK = 0
ERR_LOGIN = "-1"
ERR_SESSION = "-2"
ERR_EXISTS = "3"
ERR_NOT_FOUND = "-4"
ERR_INVALID = "-5"
ERR_BATCH = "-6"  # data missing, not a list, too long, or a bad isUpdating
ERR_UNIT = "-7"  # madonvi missing
ERR_JSON = "-8"
ERR_SERVICE = "-9"

MESSAGES = {
    OK: "Thành công",
    ERR_LOGIN: "Sai tên đăng nhập hoặc mật khẩu",
    ERR_SESSION: "Phiên làm việc hết hạn",
    ERR_EXISTS: "Hồ sơ đã tồn tại",
    ERR_NOT_FOUND: "Hồ sơ không tồn tại",
    ERR_UNIT: "Thiếu mã đơn vị (madonvi)",
    ERR_JSON: "Dữ liệu JSON không hợp lệ",
    ERR_SERVICE: "Dịch vụ không được hỗ trợ",
}

MAX_BATCH = 500
MAX_SUMMARY = 1000
_NATIONAL_CODE = re.compile(r"^\d\.\d{6}$")
_STAMP = re.compile(r"^\d{14}$")


def _text(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _code_in(value: Any, low: int, high: int) -> bool:
    """An int, or a string of digits, within [low, high] (sources send both)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return isinstance(value, int) and low <= value <= high


def code_value(value: Any) -> int | None:
    return int(value) if _code_in(value, -(10**9), 10**9) else None


def valid_stamp(value: Any) -> bool:
    """`yyyyMMddHHmmss` naming a real moment (20250230… is refused)."""
    if not isinstance(value, str) or not _STAMP.match(value):
        return False
    try:
        datetime(
            int(value[:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[8:10]),
            int(value[10:12]),
            int(value[12:]),
        )
    except ValueError:
        return False
    return True


def _absent(value: Any) -> bool:
    return value is None or value == ""


def _date_problems(record: dict[str, Any], prefix: str = "") -> list[str]:
    problems = []
    for key, value in record.items():
        if key.startswith("Ngay") and not _absent(value) and not valid_stamp(value):
            problems.append(f"{prefix}{key} (không đúng định dạng yyyyMMddHHmmss)")
        elif isinstance(value, list) and not prefix:
            for j, item in enumerate(value):
                if isinstance(item, dict):
                    problems.extend(_date_problems(item, f"{key}[{j}]."))
    return problems


def dossier_problems(record: Any) -> list[str]:
    """Each failing field of a DongBoHoSoMC record, named; empty if the record is acceptable."""
    if not isinstance(record, dict):
        return ["(bản ghi không phải đối tượng JSON)"]
    problems = []
    for key in ("MaHoSo", "TenTTHC", "ChuHoSo"):
        if not _text(record.get(key)):
            problems.append(f"{key} (bắt buộc)")
    ma_tthc = record.get("MaTTHC")
    if not _text(ma_tthc):
        problems.append("MaTTHC (bắt buộc)")
    elif not _NATIONAL_CODE.match(ma_tthc):
        problems.append("MaTTHC (phải có dạng d.dddddd)")
    for key, high in (("TrangThaiHoSo", 10), ("KenhThucHien", 3)):
        value = record.get(key)
        if _absent(value):
            problems.append(f"{key} (bắt buộc)")
        elif not _code_in(value, 1, high):
            problems.append(f"{key} (phải trong khoảng 1-{high})")
    if _absent(record.get("NgayTiepNhan")) and _absent(record.get("NgayNopHoSo")):
        problems.append("NgayTiepNhan/NgayNopHoSo (bắt buộc một trong hai)")
    summary = record.get("TrichYeuHoSo")
    if summary is not None and not isinstance(summary, str):
        problems.append("TrichYeuHoSo (phải là chuỗi)")
    elif summary is not None and len(summary) > MAX_SUMMARY:
        problems.append(f"TrichYeuHoSo (dài quá {MAX_SUMMARY} ký tự)")
    problems.extend(_date_problems(record))
    return problems


def progress_problems(record: Any) -> list[str]:
    """Each failing field of a CapNhatTienDoHoSoMC record: MaHoSo, ThoiDiemXuLy, TrangThai are required."""
    if not isinstance(record, dict):
        return ["(bản ghi không phải đối tượng JSON)"]
    problems = []
    if not _text(record.get("MaHoSo")):
        problems.append("MaHoSo (bắt buộc)")
    if _absent(record.get("ThoiDiemXuLy")):
        problems.append("ThoiDiemXuLy (bắt buộc)")
    elif not valid_stamp(record["ThoiDiemXuLy"]):
        problems.append("ThoiDiemXuLy (không đúng định dạng yyyyMMddHHmmss)")
    status = record.get("TrangThai")
    if _absent(status):
        problems.append("TrangThai (bắt buộc)")
    elif not _code_in(status, 1, 10):
        problems.append("TrangThai (phải trong khoảng 1-10)")
    problems.extend(_date_problems(record))
    return problems


def invalid_message(problems: list[str]) -> str:
    return "Dữ liệu không hợp lệ: " + "; ".join(problems)
