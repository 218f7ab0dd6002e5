"""Source health (the console's health page, the alerts' inputs) on what a real sync leaves in the database."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from typer.testing import CliRunner

from connectors.http import http_date
from connectors.store import outbox, runs
from connectors.store.breaker import BreakerSettings, DatabaseBreaker
from onestop import pipeline, registry
from onestop.cli import app
from onestop.console import render, words
from onestop.operations import health
from tests.conftest import SOURCES

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SOURCE, FAILING, TRIPPED = SOURCES


def test_health_figures_after_a_real_sync_a_failed_run_and_an_open_breaker(db, pg_url, districts) -> None:
    counts = pipeline.sync(SOURCE)
    refused = db.execute(
        "SELECT uid, o.version FROM onestop.outbox o JOIN onestop.dossier d USING (uid) WHERE d.source = %s LIMIT 1",
        (SOURCE,),
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
    # Each step's failures against that step: the run, its fetched records, the one delivery tried (refused).
    assert (synced.runs_24h, synced.failed_runs_24h) == (1, 0)
    assert (synced.fetched_24h, synced.quarantined_24h) == (counts.fetched, quarantined)
    assert (synced.deliveries_24h, synced.undelivered_24h) == (1, 1)
    assert synced.error_rate == 1.0  # the worst step: 1 of 1 deliveries
    assert (synced.breaker, synced.freshness, synced.max_error_rate) == ("closed", timedelta(hours=2), 0.05)
    assert synced.level == "warning" and [f.rule for f in synced.findings] == ["error_rate"]
    records = (
        f"{quarantined} of {counts.fetched} fetched records quarantined; "  # named when over the threshold
    )
    assert synced.problems == [
        f"error rate 100.0% in the last 24h ({records if quarantined / counts.fetched > 0.05 else ''}"
        "1 of 1 deliveries failed), threshold 5.0%"
    ]

    failing = h[FAILING]
    assert (failing.last_success, failing.watermark, failing.fetched_24h, failing.quarantined_24h) == (
        None,
        None,
        0,
        0,
    )
    assert (failing.runs_24h, failing.failed_runs_24h, failing.deliveries_24h) == (1, 1, 0)
    assert failing.error_rate == 1.0 and failing.level == "critical"
    assert failing.problems == [
        "no successful sync yet, deadline 2h",
        "error rate 100.0% in the last 24h (1 of 1 runs failed), threshold 5.0%",
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


def test_an_error_rate_is_a_share_of_its_own_step_and_never_passes_100_percent(db, districts) -> None:
    """Deliveries that fail today may be of dossiers fetched last week: they are a share of the deliveries tried,
    not of today's fetched records (a source showed 103 %: 93 failures against 90 fetched). A delivery that
    failed and went through on its next try is no failure."""
    pipeline.sync(SOURCE)
    db.execute("UPDATE onestop.sync_run SET fetched = 2 WHERE source = %s", (SOURCE,))  # a small fetch today
    rows = db.execute(
        "SELECT uid, o.version FROM onestop.outbox o JOIN onestop.dossier d USING (uid) WHERE d.source = %s"
        " ORDER BY uid LIMIT 8",
        (SOURCE,),
    ).fetchall()
    db.execute("DELETE FROM onestop.quarantine WHERE source = %s", (SOURCE,))
    outbox.mark_failed(
        db, [(uid, v, "-4", "portal refused it") for uid, v in rows], max_attempts=8, retry=True
    )
    outbox.mark_delivered(db, rows[:3])  # retried and accepted
    db.execute("UPDATE onestop.outbox SET sent_at = now() WHERE uid = ANY(%s)", ([uid for uid, _ in rows],))

    def source() -> health.SourceHealth:
        return next(h for h in health.source_health(db, registry.load()) if h.source == SOURCE)

    h = source()
    assert (h.deliveries_24h, h.undelivered_24h, h.fetched_24h) == (8, 5, 2)
    assert h.error_rate == pytest.approx(5 / 8)
    assert h.problems == ["error rate 62.5% in the last 24h (5 of 8 deliveries failed), threshold 5.0%"]
    assert [str(p) for p in words.problems(h)] == [  # as the console's health page says it
        "tỷ lệ lỗi 62,5% trong 24 giờ qua (5/8 lần gửi Cổng DVC lỗi), ngưỡng 5,0%"
    ]

    db.execute("UPDATE onestop.outbox SET failed_at = now() - interval '25 hours', sent_at = now() - interval"
               " '25 hours' WHERE uid = ANY(%s)", ([uid for uid, _ in rows],))  # fmt: skip
    h = source()
    assert (h.deliveries_24h, h.undelivered_24h, h.error_rate) == (
        0,
        0,
        0.0,
    )  # yesterday's: out of the window
    assert h.level == "ok" and h.problems == []


def test_days_are_ho_chi_minh_days(db, districts) -> None:
    """A delivery failing at 23:30 and one at 00:30 the next day (Asia/Ho_Chi_Minh) fall on two days, as do
    versions loaded then; a dossier finished at 00:30 after its due day's 23:30 is late."""
    pipeline.sync(SOURCE)
    late, early = datetime(2025, 3, 4, 16, 30, tzinfo=UTC), datetime(2025, 3, 4, 17, 30, tzinfo=UTC)
    (a, va), (b, vb) = db.execute(
        "SELECT uid, o.version FROM onestop.outbox o JOIN onestop.dossier d USING (uid) WHERE d.source = %s"
        " ORDER BY uid LIMIT 2",
        (SOURCE,),
    ).fetchall()
    outbox.mark_failed(db, [(a, va, "-4", "x"), (b, vb, "-4", "y")], max_attempts=8, retry=False)
    db.execute("UPDATE onestop.outbox SET failed_at = %s WHERE uid = %s", (late, a))
    db.execute("UPDATE onestop.outbox SET failed_at = %s WHERE uid = %s", (early, b))
    db.execute("UPDATE onestop.dossier SET loaded_at = %s WHERE uid = %s", (late, a))  # their one version
    db.execute("UPDATE onestop.dossier SET loaded_at = %s WHERE uid = %s", (early, b))

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


