"""Deterministic iGate-style dossiers, computed on demand from (seed, index).

Nothing is materialized: receipt times come from a small per-day table (monotonic in the index, so a time
window maps to a contiguous index range) and everything else from `random.Random(f"{seed}:{index}")`.
A dossier's whole history lies within EVENT_WINDOW after its receipt; the simulated clock only decides how
much of it is visible.

The record's content is igate_records'; the calendar (office hours, +07:00) is igate_calendar's.
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
from datetime import date, timedelta
from typing import Any

from onestop.simulators import igate_catalog as cat
from onestop.simulators.igate_calendar import CLOSE_AT, DAY, OFFSET, OPEN_AT, office_hours_from
from onestop.simulators.igate_records import RecordWriter

EVENT_WINDOW = 60 * DAY
MAX_EVENTS = 15
MAX_COUNT = 1 << 24  # the index is the low 24 bits of the ObjectId-like id

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
        digest = hashlib.blake2b(f"{config.seed}:{self.agency_code}".encode(), digest_size=5).digest()
        self._machine = f"{int.from_bytes(digest, 'big'):010x}"
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
        self._records = RecordWriter(
            seed=config.seed,
            district=self.district,
            other_districts=self.other_districts,
            agency_code=self.agency_code,
            file_machine=f"{int.from_bytes(digest, 'big') ^ 0xFF:010x}",
            hostile_rate=config.hostile_rate,
            iso=self.iso,
        )

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
            t = office_hours_from(t + int(3600 * (lo + (hi - lo) * ((h >> 16) & 0xFFFF) / 65536)) + 60)
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

    def record(self, i: int, clock: int) -> dict[str, Any] | None:
        """The vendor record as the system shows it at clock; None if not yet received."""
        timeline = self._timeline(i)
        t0 = timeline[0]
        if t0 > clock:
            return None
        return self._records.record(i, self.dossier_id(i, t0), self.code(i), timeline, clock)

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
