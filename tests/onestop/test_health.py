"""Source health (the console's health page, the alerts' inputs) on what a real sync leaves in the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from connectors.store import outbox, runs
from connectors.store.breaker import BreakerSettings, DatabaseBreaker
from onestop import health, pipeline, registry
from tests.conftest import SOURCES

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SOURCE, FAILING, TRIPPED = SOURCES


def test_health_figures_after_a_real_sync_a_failed_run_and_an_open_breaker(db, pg_url, districts) -> None:
    counts = pipeline.sync(SOURCE)
    refused = db.execute(
        "SELECT uid, version FROM onestop.outbox WHERE source = %s LIMIT 1", (SOURCE,)
    ).fetchone()
    outbox.mark_failed(db, [(*refused, "-4", "portal refused it")], max_attempts=8, retry=False)
    now = datetime.now(UTC)
    run = runs.create_run(db, FAILING, (now - timedelta(hours=1), now), None)
    runs.set_state(db, run, "failed", error="TransientError: connection reset")
    breaker = DatabaseBreaker(pg_url, TRIPPED, BreakerSettings(threshold=2))
    for _ in range(2):
        breaker.failure(ConnectionError("refused"))
    breaker.close()

    reg = registry.load()
    report = health.source_health(db, reg)

    assert [h.source for h in report] == reg.names()
    h = {h.source: h for h in report}
    synced = h[SOURCE]
    quarantined = db.execute(
        "SELECT count(*) FROM onestop.quarantine WHERE source = %s", (SOURCE,)
    ).fetchone()[0]
    assert counts.loaded > 0 and quarantined > 0  # the simulator serves some records the mapping refuses
    finished = db.execute(
        "SELECT finished_at FROM onestop.sync_run WHERE source = %s AND state = 'loaded'", (SOURCE,)
    ).fetchone()[0]
    assert (synced.title, synced.kind, synced.district_code) == ("Thành phố Hải Dương", "rest", "288")
    assert synced.last_success == finished
    assert synced.watermark == runs.watermark(db, SOURCE) is not None
    assert timedelta(0) < synced.watermark_lag
    assert synced.dossiers_today == counts.loaded
    assert synced.fetched_24h == counts.fetched
    assert synced.failed_24h == quarantined + 1  # + the refused delivery
    assert synced.error_rate == pytest.approx((quarantined + 1) / counts.fetched)
    assert (synced.breaker, synced.freshness, synced.max_error_rate) == ("closed", timedelta(hours=2), 0.05)
    over = synced.error_rate > 0.05
    assert synced.level == ("warning" if over else "ok")
    assert [f.rule for f in synced.findings] == (["error_rate"] if over else [])

    failing = h[FAILING]
    assert (failing.last_success, failing.watermark, failing.fetched_24h, failing.failed_24h) == (
        None,
        None,
        0,
        1,
    )
    assert failing.error_rate == 1.0 and failing.level == "critical"
    assert failing.problems == [
        "no successful sync yet, deadline 2h",
        "error rate 100.0% in the last 24h (1 failed, 0 fetched), threshold 5.0%",
    ]
    tripped = h[TRIPPED]
    assert tripped.breaker == "open" and tripped.error_rate is None
    assert [f.rule for f in tripped.findings] == ["freshness", "breaker"]

    # The 14-day chart: today holds the sync's versions and failures; the days before are zero.
    days = health.daily_counts(db, SOURCE)
    today = datetime.now(HCM).date()
    assert [d.day for d in days] == [today - timedelta(days=13 - i) for i in range(14)]
    assert days[-1] == health.DayCount(today, counts.loaded, quarantined + 1)
    assert all((d.loaded, d.failed) == (0, 0) for d in days[:-1])
    everyone = health.daily_counts(db, None, days=1)
    assert everyone == [health.DayCount(today, counts.loaded, quarantined + 1)]
    assert health.daily_counts(db, FAILING, days=3)[-1] == health.DayCount(today, 0, 0)

    # Due dates per district (the dossier's district, not the source's), against the rule computed row by row.
    expected: dict[str | None, list[int]] = {}
    for code, due, done in db.execute(
        "SELECT district_code, due_at, finished_at FROM onestop.dossier WHERE due_at IS NOT NULL AND NOT deleted"
        " AND conflict_with IS NULL"
    ):
        tally = expected.setdefault(code, [0, 0, 0])
        due_day = due.astimezone(HCM).date()
        if done is None:
            tally[2] += due_day < today
        else:
            done_day = done.astimezone(HCM).date()
            tally[0 if done_day < due_day else 1 if done_day == due_day else 2] += 1
    due = health.due_by_district(db, reg)
    assert {d.district_code: [d.before, d.on, d.after] for d in due} == expected
    titles = {s.district_code: s.title for s in reg.sources}
    assert [d.name for d in due] == [titles.get(d.district_code, d.district_code) for d in due]
    assert due[0] == health.DistrictDue("288", "Thành phố Hải Dương", *expected["288"])  # registry order


def test_days_are_ho_chi_minh_days(db, districts) -> None:
    """A delivery failing at 23:30 and one at 00:30 the next day (Asia/Ho_Chi_Minh) fall on two days, as do
    versions loaded then; a dossier finished at 00:30 after its due day's 23:30 is late."""
    pipeline.sync(SOURCE)
    late, early = datetime(2025, 3, 4, 16, 30, tzinfo=UTC), datetime(2025, 3, 4, 17, 30, tzinfo=UTC)
    (a, va), (b, vb) = db.execute(
        "SELECT uid, version FROM onestop.outbox WHERE source = %s ORDER BY uid LIMIT 2", (SOURCE,)
    ).fetchall()
    outbox.mark_failed(db, [(a, va, "-4", "x"), (b, vb, "-4", "y")], max_attempts=8, retry=False)
    db.execute("UPDATE onestop.outbox SET failed_at = %s WHERE uid = %s", (late, a))
    db.execute("UPDATE onestop.outbox SET failed_at = %s WHERE uid = %s", (early, b))
    db.execute("UPDATE onestop.dossier_version SET loaded_at = %s WHERE uid = %s", (late, a))
    db.execute("UPDATE onestop.dossier_version SET loaded_at = %s WHERE uid = %s", (early, b))

    days = health.daily_counts(db, SOURCE, days=3, today=date(2025, 3, 6))

    assert days == [
        health.DayCount(date(2025, 3, 4), 1, 1),
        health.DayCount(date(2025, 3, 5), 1, 1),
        health.DayCount(date(2025, 3, 6), 0, 0),
    ]

    db.execute(
        "UPDATE onestop.dossier SET due_at = %s, finished_at = CASE uid WHEN %s THEN %s ELSE %s END"
        " WHERE uid IN (%s, %s)",
        (late, a, late - timedelta(hours=1), early, a, b),
    )
    db.execute("UPDATE onestop.dossier SET due_at = NULL WHERE uid NOT IN (%s, %s)", (a, b))
    db.execute("UPDATE onestop.dossier SET district_code = '290' WHERE uid IN (%s, %s)", (a, b))
    assert health.due_by_district(db, registry.load(), today=date(2025, 3, 6)) == [
        health.DistrictDue("290", "Thành phố Chí Linh", before=0, on=1, after=1)
    ]


def test_durations_read_like_a_monitoring_line() -> None:
    f = health.format_duration
    assert [f(timedelta(hours=3, minutes=5)), f(timedelta(hours=2)), f(timedelta(minutes=45))] == [
        "3h 05m",
        "2h",
        "45m",
    ]
    assert [f(timedelta(days=1, hours=2)), f(timedelta(days=2)), f(timedelta(seconds=30))] == [
        "1d 02h",
        "2d",
        "30s",
    ]