def test_the_watermark_lag_is_measured_on_the_sources_own_clock(db, districts) -> None:
    """The simulated district systems' clocks stand far from ours (by default ~530 days behind today): the lag
    is the source's now, by the HTTP Date of its last successful answer, less the watermark, not ours less it.
    A source that never sent a Date is measured on our clock."""
    pipeline.sync(SOURCE)
    said = datetime.fromisoformat(
        requests.get(f"{districts[SOURCE].url}/_sim/clock", timeout=10).json()["clock"]
    )
    clock, read_at = db.execute(
        "SELECT source_clock, source_clock_read_at FROM onestop.sync_run WHERE source = %s AND state = 'loaded'",
        (SOURCE,),
    ).fetchone()
    assert clock == said  # the run kept the Date of the source's last answer: its simulated clock
    assert datetime.now(UTC) - clock > timedelta(days=100)  # far behind ours
    assert timedelta(0) <= datetime.now(UTC) - read_at < timedelta(minutes=5)

    db.execute(
        "UPDATE onestop.watermark SET value = %s WHERE source = %s", (said - timedelta(hours=2), SOURCE)
    )
    before = datetime.now(UTC)  # read before the watermark is written from it: the bound below holds exactly
    runs.advance_watermark(db, FAILING, before - timedelta(hours=3), 0)  # no run, no Date: our clock
    h = {h.source: h for h in health.source_health(db, registry.load())}
    elapsed = datetime.now(UTC) - read_at  # the source's clock went on since its answer, as ours did
    assert timedelta(hours=2) <= h[SOURCE].watermark_lag <= timedelta(hours=2, seconds=1) + elapsed
    assert render.ago(h[SOURCE].watermark_lag) == "2 giờ 00 phút"  # not "530 ngày"
    assert h[SOURCE].clock_offset == clock - read_at
    assert h[FAILING].clock_offset is None
    assert timedelta(hours=3) <= h[FAILING].watermark_lag <= timedelta(hours=3) + (datetime.now(UTC) - before)


def test_an_http_date_reads_as_rfc_7231_says() -> None:
    assert http_date("Sat, 21 Jun 2025 10:00:00 GMT") == datetime(2025, 6, 21, 10, tzinfo=UTC)
    assert http_date("Saturday, 21-Jun-25 10:00:00 GMT") == datetime(2025, 6, 21, 10, tzinfo=UTC)  # RFC 850
    assert http_date("Sat Jun 21 10:00:00 2025") == datetime(2025, 6, 21, 10, tzinfo=UTC)  # asctime
    assert [http_date(v) for v in (None, "", "yesterday", "Sat, 99 Jun 2025 10:00:00 GMT")] == [None] * 4


def test_the_pages_level_of_every_source_is_status_checks(db, pg_url, airflow_api) -> None:
    """One ok, one warning and one critical source: the health page's and the home page's badge of each is the
    level `onestop status --check` gives it (its most severe line; ok when it has none), and its exit code is
    the most severe of them."""
    reg = registry.load()
    now = datetime.now(UTC)
    for name in reg.names():
        run = runs.create_run(db, name, (now - timedelta(minutes=30), now), None)
        runs.record_counts(db, run, runs.RunCounts(fetched=100, loaded=100))
        ended_ago = timedelta(hours=3) if name == FAILING else timedelta(minutes=5)  # past its 2 h deadline
        db.execute("UPDATE onestop.sync_run SET finished_at = now() - %s WHERE run_id = %s", (ended_ago, run))
    breaker = DatabaseBreaker(pg_url, TRIPPED, BreakerSettings(threshold=1))
    breaker.failure(ConnectionError("refused"))
    breaker.close()

    result = CliRunner().invoke(app, ["status", "--check"])
    checked = dict.fromkeys(reg.names(), "ok")
    for line in result.output.splitlines():
        level, source = line.split(":")[0].split()
        if health.LEVELS[level.lower()] > health.LEVELS[checked[source]]:
            checked[source] = level.lower()
    assert {checked[SOURCE], checked[TRIPPED], checked[FAILING]} == {"ok", "warning", "critical"}
    assert result.exit_code == max(health.LEVELS[v] for v in checked.values())

    viewer = requests.Session()
    viewer.headers["Authorization"] = f"Bearer {airflow_api.token('viewer')}"
    row = re.compile(
        r'<tr class="lvl-(\w+)"[^>]*>\s*<td>(?:<a [^>]*>)?[^<]*(?:</a>)?(?:<br>)?\s*<small>(\w+)'
    )
    for path in ("/onestop/health", "/onestop/"):
        resp = viewer.get(f"{airflow_api.url}{path}", timeout=60)
        assert resp.status_code == 200, path
        shown = {source: level for level, source in row.findall(resp.text)}
        assert shown == checked, path
        if path == "/onestop/health":  # each source opens on its own failed transfers
            assert all(f'/onestop/failures?source={name}" title=' in resp.text for name in reg.names())
    assert {h.source: h.level for h in health.source_health(db, reg)} == checked
