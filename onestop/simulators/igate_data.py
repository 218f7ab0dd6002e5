"""Deterministic iGate-style dossiers, computed on demand from (seed, index).

Nothing is materialized: receipt times come from a small per-day table (monotonic in the index, so a time
window maps to a contiguous index range) and everything else from `random.Random(f"{seed}:{index}")`.
A dossier's whole history lies within EVENT_WINDOW after its receipt; the simulated clock only decides how
much of it is visible.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from onestop.simulators import igate_catalog as cat

TZ = timezone(timedelta(hours=7))
OFFSET = 7 * 3600  # Asia/Ho_Chi_Minh has no DST
DAY = 86400
EVENT_WINDOW = 60 * DAY
MAX_EVENTS = 15
MAX_COUNT = 1 << 24  # the index is the low 24 bits of the ObjectId-like id
OPEN_AT = 7 * 3600 + 1800  # the desk opens 07:30
CLOSE_AT = 17 * 3600

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
BAD_REASONS = ("missing_code", "missing_nationCode", "impossible_date", "unknown_status")
FINAL = frozenset({3, 7, 8, 10})
BACKWARD_SHARE = 0.025  # of all dossiers; ~80% of them reach 10, so ~2% actually move 10→4

# canonical status -> ((next, probability, min hours, max hours), ...); skips included (1→4, 2→9, 4→10).
_MOVES: dict[int, tuple[tuple[int, float, float, float], ...]] = {
    1: ((2, 0.88, 0.2, 30), (3, 0.05, 1, 30), (7, 0.05, 2, 72), (4, 0.02, 1, 30)),
    2: ((4, 0.85, 0.1, 24), (5, 0.04, 2, 48), (6, 0.03, 2, 48), (7, 0.02, 24, 240), (8, 0.02, 24, 240), (9, 0.04, 0, 0)),
    4: ((9, 0.80, 0, 0), (5, 0.08, 24, 120), (6, 0.05, 24, 120), (7, 0.015, 24, 240), (8, 0.015, 24, 240), (10, 0.04, 0, 0)),
    5: ((4, 0.85, 24, 240), (7, 0.10, 48, 360), (8, 0.05, 48, 360)),
    6: ((4, 0.90, 24, 120), (7, 0.06, 48, 240), (8, 0.04, 48, 240)),
    9: ((10, 1.0, 2, 168),),
}  # fmt: skip
_CUM_MOVES = {
    s: tuple((nxt, sum(m[1] for m in moves[: k + 1]), lo, hi) for k, (nxt, _, lo, hi) in enumerate(moves))
    for s, moves in _MOVES.items()
}

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


def parse_iso(text: str) -> float:
    """ISO 8601 to epoch seconds; no offset means +07:00. Tolerates a '+' decoded to ' ' in a query."""
    text = text.strip()
    if len(text) > 19 and text[-6] == " " and text[-5:-3].isdigit():
        text = text[:-6] + "+" + text[-5:]
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=TZ)
    return parsed.timestamp()


def _working(t: int) -> int:
    """The first moment at or after t inside office hours (weekends skipped; holidays ignored here)."""
    d, s = divmod(t + OFFSET, DAY)
    if s < OPEN_AT:
        s = OPEN_AT + s % 1800
    elif s > CLOSE_AT + 1800:
        d += 1
        s = OPEN_AT + s % 3600
    weekday = (d + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    if weekday >= 5:
        d += 7 - weekday
    return d * DAY + s - OFFSET


def _add_working_days(t: int, n: int) -> int:
    d, s = divmod(t + OFFSET, DAY)
    while n > 0:
        d += 1
        if (d + 3) % 7 < 5:
            n -= 1
    return d * DAY + s - OFFSET


def _apply_method(level: int, u: float) -> int:
    """Vendor applyMethod (0 in person, 1 online, 2 postal); online needs a level 3/4 service."""
    if level >= 3:
        return 1 if u < 0.45 else (2 if u >= 0.95 else 0)
    return 2 if u >= 0.93 else 0


def agency_code_for(district: str) -> str:
    """`000.00.NN.H23` with NN = district code - 274 (288 Thành phố Hải Dương -> 14); configurable."""
    return f"000.00.{int(district) - 274:02d}.H23"


@dataclass(frozen=True)
class GeneratorConfig:
    seed: int = 42
    count: int = 2000
    district: str = "288"
    agency_code: str = ""  # "" = agency_code_for(district)
    start: date = date(2025, 1, 2)
    span_days: int = 168  # receipts fall on working days in [start, start + span_days)
    bad_rate: float = 0.01
    # Share of citizens whose name is markup (a district system that stores whatever was typed): what the
    # console must show as text. Off by default; `make ui` turns it on.
    hostile_rate: float = 0.0


class DossierGenerator:
    """Computes record i as visible at a clock (epoch seconds). Pure: safe to call from any thread."""

    def __init__(self, config: GeneratorConfig) -> None:
        if not 0 <= config.count <= MAX_COUNT:
            raise ValueError(f"count must be between 0 and {MAX_COUNT}")
        districts = cat.province_districts()
        if config.district not in districts:
            raise ValueError(f"unknown Hải Dương district {config.district!r}; known: {', '.join(districts)}")
        self.config = config
        self.seed = config.seed
        self.count = config.count
        self.district = districts[config.district]
        self.other_districts = tuple(d for code, d in districts.items() if code != config.district)
        self.agency_code = config.agency_code or agency_code_for(config.district)
        self.agency_name = f"UBND {self.district.name}"
        self._sector_prefix = f"G{self.agency_code.split('.')[2]}"
        digest = hashlib.blake2b(f"{config.seed}:{self.agency_code}".encode(), digest_size=5).digest()
        self._machine = f"{int.from_bytes(digest, 'big'):010x}"
        self._file_machine = f"{int.from_bytes(digest, 'big') ^ 0xFF:010x}"
        self._proc_cum = []
        total = 0
        for proc in cat.PROCEDURES:
            total += proc.weight
            self._proc_cum.append(total)
        self._proc_total = total
        self._day_iso: dict[int, str] = {}
        self._tod_iso: dict[int, str] = {}
        self._bad_phase = random.Random(f"{config.seed}:bad").random()
        self._build_days(config)
        self._build_staff()

    # --- receipt times -------------------------------------------------------------------------------

    def _build_days(self, config: GeneratorConfig) -> None:
        days = []
        for k in range(config.span_days):
            day = config.start + timedelta(days=k)
            if day.weekday() < 5 and day.isoformat() not in cat.HOLIDAYS:
                days.append(day)
        if not days:
            raise ValueError("the receipt span holds no working day")
        weights = []
        for day in days:
            w = 0.7 + 0.6 * random.Random(f"{config.seed}:day:{day.isoformat()}").random()
            weights.append(w * (1.25 if day.weekday() == 0 else 1.0))  # Mondays are busier
        total = sum(weights)
        cum, acc = [0], 0.0
        for w in weights:
            acc += w
            cum.append(round(config.count * acc / total))
        cum[-1] = config.count
        self._cum = cum
        epoch = date(1970, 1, 1)
        self._day_start = [(day - epoch).days * DAY - OFFSET for day in days]
        self._day_code = [day.strftime("%y%m%d") for day in days]

    def _receipt(self, i: int) -> tuple[int, int, int]:
        """(receipt time, working-day number, position within the day); non-decreasing in i."""
        k = bisect.bisect_right(self._cum, i) - 1
        first = self._cum[k]
        n = self._cum[k + 1] - first
        pos = i - first
        jitter = ((i * 2654435761 + self.seed * 40503) & 0xFFFF) / 65536
        return self._day_start[k] + OPEN_AT + int((pos + jitter) * (CLOSE_AT - OPEN_AT) / n), k, pos

    def receipt_time(self, i: int) -> int:
        return self._receipt(i)[0]

    def first_index_at_or_after(self, t: float) -> int:
        return bisect.bisect_left(range(self.count), t, key=self.receipt_time)

    def first_index_after(self, t: float) -> int:
        return bisect.bisect_right(range(self.count), t, key=self.receipt_time)

    def dossier_id(self, i: int, t0: int | None = None) -> str:
        """MongoDB-ObjectId-like: receipt time, a per-system constant, the index; sorts like the index."""
        if t0 is None:
            t0 = self.receipt_time(i)
        return f"{t0:08x}{self._machine}{i & 0xFFFFFF:06x}"

    def code(self, i: int) -> str:
        _, k, pos = self._receipt(i)
        return f"{self.agency_code}-{self._day_code[k]}-{pos + 1:04d}"

    # --- the history -----------------------------------------------------------------------------------

    def _timeline(self, i: int) -> tuple[int, list[int], list[int], str | None, int, int]:
        """(receipt, event times, canonical statuses, bad reason, procedure index, apply method).

        Hot path of window scans, so it draws 16-bit numbers from one 512-bit hash (32 draws: 4 up front,
        2 per move, at most 14 moves) instead of seeding a Mersenne Twister.
        """
        h = int.from_bytes(hashlib.blake2b(b"%d:%d" % (self.seed, i), digest_size=64).digest(), "little")
        # A Weyl sequence rather than a coin flip: every stretch of indices holds close to bad_rate bad ones.
        u_bad = ((i + 1) * 0.6180339887498949 + self._bad_phase) % 1.0
        bad = BAD_REASONS[(h & 0xFFFF) * len(BAD_REASONS) >> 16] if u_bad < self.config.bad_rate else None
        p = bisect.bisect_right(self._proc_cum, ((h >> 16) & 0xFFFF) * self._proc_total / 65536)
        proc = cat.PROCEDURES[p]
        method = _apply_method(proc.level, ((h >> 32) & 0xFFFF) / 65536)
        backward = ((h >> 48) & 0xFFFF) < BACKWARD_SHARE * 65536
        h >>= 64
        t = t0 = self._receipt(i)[0]
        s = 1 if method == 1 else 2
        times, statuses = [t0], [s]
        limit = t0 + EVENT_WINDOW
        went_back = False
        while len(times) < MAX_EVENTS:
            if s == 10:
                if not backward or went_back:
                    break
                nxt, lo, hi, went_back = 4, 24.0, 120.0, True
            elif s in FINAL:
                break
            else:
                u = (h & 0xFFFF) / 65536
                for nxt, cum, lo, hi in _CUM_MOVES[s]:  # noqa: B007 - the loop picks the move
                    if u < cum:
                        break
                if hi == 0:  # result (or return) after processing: scales with the procedure's time limit
                    base = max(proc.days, 0.25) * 24 * 1.4
                    lo, hi = 0.15 * base, 1.15 * base
            t = _working(t + int(3600 * (lo + (hi - lo) * ((h >> 16) & 0xFFFF) / 65536)) + 60)
            h >>= 32
            if t > limit:
                break  # stuck: the rest would lie outside the window (an overdue dossier)
            times.append(t)
            statuses.append(nxt)
            s = nxt
        return t0, times, statuses, bad, p, method

    def updated_at(self, i: int, clock: int) -> int | None:
        """Time of the last event visible at clock; None if not yet received."""
        times = self._timeline(i)[1]
        if times[0] > clock:
            return None
        return times[bisect.bisect_right(times, clock) - 1]

    def truth(self, i: int, clock: int) -> dict[str, Any] | None:
        t0, times, statuses, bad, *_ = self._timeline(i)
        if t0 > clock:
            return None
        last = bisect.bisect_right(times, clock) - 1
        return {
            "id": self.dossier_id(i, t0),
            "code": self.code(i),
            "updatedDate": self.iso(times[last]),
            "status": statuses[last],
            "bad": bad,
        }

    # --- the record ------------------------------------------------------------------------------------

    def _build_staff(self) -> None:
        r = random.Random(f"{self.seed}:staff:{self.agency_code}")
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

    def iso(self, t: int) -> str:
        """ISO 8601 with +07:00; day and time-of-day parts are memoized (both sets are small and bounded)."""
        d, s = divmod(t + OFFSET, DAY)
        day = self._day_iso.get(d)
        if day is None:
            day = self._day_iso[d] = (date(1970, 1, 1) + timedelta(days=d)).isoformat() + "T"
        tod = self._tod_iso.get(s)
        if tod is None:
            h, rem = divmod(s, 3600)
            tod = self._tod_iso[s] = f"{h:02d}:{rem // 60:02d}:{rem % 60:02d}+07:00"
        return day + tod

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
        if kind == 1 and serial % 10_000 < self.config.hostile_rate * 10_000:
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

    def record(self, i: int, clock: int) -> dict[str, Any] | None:
        """The vendor record as the system shows it at clock; None if not yet received."""
        t0, times, statuses, bad, p, method = self._timeline(i)
        if t0 > clock:
            return None
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
            "id": self.dossier_id(i, t0),
            "code": self.code(i),
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
            return _add_working_days(accepted, days)
        d, s = divmod(accepted + OFFSET, DAY)  # same-day procedures: today 17:00, or tomorrow if late
        due = d * DAY + CLOSE_AT - OFFSET
        return due if s < 16 * 3600 else _add_working_days(due, 1)

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

    # --- queries ---------------------------------------------------------------------------------------

    def build_event_index(self) -> None:
        """Index every event time of every dossier (what a district system's index on updatedDate does), so
        that a window query looks at the dossiers with an event in it, not at 60 days of receipts. Worth it
        for large systems only: 1,000,000 dossiers take ~15 s and ~100 MB. Safe to run in a thread."""
        keys = array("q")
        for i in range(self.count):
            for t in DossierGenerator._timeline(self, i)[1]:  # the base timelines; overlays are checked apart
                keys.append((t << 24) | i)
        self._event_keys = array("q", sorted(keys))

    def _moved(self) -> list[int]:
        """Dossiers whose timeline differs from the generated one (none here; see OverlaidGenerator)."""
        return []

    def matching(self, lo: float | None, hi: float | None, clock: int) -> array:
        """Indices of dossiers whose updatedDate at clock lies in [lo, hi], ordered by (updatedDate, id).

        Only receipts in [lo - EVENT_WINDOW, min(hi, clock)] can match, a contiguous index range; with the
        event index, only the dossiers with an event in [lo, top] (the last visible one must be among them).
        """
        top = clock if hi is None else min(hi, clock)
        bottom = float("-inf") if lo is None else lo
        if bottom > top:
            return array("l")
        i0 = 0 if lo is None else self.first_index_at_or_after(lo - EVENT_WINDOW)
        i1 = self.first_index_after(top)
        candidates: Iterable[int] = range(i0, i1)
        index = getattr(self, "_event_keys", None)
        if index is not None and lo is not None:
            first = bisect.bisect_left(index, math.ceil(bottom) << 24)
            last = bisect.bisect_left(index, (int(top) + 1) << 24)
            found = {key & 0xFFFFFF for key in index[first:last]}
            candidates = sorted(found.union(i for i in self._moved() if i0 <= i < i1))
        keys = []
        for i in candidates:
            times = self._timeline(i)[1]
            u = times[bisect.bisect_right(times, clock) - 1]
            if bottom <= u <= top:
                keys.append((u << 24) | i)  # id order equals index order (see dossier_id)
        keys.sort()
        return array("l", [key & 0xFFFFFF for key in keys])


INDEXED_FROM = 50_000  # dossiers: below this a window scan is cheaper than the index


def index_in_background(gen: DossierGenerator) -> None:
    """A large simulated system indexes its event times in a thread; queries scan until it is ready."""
    if gen.count >= INDEXED_FROM:
        threading.Thread(target=gen.build_event_index, name="event-index", daemon=True).start()


class QueryCache:
    """A small LRU of matching-index arrays per (updatedFrom, updatedTo, clock): records are recomputed."""

    def __init__(self, generator: DossierGenerator, size: int = 8) -> None:
        self._gen = generator
        self._size = size
        self._entries: OrderedDict[tuple, array] = OrderedDict()

    def get(self, lo: float | None, hi: float | None, clock: int) -> array:
        key = (lo, hi, clock)
        hit = self._entries.get(key)
        if hit is not None:
            self._entries.move_to_end(key)
            return hit
        result = self._gen.matching(lo, hi, clock)
        self._entries[key] = result
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return result
