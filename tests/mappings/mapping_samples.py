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


# -- one valid record per shipped dialect (the same dossier as igate_record, as each vendor shows it) ----------
_HISTORY_SLUGS = {
    0: "submitted",
    1: "received",
    2: "processing",
    14: "need_payment",
    4: "done",
    5: "returned",
}
_ASPNET_STATUS = {
    0: "MOI_DANG_KY",
    1: "MOI_TIEP_NHAN",
    2: "DANG_XL",
    14: "CHO_NVTC",
    4: "DA_XL",
    5: "DA_TRAKQ",
}
_SOAP_STATUS = {0: "MN", 1: "TN", 2: "XL", 14: "NV", 4: "CK", 5: "DT"}


def aspnet_xml_record() -> dict[str, Any]:
    """A legacy ASP.NET <HoSo> as mappings.element_to_dict gives it: every leaf a string."""
    b, a = _BASE, _BASE["applicant"]
    return {
        "ID": "HS-118",
        "DocCode": b["code"],
        "MATTHC": b["procedure"]["code"],
        "TENTTHC": b["procedure"]["name"],
        "FieldCode": b["sector"]["code"],
        "FieldName": b["sector"]["name"],
        "AgencyCode": b["agency"]["code"],
        "AgencyName": b["agency"]["name"],
        "ServiceLevel": "3",
        "Channel": "2",
        "ReturnMethod": "BUU_DIEN",
        "ApplicantType": "Công dân",
        "ApplicantName": a["fullname"],
        "IdType": "CCCD",
        "IdNumber": a["identityNumber"],
        "BirthDate": "02/03/1985",
        "Phone": a["phone"],
        "Email": a["email"],
        "Address": "Số 12 Trần Hưng Đạo, Phường Trần Hưng Đạo, Thành phố Hải Dương, Tỉnh Hải Dương",
        "CommuneCode": "10507",
        "DistrictCode": "288",
        "ProvinceCode": "30",
        "Summary": b["summary"],
        "DateSubmitted": "12/03/2025 07:50",
        "DateReceived": "12/03/2025 08:15",
        "DateAppointed": "17/03/2025",
        "DateFinished": "14/03/2025 10:30",
        "DateReturned": "14/03/2025 15:00",
        "STATUS": "DA_TRAKQ",
        "Note": b["note"],
        "LastModified": "14/03/2025 15:00:05",
        "History": {
            "Step": [
                {
                    "STATUS": _ASPNET_STATUS[s["status"]],
                    "Time": f"{s['createdDate'][8:10]}/03/2025 {s['createdDate'][11:16]}",
                    "Actor": s["user"]["fullname"],
                    "Position": s["position"],
                    "Department": s["department"],
                    "Content": s["content"],
                }
                for s in b["history"]
            ]
        },
        "Files": {
            "File": [
                {
                    "FileName": f["filename"],
                    "FormCode": f["formCode"],
                    "Url": f["url"],
                    "Size": str(f["size"]),
                }
                for f in b["attachments"]
            ]
        },
        "Fees": {
            "Fee": {
                "FeeCode": "LP01",
                "FeeName": "Lệ phí đăng ký khai sinh",
                "Amount": "50.000",
                "PayMethod": "1",
                "FeeType": "1",
            }
        },
    }


def dvc_soap_record() -> dict[str, Any]:
    """A SOAP <HoSo> as mappings.element_to_dict gives it."""
    b, a = _BASE, _BASE["applicant"]
    return {
        "@Id": "hs-0118",
        "MaHoSo": b["code"],
        "MaHoSoLienThong": "DVCQG-250312-000118",
        "MaTTHC": b["procedure"]["code"],
        "TenTTHC": b["procedure"]["name"],
        "MaLinhVuc": b["sector"]["code"],
        "TenLinhVuc": b["sector"]["name"],
        "CoQuanTiepNhan": {"Ma": b["agency"]["code"], "Ten": b["agency"]["name"]},
        "KenhThucHien": "2",
        "HinhThucNhanKetQua": "2",
        "MucDo": "3",
        "ChuHoSo": {
            "HoTen": a["fullname"],
            "LoaiDoiTuong": "Công dân",
            "LoaiGiayTo": "1",
            "SoGiayTo": a["identityNumber"],
            "NgaySinh": a["birthday"],
            "SoDienThoai": a["phone"],
            "Email": a["email"],
            "DiaChi": {
                "ChiTiet": "Số 12 Trần Hưng Đạo, Phường Trần Hưng Đạo, Thành phố Hải Dương, Tỉnh Hải Dương",
                "MaXa": "10507",
                "MaHuyen": "288",
                "MaTinh": "30",
            },
        },
        "TrichYeu": b["summary"],
        "NgayNop": b["appliedDate"],
        "NgayTiepNhan": b["acceptedDate"],
        "NgayHenTra": b["appointmentDate"],
        "NgayKetThuc": b["completedDate"],
        "NgayTra": b["returnedDate"],
        "TrangThai": "DT",
        "NgayCapNhat": b["updatedDate"],
        "LichSuXuLy": {
            "BuocXuLy": [
                {
                    "TrangThai": _SOAP_STATUS[s["status"]],
                    "ThoiDiem": s["createdDate"],
                    "NguoiXuLy": s["user"]["fullname"],
                    "ChucVu": s["position"],
                    "PhongBan": s["department"],
                    "NoiDung": s["content"],
                }
                for s in b["history"]
            ]
        },
        "TaiLieuNop": {
            "TepTin": [
                {
                    "TenTep": f["filename"],
                    "MaThanhPhan": f["formCode"],
                    "DuongDan": f["url"],
                    "KichThuoc": str(f["size"]),
                }
                for f in b["attachments"]
            ]
        },
        "LePhi": {
            "Khoan": {
                "Ma": "LP01",
                "Ten": "Lệ phí đăng ký khai sinh",
                "SoTien": "50000",
                "HinhThucThu": "1",
                "Loai": "1",
            }
        },
        "GhiChu": b["note"],
    }


