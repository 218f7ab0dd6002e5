"""The iGate generator in-process: window queries against brute force, determinism, on-demand cost."""

from __future__ import annotations

import time
from datetime import date

import pytest

from onestop.simulators.igate_calendar import parse_iso
from onestop.simulators.igate_data import (
    DossierGenerator,
    GeneratorConfig,
    QueryCache,
    agency_code_for,
)

CLOCKS = ("2025-02-10T09:00:00+07:00", "2025-04-01T17:00:00+07:00", "2025-08-30T17:00:00+07:00")
OPEN_CLOCKS = CLOCKS[:2]  # before every dossier has finished: some have an event still to come


@pytest.fixture(scope="module")
def gen() -> DossierGenerator:
    return DossierGenerator(GeneratorConfig(seed=7, count=1500))


@pytest.mark.parametrize("clock_iso", CLOCKS)
@pytest.mark.parametrize(
    "window",
    [
        (None, None),
        ("2025-02-03T00:00:00", "2025-02-07T23:59:59"),
        ("2025-03-15T00:00:00", None),
        (None, "2025-01-20T12:00:00"),
    ],
)
def test_window_query_equals_brute_force(
    gen: DossierGenerator, clock_iso: str, window: tuple[str | None, str | None]
) -> None:
    clock = int(parse_iso(clock_iso))
    lo, hi = (parse_iso(w) if w else None for w in window)
    brute = []
    for i in range(gen.count):
        u = gen.updated_at(i, clock)
        if u is not None and (lo is None or u >= lo) and (hi is None or u <= hi):
            brute.append((u, gen.dossier_id(i), i))
    assert list(gen.matching(lo, hi, clock)) == [i for *_, i in sorted(brute)]


def test_generation_is_deterministic_and_clock_only_reveals_history() -> None:
    a = DossierGenerator(GeneratorConfig(seed=11, count=300, district="292"))
    b = DossierGenerator(GeneratorConfig(seed=11, count=300, district="292"))
    early, late = int(parse_iso(CLOCKS[0])), int(parse_iso(CLOCKS[2]))
    for i in range(0, 300, 7):
        assert a.record(i, late) == b.record(i, late)
        before, after = a.record(i, early), a.record(i, late)
        if before is not None:
            assert after["history"][: len(before["history"])] == before["history"]
            assert after["applicant"] == before["applicant"] and after["code"] == before["code"]
    assert a.record(0, late)["agency"]["code"] == agency_code_for("292") == "000.00.18.H23"
    assert a.record(0, late)["applicant"]["address"]["province"]["code"] == "30"


def test_receipts_are_monotonic_on_working_days() -> None:
    g = DossierGenerator(GeneratorConfig(seed=3, count=5000, start=date(2025, 1, 2)))
    times = [g.receipt_time(i) for i in range(g.count)]
    assert times == sorted(times)
    assert g.iso(times[0]).startswith("2025-01-02") and g.iso(times[-1]) < "2025-06-19"
    for t in times[::97]:
        hhmm = g.iso(t)[11:16]
        assert "07:30" <= hhmm <= "17:00"


def test_a_million_dossiers_cost_nothing_until_asked() -> None:
    # This process's CPU time, not the wall clock: on a loaded machine the same ~3 s of work took 15 s.
    started = time.process_time()
    g = DossierGenerator(GeneratorConfig(seed=1, count=1_000_000))
    clock = int(parse_iso("2025-06-21T17:00:00+07:00"))
    cache = QueryCache(g)
    lo, hi = parse_iso("2025-06-20T08:00:00"), parse_iso("2025-06-20T09:00:00")
    window = cache.get(lo, hi, clock)
    assert len(window) > 0 and cache.get(lo, hi, clock) is window  # the second ask is a cache hit
    last = g.record(999_999, clock)
    assert last is not None and last["code"].startswith("000.00.14.H23-250618-")  # thousands a day
    assert time.process_time() - started < 10


@pytest.mark.parametrize("clock_iso", OPEN_CLOCKS)
def test_the_event_index_answers_window_queries_exactly_as_the_scan(clock_iso: str) -> None:
    """A large system indexes its event times; changed dossiers (an overlay) are found beside the index."""
    from onestop.simulators.igate import OverlaidGenerator

    scanned, indexed = (OverlaidGenerator(GeneratorConfig(seed=7, count=1500)) for _ in range(2))
    indexed.build_event_index()
    clock = int(parse_iso(clock_iso))
    # A recent dossier's next event pulled to just before the clock (as the change-while-paging fault does).
    moved = next(
        i for i in range(scanned.first_index_after(clock) - 1, 0, -1)
        if (v := scanned.visible(i, clock))[3] < len(v[0])
    )  # fmt: skip
    for g in (scanned, indexed):
        g.overlay[moved] = (scanned.visible(moved, clock)[3], clock - 60)
    windows = [("2025-02-03T00:00:00", "2025-02-07T23:59:59"), ("2025-03-15T00:00:00", None),
               ("2025-01-02T00:00:00", "2025-01-02T12:00:00"), (clock_iso, None)]  # fmt: skip
    for window in windows:
        lo, hi = (parse_iso(w) if w else None for w in window)
        assert list(indexed.matching(lo, hi, clock)) == list(scanned.matching(lo, hi, clock)), window
    assert moved in indexed.matching(clock - 120, None, clock)
