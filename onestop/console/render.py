"""What the console's pages show, as plain values: Vietnamese labels, Hanoi times, masked payloads, an SVG chart.

Kept apart from the routes so that the CLI and tests can use the same wording.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from lxml import etree

from onestop.trace import local_time
from schemas.codes import DossierStatus
from schemas.dossier import HCM
from schemas.jsontext import loads
from schemas.personal_data import mask_data, mask_text

TZ = HCM

KIND_LABELS = {
    "quarantine": "Cách ly (lỗi dữ liệu)",
    "delivery": "Gửi Cổng DVC lỗi",
    "conflict": "Trùng mã hồ sơ",
    "task": "Tác vụ Airflow lỗi",
    "refused": "Trang dữ liệu bị từ chối",
}
STATE_LABELS = {
    "open": "Chưa xử lý",
    "resolved": "Đã xử lý",
    "redriven": "Đã chạy lại",
    "superseded": "Đã thay thế",
    "failed": "Lỗi, sẽ thử lại",
    "dead": "Lỗi, hết lượt thử",
    "delivered": "Đã gửi thành công",
    "pending": "Chờ gửi",
    "sent": "Đã gửi, chờ trả lời",
    "queued": "Chờ gửi Cổng DVC",
    "loaded": "Đã nạp vào CSDL",
    "quarantined": "Bị cách ly",
    "conflict": "Trùng mã hồ sơ",
    "deleted": "Đã xoá tại nguồn",
    "delivery_failed": "Gửi Cổng DVC lỗi",
    "skipped": "Đã bỏ qua",
    "cleared": "Đã đọc được ở lần chạy sau",
}
ERROR_CLASS_LABELS = {
    "MissingField": "Thiếu trường bắt buộc",
    "InvalidDate": "Ngày giờ không hợp lệ",
    "UnknownCode": "Mã không có trong danh mục",
    "InvalidValue": "Giá trị không hợp lệ",
    "DuplicateMaHoSo": "Mã hồ sơ đã có ở nguồn khác",
    "PortalError": "Cổng DVC từ chối",
    "TransientError": "Nguồn hoặc Cổng DVC tạm thời không trả lời",
    "AuthError": "Sai thông tin đăng nhập",
    "CircuitOpen": "Ngắt mạch: tạm ngừng gọi hệ thống lỗi",
    "RefusedAnswer": "Trang trả về không đọc được (không phải JSON/XML, DTD, SOAP Fault…)",
    "ProtocolError": "Hệ thống nguồn trả lời sai giao thức",
}
BREAKER_LABELS = {"closed": "Bình thường", "open": "Ngắt (nguồn lỗi)", "half_open": "Đang thử lại"}
LEVEL_LABELS = {"ok": "Tốt", "warning": "Cảnh báo", "critical": "Nghiêm trọng"}


def when(value: datetime | None) -> str:
    """dd/MM/yyyy HH:mm in Asia/Ho_Chi_Minh."""
    return local_time(value) if value else "—"


def day(value: date) -> str:
    return value.strftime("%d/%m")


def ago(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} phút"
    if minutes < 48 * 60:
        return f"{minutes // 60} giờ {minutes % 60:02d} phút"
    return f"{minutes // 1440} ngày"


def status_label(code: int | None) -> str:
    try:
        return DossierStatus(code).label if code is not None else "—"
    except ValueError:
        return str(code)


def error_class_label(name: str) -> str:
    return ERROR_CLASS_LABELS.get(name, name)


def pretty_payload(payload: str, content_type: str) -> str:
    """A raw record indented for reading, personal data masked. Never fails: unreadable text is shown masked."""
    try:
        if "xml" in content_type:
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
            root = etree.fromstring(payload.encode(), parser)
            return mask_text(etree.tostring(root, pretty_print=True, encoding="unicode"))
        return json.dumps(mask_data(loads(payload)), ensure_ascii=False, indent=2)
    except (ValueError, etree.XMLSyntaxError):
        return mask_text(payload)