def lgsp_feed_record() -> dict[str, Any]:
    """An LGSP change-feed upsert event (JSON), the dossier under `record`, times in UTC."""
    b, a = _BASE, _BASE["applicant"]
    addr = a["address"]
    return {
        "seq": 118,
        "op": "upsert",
        "id": b["id"],
        "occurredAt": "2025-03-14T08:00:05Z",
        "record": {
            "Id": b["id"],
            "DocCode": b["code"],
            "ProcedureCode": b["procedure"]["nationCode"],
            "ProcedureLocalCode": b["procedure"]["code"],
            "ProcedureName": b["procedure"]["name"],
            "FieldCode": b["sector"]["code"],
            "FieldName": b["sector"]["name"],
            "AgencyCode": b["agency"]["code"],
            "AgencyName": b["agency"]["name"],
            "Channel": 2,
            "ServiceLevel": 3,
            "ReturnMethod": "post",
            "ApplicantType": "citizen",
            "ApplicantName": a["fullname"],
            "ApplicantIdType": "CCCD",
            "ApplicantIdNumber": a["identityNumber"],
            "ApplicantBirthDate": a["birthday"],
            "ApplicantPhone": a["phone"],
            "ApplicantEmail": a["email"],
            "ApplicantAddress": {
                "Street": addr["address"],
                "WardCode": addr["ward"]["code"],
                "WardName": addr["ward"]["name"],
                "DistrictCode": addr["district"]["code"],
                "DistrictName": addr["district"]["name"],
                "ProvinceCode": addr["province"]["code"],
                "ProvinceName": addr["province"]["name"],
            },
            "Summary": b["summary"],
            "DateSubmitted": "2025-03-12T00:50:00Z",
            "DateReceived": "2025-03-12T01:15:00Z",
            "DateAppointed": "2025-03-17T10:00:00Z",
            "DateFinished": "2025-03-14T03:30:00Z",
            "DateReturned": "2025-03-14T08:00:00Z",
            "Status": "returned",
            "LastModified": "2025-03-14T08:00:05Z",
            "Note": b["note"],
            "Steps": [
                {
                    "Status": _HISTORY_SLUGS[s["status"]],
                    "At": s["createdDate"],
                    "Actor": s["user"]["fullname"],
                    "Position": s["position"],
                    "Department": s["department"],
                    "Content": s["content"],
                }
                for s in b["history"]
            ],
            "Documents": [
                {
                    "FileName": f["filename"],
                    "FormCode": f["formCode"],
                    "Url": f["url"],
                    "SizeBytes": f["size"],
                }
                for f in b["attachments"]
            ],
            "Fees": [
                {
                    "FeeCode": "LP01",
                    "FeeName": "Lệ phí đăng ký khai sinh",
                    "Amount": 50000,
                    "PaymentMethod": 1,
                    "FeeType": 1,
                }
            ],
        },
    }


# A valid record of every mapping shipped in mappings/, by dialect.
SHIPPED: dict[str, Any] = {
    "igate": igate_record,
    "aspnet_xml": aspnet_xml_record,
    "dvc_soap": dvc_soap_record,
    "lgsp_feed": lgsp_feed_record,
}


def shipped_batch(dialect: str, n: int) -> list[dict[str, Any]]:
    """n distinct valid records of a shipped dialect (ids, codes and applicant names vary)."""
    if dialect == "igate":
        return igate_batch(n)
    base = SHIPPED[dialect]()
    out = []
    for i in range(n):
        r = copy.deepcopy(base)
        code, name = f"000.00.14.H23-250312-{i % 10000:04d}", f"Nguyễn Văn {chr(65 + i % 26)}"
        if dialect == "aspnet_xml":
            r["ID"], r["DocCode"], r["ApplicantName"] = f"HS-{i}", code, name
        elif dialect == "dvc_soap":
            r["@Id"], r["MaHoSo"], r["ChuHoSo"]["HoTen"] = f"hs-{i}", code, name
        else:
            r["id"] = r["record"]["Id"] = f"{i:024x}"
            r["record"]["DocCode"], r["record"]["ApplicantName"] = code, name
        out.append(r)
    return out


def put(mapping: Any, record: dict[str, Any], field: str, value: Any) -> None:
    """Write `value` where `mapping` reads canonical `field` from (its first path): `summary`, `applicant.name`,
    or the first item of a list, `history[0].content`. Missing objects on the way are created."""
    program = mapping._program  # the compiled rules by canonical field (mappings.runtime.Program)
    if "[" in field:
        list_field, rest = field.split("[", 1)
        index, item_field = int(rest.split("]")[0]), rest.split("].", 1)[1]
        compiled = program.by_target[list_field]
        items = _at(record, compiled.paths[0].steps)
        item = items[index] if isinstance(items, list) else items
        _set(item, compiled.items.by_target[item_field].paths[0].steps, value)
    else:
        _set(record, program.by_target[field].paths[0].steps, value)


def _at(node: Any, steps: tuple[Any, ...]) -> Any:
    for step in steps:
        node = node[step]
    return node


def _set(node: dict[str, Any], steps: tuple[Any, ...], value: Any) -> None:
    for step in steps[:-1]:
        node = node.setdefault(step, {})
    node[steps[-1]] = value
