"""Sample records for the mapping specs and the benchmark: iGate records, and a minimal mapping + record."""

from __future__ import annotations

import copy
from typing import Any

_VENDOR_FLOW = (
    0,
    1,
    2,
    14,
    2,
    2,
    4,
    5,
)  # submitted, received, processing, payment, processing…, done, returned
_BASE: dict[str, Any] = {
    "id": "65f0a1b2c3d4e5f601234567",
    "code": "000.00.14.H23-250312-0118",
    "procedure": {"code": "1.000656.000.00.14.H23", "nationCode": "1.000656", "name": "Đăng ký khai sinh"},
    "sector": {"code": "G14-TP01", "name": "Hộ tịch"},
    "agency": {"code": "000.00.14.H23", "name": "UBND thành phố Hải Dương"},
    "applyMethod": {"id": 0},
    "serviceLevel": 3,
    "receivingKind": 1,
    "applicant": {
        "type": 1,
        "fullname": "Nguyễn Văn An",
        "identityType": "CCCD",
        "identityNumber": "030085001234",
        "birthday": "1985-03-02",
        "phone": "0912345678",
        "email": "an.nguyen@example.vn",
        "address": {
            "address": "Số 12 Trần Hưng Đạo",
            "ward": {"code": "10507", "name": "Phường Trần Hưng Đạo"},
            "district": {"code": "288", "name": "Thành phố Hải Dương"},
            "province": {"code": "30", "name": "Tỉnh Hải Dương"},
        },
    },
    "summary": "Đăng ký khai sinh cho con thứ hai",
    "appliedDate": "2025-03-12T07:50:00+07:00",
    "acceptedDate": "2025-03-12T08:15:00+07:00",
    "appointmentDate": "2025-03-17T17:00:00+07:00",
    "completedDate": "2025-03-14T10:30:00+07:00",
    "returnedDate": "2025-03-14T15:00:00+07:00",
    "dossierStatus": {"id": 5, "name": "Đã trả kết quả"},
    "updatedDate": "2025-03-14T15:00:05+07:00",
    "history": [
        {
            "status": status,
            "createdDate": f"2025-03-{12 + i // 3:02d}T{8 + i:02d}:15:00+07:00",
            "user": {"fullname": "Trần Thị Bình"},
            "position": "Công chức tư pháp - hộ tịch",
            "department": "Bộ phận tiếp nhận và trả kết quả",
            "content": f"Bước {i + 1}",
        }
        for i, status in enumerate(_VENDOR_FLOW)
    ],
    "attachments": [
        {
            "filename": "to-khai-khai-sinh.pdf",
            "formCode": "TP01",
            "url": "http://10.10.1.5/f/1",
            "size": 182044,
        },
        {"filename": "giay-chung-sinh.pdf", "formCode": "TP02", "url": "http://10.10.1.5/f/2", "size": 90112},
    ],
    "fees": [{"code": "LP01", "name": "Lệ phí đăng ký khai sinh", "amount": 50000, "method": 1, "type": 1}],
    "note": "Trả kết quả qua bưu điện",
}


def igate_record(**overrides: Any) -> dict[str, Any]:
    """A fresh, valid iGate record; keyword arguments replace top-level keys (None deletes the key)."""
    record = copy.deepcopy(_BASE)
    for key, value in overrides.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def igate_batch(n: int) -> list[dict[str, Any]]:
    """n distinct records (ids, codes and names vary, as in a real page of results)."""
    out = []
    for i in range(n):
        r = igate_record(id=f"{i:024x}", code=f"000.00.14.H23-250312-{i % 10000:04d}")
        r["applicant"]["fullname"] = f"Nguyễn Văn {chr(65 + i % 26)}"
        out.append(r)
    return out


# The smallest useful mapping: one rule for each field the dossier requires.
MINIMAL = """\
dialect: {name}
record: {{id: id, updated_at: updated}}
fields:
  ma_ho_so: code
  procedure_code: proc
  procedure_name: procName
  channel: {{const: 1}}
  status: {{const: 2}}
  applicant.name: name
  received_at: received
"""


def minimal_record(**extra: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": "r1",
        "updated": "2025-03-12T09:00:00+07:00",
        "code": "000.00.14.H23-250312-0001",
        "proc": "1.000656",
        "procName": "Đăng ký khai sinh",
        "name": "Nguyễn Văn An",
        "received": "2025-03-12T08:15:00+07:00",
    }
    record.update(extra)
    return record
