"""An iGate dossier's vendor record (what the district system's API returns): the content drawn per dossier
(applicant, files, fees, the officers in its history) laid over the timeline igate_data computes, in the
vendor's status codes; a spoiled dossier carries its defect in every state.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from onestop.simulators import igate_catalog as cat
from onestop.simulators.igate_calendar import CLOSE_AT, DAY, OFFSET, TZ, add_working_days

VENDOR_STATUS_TO_CANONICAL: dict[int, int] = {0: 1, 1: 2, 12: 3, 2: 4, 3: 5, 14: 6, 6: 7, 7: 8, 4: 9, 5: 10}
CANONICAL_TO_VENDOR: dict[int, int] = {c: v for v, c in VENDOR_STATUS_TO_CANONICAL.items()}
VENDOR_STATUS_NAMES: dict[int, str] = {
    0: "Chờ tiếp nhận",
    1: "Đã tiếp nhận",
    12: "Từ chối tiếp nhận",
    2: "Đang xử lý",
    3: "Chờ bổ sung",
    14: "Chờ thực hiện nghĩa vụ tài chính",
    6: "Công dân rút hồ sơ",
    7: "Dừng xử lý",
    4: "Có kết quả",
    5: "Đã trả kết quả",
}
UNKNOWN_VENDOR_STATUS = 99
HOSTILE_NAMES = ("<script>alert(1)</script>", '"><img src=x onerror=alert(2)>')

_CONTENT = {
    1: "Công dân nộp hồ sơ trực tuyến",
    2: "Tiếp nhận hồ sơ, chuyển phòng chuyên môn",
    3: "Từ chối tiếp nhận: hồ sơ không thuộc thẩm quyền giải quyết",
    4: "Thẩm định, xử lý hồ sơ",
    5: "Yêu cầu bổ sung: {reason}",
    6: "Đề nghị công dân thực hiện nghĩa vụ tài chính",
    7: "Công dân đề nghị rút hồ sơ",
    8: "Dừng xử lý do hồ sơ không đủ điều kiện",
    9: "Đã có kết quả giải quyết, chuyển bộ phận một cửa",
    10: "Đã trả kết quả cho công dân",
}

# (receipt, event times, canonical statuses, bad reason, procedure index, apply method): DossierGenerator._timeline
Timeline = tuple[int, list[int], list[int], str | None, int, int]


class RecordWriter:
    """Writes the records of one simulated system. Pure: safe to call from any thread."""

    def __init__(
        self,
        *,
        seed: int,
        district: cat.District,
        other_districts: tuple[cat.District, ...],
        agency_code: str,
        file_machine: str,
        hostile_rate: float,
        iso: Callable[[int], str],
    ) -> None:
        self.seed = seed
        self.district = district
        self.other_districts = other_districts
        self.agency_code = agency_code
        self.agency_name = f"UBND {district.name}"
        self.hostile_rate = hostile_rate
        self.iso = iso  # the generator's (its memo is shared)
        self._sector_prefix = f"G{agency_code.split('.')[2]}"
        self._file_machine = file_machine
        r = random.Random(f"{seed}:staff:{agency_code}")
        self._staff = [self._person(r)[0] for _ in range(9)]

    @staticmethod
    def _person(r: random.Random) -> tuple[str, bool]:
        male = r.random() < 0.5
        family = cat.FAMILY_NAMES[int(r.random() * len(cat.FAMILY_NAMES))]
        middles = cat.MIDDLE_MALE if male else cat.MIDDLE_FEMALE
        givens = cat.GIVEN_MALE if male else cat.GIVEN_FEMALE
        middle = middles[int(r.random() * len(middles))]
        given = givens[int(r.random() * len(givens))]
        return f"{family} {middle} {given}", male

    def _applicant(self, r: random.Random, sector: str, t0: int) -> dict[str, Any]:
        u_type = r.random()
        if sector in ("KH01", "CT01", "YT01", "XD01") and u_type < 0.3:
            kind = 2
        elif u_type > 0.99:
            kind = 3
        elif u_type > 0.98:
            kind = 4
        else:
            kind = 1
        fullname, male = self._person(r)
        family_ascii = cat.ascii_fold(fullname.split()[0]).lower()
        given_ascii = cat.ascii_fold(fullname.split()[-1]).lower()
        receipt_year = int(self.iso(t0)[:4])
        year = receipt_year - 18 - int(r.random() * 62)
        birthday = f"{year}-{1 + int(r.random() * 12):02d}-{1 + int(r.random() * 28):02d}"
        serial = int(r.random() * 1_000_000)
        if year < 1990 and r.random() < 0.08:
            id_type, id_number = "CMND", f"142{serial:06d}"
        else:
            century_sex = (0 if year < 2000 else 2) + (0 if male else 1)
            id_type, id_number = "CCCD", f"030{century_sex}{year % 100:02d}{serial:06d}"
        prefix = cat.PHONE_PREFIXES[int(r.random() * len(cat.PHONE_PREFIXES))]
        phone = f"{prefix}{int(r.random() * 10_000_000):07d}"
        has_email = r.random() < 0.7
        district = self.district
        if r.random() < 0.1:
            district = self.other_districts[int(r.random() * len(self.other_districts))]
        else:
            r.random()  # keep the stream aligned
        ward = district.wards[int(r.random() * len(district.wards))]
        number = 1 + int(r.random() * 250)
        if ward.kind == "Phường":
            street = f"Số {number}, {cat.STREETS[int(r.random() * len(cat.STREETS))]}"
        else:
            street = f"Thôn {cat.VILLAGES[int(r.random() * len(cat.VILLAGES))]}"
        if kind == 2:
            word = cat.BUSINESS_WORDS[number % len(cat.BUSINESS_WORDS)]
            fullname = f"Công ty TNHH {word} {cat.BUSINESS_NAMES[serial % len(cat.BUSINESS_NAMES)]}"
        elif kind == 3:
            fullname = f"Trường Tiểu học {ward.name.split(' ', 1)[1]}"
        elif kind == 4:
            fullname = f"Hợp tác xã Nông nghiệp {ward.name.split(' ', 1)[1]}"
        if kind == 1 and serial % 10_000 < self.hostile_rate * 10_000:
            fullname = HOSTILE_NAMES[serial % len(HOSTILE_NAMES)]
        applicant: dict[str, Any] = {
            "type": kind,
            "fullname": fullname,
            "identityType": id_type,
            "identityNumber": id_number,
            "birthday": birthday,
            "phone": phone,
        }
        if has_email:
            applicant["email"] = f"{given_ascii}.{family_ascii}{year % 100:02d}@gmail.com"
        applicant["address"] = {
            "address": street,
            "ward": {"code": ward.code, "name": ward.name},
            "district": {"code": district.code, "name": district.name},
            "province": {"code": cat.PROVINCE_CODE, "name": cat.PROVINCE_NAME},
        }
        return applicant

    def record(self, i: int, dossier_id: str, code: str, timeline: Timeline, clock: int) -> dict[str, Any]:
        """Dossier i's record as the system shows it at clock (at or after its receipt)."""
        t0, times, statuses, bad, p, method = timeline
        r = random.Random(f"{self.seed}:{i}")  # content: independent of the timeline's draws
        vis = bisect.bisect_right(times, clock)
        proc = cat.PROCEDURES[p]
        sector = cat.SECTORS[proc.sector]
        department = cat.sector_department(sector, self.district)
        applicant = self._applicant(r, proc.sector, t0)
        receiving_kind = 1 if r.random() < (0.7 if method == 2 else 0.1) else 0
        n_files = 1 + int(r.random() * len(sector.forms))
        sizes = [40_000 + int(r.random() * 900_000) for _ in range(n_files)]
        reason = cat.SUPPLEMENT_REASONS[int(r.random() * len(cat.SUPPLEMENT_REASONS))]

        cur = statuses[vis - 1]
        updated = times[vis - 1]
        accepted = next((times[k] for k in range(vis) if statuses[k] not in (1, 3, 7)), None)
        rec: dict[str, Any] = {
            "id": dossier_id,
            "code": code,
            "procedure": {
                "code": f"{proc.nation_code}.{self.agency_code}",
                "nationCode": proc.nation_code,
                "name": proc.name,
            },
            "sector": {"code": f"{self._sector_prefix}-{sector.suffix}", "name": sector.name},
            "agency": {"code": self.agency_code, "name": self.agency_name},
            "applyMethod": {"id": method},
            "serviceLevel": proc.level,
            "receivingKind": receiving_kind,
            "applicant": applicant,
            "summary": f"{proc.name} - {applicant['fullname']}",
            "appliedDate": self.iso(t0),
        }
        if accepted is not None:
            rec["acceptedDate"] = self.iso(accepted)
            rec["appointmentDate"] = self.iso(self._appointment(accepted, proc.days))
        if cur in (9, 10):
            done = times[vis - 2] if cur == 10 and statuses[vis - 2] == 9 else updated
            rec["completedDate"] = self.iso(done)
        if cur == 10:
            rec["returnedDate"] = self.iso(updated)
        if cur in (3, 7, 8):
            rec["cancelledDate"] = self.iso(updated)
        vendor = CANONICAL_TO_VENDOR[cur]
        rec["dossierStatus"] = {"id": vendor, "name": VENDOR_STATUS_NAMES[vendor]}
        rec["updatedDate"] = self.iso(updated)
        rec["history"] = [
            self._event(i, k, statuses, times, applicant["fullname"], department, reason, receiving_kind)
            for k in range(vis)
        ]
        rec["attachments"] = [
            {
                "filename": filename,
                "formCode": form,
                "url": f"http://igate.local/files/{t0 + k:08x}{self._file_machine}{(i * 8 + k) & 0xFFFFFF:06x}",
                "size": sizes[k],
            }
            for k, (form, filename) in enumerate(sector.forms[:n_files])
        ]
        rec["fees"] = (
            [
                {
                    "code": "LP01",
                    "name": proc.fee_name,
                    "amount": proc.fee,
                    "method": 2 if method == 1 else 1,
                    "type": 1,
                }
            ]
            if proc.fee
            else []
        )
        if method == 2:
            rec["note"] = "Hồ sơ nộp qua dịch vụ bưu chính công ích"
        elif receiving_kind == 1:
            rec["note"] = "Công dân đề nghị trả kết quả qua bưu điện"
        if bad is not None:
            self._spoil(rec, bad, t0)
        return rec

    def _appointment(self, accepted: int, days: int) -> int:
        if days > 0:
            return add_working_days(accepted, days)
        d, s = divmod(accepted + OFFSET, DAY)  # same-day procedures: today 17:00, or tomorrow if late
        due = d * DAY + CLOSE_AT - OFFSET
        return due if s < 16 * 3600 else add_working_days(due, 1)

    def _event(
        self,
        i: int,
        k: int,
        statuses: list[int],
        times: list[int],
        applicant: str,
        department: str,
        reason: str,
        receiving_kind: int,
    ) -> dict[str, Any]:
        s = statuses[k]
        content = _CONTENT[s]
        if s == 1:
            user, position, dept = applicant, "Công dân", "Cổng dịch vụ công"
        elif s in (2, 3, 10):
            user, position, dept = self._staff[i % 3], "Chuyên viên", "Bộ phận một cửa"
        elif s == 9:
            user, position, dept = self._staff[7 + i % 2], "Phó Chủ tịch UBND", "Lãnh đạo UBND"
        else:
            user, position, dept = self._staff[3 + (i + k) % 4], "Chuyên viên", department
        if s == 5:
            content = content.format(reason=reason)
        elif s == 4 and k > 0 and statuses[k - 1] in (5, 6):
            content = "Công dân đã bổ sung, tiếp tục xử lý"
        elif s == 4 and k > 0 and statuses[k - 1] == 10:
            content = "Hủy trả kết quả, xử lý lại hồ sơ"
        elif s == 10 and receiving_kind == 1:
            content = "Đã trả kết quả qua dịch vụ bưu chính công ích"
        return {
            "status": CANONICAL_TO_VENDOR[s],
            "createdDate": self.iso(times[k]),
            "user": {"fullname": user},
            "position": position,
            "department": dept,
            "content": content,
        }

    @staticmethod
    def _spoil(rec: dict[str, Any], bad: str, t0: int) -> None:
        """The same defect in every state, so a dossier is bad for good (the truth endpoint says why)."""
        if bad == "missing_code":
            del rec["code"]
        elif bad == "missing_nationCode":
            del rec["procedure"]["nationCode"]
        elif bad == "impossible_date":
            year = datetime.fromtimestamp(t0, TZ).year
            rec["acceptedDate"] = f"{year}-02-30T08:00:00+07:00"
        else:
            rec["dossierStatus"] = {"id": UNKNOWN_VENDOR_STATUS, "name": "Không xác định"}
