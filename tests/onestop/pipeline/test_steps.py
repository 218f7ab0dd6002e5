"""The pipeline's steps as plain functions, against real simulators and a real PostgreSQL."""

from __future__ import annotations

import json
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import requests
from psycopg import sql

from connectors.errors import ProtocolError
from connectors.factory import open_source
from connectors.store import merge, runs, staging, status
from connectors.store.merge import Loader
from mappings import get_mapping
from onestop import pipeline, registry
from onestop.simulators.process import start_simulator
from tests.conftest import IGATE_FIELDS, SOURCES, portal_summary, reset_portal, truth

SOURCE = SOURCES[0]


def synced_raw(db: psycopg.Connection, source: str) -> dict[str, dict]:
    """A sync of `source`; returns the raw record of every id it serves, as its connector reads them."""
    config = registry.load().source(source)
    record_id = get_mapping(config.dialect, config.timezone).record_id
    raw = {
        record_id(r.record): json.loads(r.payload)
        for page in open_source(config).pages(None, None)
        for r in page
    }
    pipeline.sync(source)
    return raw


def load_records(
    db: psycopg.Connection, source: str, records: list[dict], now: datetime | None = None
) -> runs.RunCounts:
    """A run whose fetch returned exactly these records (crafted cases a source rarely produces on demand); its
    window ends `now` (the watermark never passes it)."""
    now = now or datetime.now(UTC)
    with psycopg.connect(db.info.dsn) as conn:
        run_id = runs.create_run(conn, source, (now - timedelta(days=1), now), None)
        rows = [(n, r.get("id"), "application/json", json.dumps(r)) for n, r in enumerate(records)]
        pipeline.stage(conn, run_id, registry.load().source(source), iter([rows]))
    return pipeline.load(run_id)


def test_a_sync_loads_every_good_dossier_and_quarantines_each_bad_one(db, districts, portal) -> None:
    counts = pipeline.sync(SOURCE)

    served = truth(districts[SOURCE])
    bad = {r["id"]: r["bad"] for r in served if r["bad"]}
    assert bad, "the simulator serves some deliberately bad records"
    assert counts.fetched == len(served)
    assert counts.quarantined == len(bad)
    assert counts.loaded == len(served) - len(bad)
    assert counts.balanced()
    assert status.database_counts(db) == {
        "dossiers": len(served) - len(bad), "quarantined": len(bad), "deleted": 0, "conflicts": 0
    }  # fmt: skip
    quarantined = dict(db.execute("SELECT record_id, errors FROM onestop.quarantine").fetchall())
    assert set(quarantined) == set(bad)
    for record_id, errors in quarantined.items():
        assert errors and all(e["field"] and e["reason"] for e in errors), record_id


def test_delivery_puts_each_dossier_at_the_portal_once_at_its_latest_status(db, districts, portal) -> None:
    reset_portal(portal)
    loaded = pipeline.sync(SOURCE).loaded

    delivered = pipeline.deliver()

    assert delivered.delivered == loaded and delivered.failed == 0
    summary = portal_summary(portal)
    assert summary["accepted"] == loaded
    assert summary["received"] == loaded  # nothing sent twice
    ours = dict(db.execute("SELECT ma_ho_so, status FROM onestop.dossier").fetchall())
    lines = requests.get(f"{portal.url}/_inspect/dossiers", timeout=30).text.splitlines()
    at_portal = {d["MaHoSo"]: d["TrangThaiHoSo"] for d in map(json.loads, filter(None, lines))}
    assert at_portal == ours
    assert all(d["progress"] > 0 for d in map(json.loads, filter(None, lines)))


def test_the_same_window_twice_gives_the_same_checksum_and_no_portal_call(db, districts, portal) -> None:
    reset_portal(portal)
    window = (datetime(2025, 1, 1, tzinfo=UTC), datetime.now(UTC))
    pipeline.sync(SOURCE, interval=window)
    pipeline.deliver()
    first, calls = status.checksum(db), portal_summary(portal)

    again = pipeline.sync(SOURCE, interval=window)
    redelivered = pipeline.deliver()

    assert again.loaded == 0 and again.unchanged == again.fetched - again.quarantined
    assert redelivered.sent == 0
    assert status.checksum(db) == first
    assert portal_summary(portal) == calls


def test_already_exists_at_the_portal_becomes_an_update(db, districts, portal) -> None:
    reset_portal(portal)
    pipeline.sync(SOURCE)
    pipeline.deliver()
    accepted = portal_summary(portal)["accepted"]
    # Our database forgets everything (a restore from an old backup); the portal still holds the dossiers.
    db.execute(
        "TRUNCATE onestop.dossier, onestop.dossier_version_past, onestop.status_history, onestop.outbox,"
        " onestop.sync_run, onestop.staging, onestop.watermark"
    )

    pipeline.sync(SOURCE)
    result = pipeline.deliver()

    assert result.delivered == accepted and result.failed == 0
    assert portal_summary(portal)["accepted"] == accepted
    updates = db.execute(
        "SELECT sum(records) FROM onestop.portal_call WHERE service = 'DongBoHoSoMC' AND updating"
    ).fetchone()[0]
    assert updates == accepted  # each refused create went again as an update


def test_in_batch_duplicates_reduce_to_the_newest_and_older_records_are_stale(db, districts, portal) -> None:
    raw = synced_raw(db, SOURCE)
    good = [r for rid, r in raw.items() if rid not in {t["id"] for t in truth(districts[SOURCE]) if t["bad"]}]
    a, b = good[0], good[1]
    older_a = {**a, "summary": "an older text", "updatedDate": "2025-01-01T08:00:00+07:00"}
    b1 = {**b, "summary": "first edit", "updatedDate": "2030-01-01T08:00:00+07:00"}
    b2 = {**b, "summary": "second edit", "updatedDate": "2030-01-02T08:00:00+07:00"}

    counts = load_records(db, SOURCE, [older_a, b1, b2])

    assert (counts.fetched, counts.stale, counts.duplicates, counts.loaded) == (3, 1, 1, 1)
    row = db.execute(
        "SELECT version, record->>'summary' FROM onestop.dossier WHERE source_record_id = %s", (b["id"],)
    ).fetchone()
    assert row == (2, "second edit")
    kept = db.execute(
        "SELECT record->>'summary' FROM onestop.dossier WHERE source_record_id = %s", (a["id"],)
    ).fetchone()
    assert kept[0] == a.get("summary")


def test_a_dossier_edited_while_its_list_was_read_holds_the_watermark_at_its_first_version(
    db, districts, portal
) -> None:
    # Pages by position: the edit moved the dossier to the list's end, and the one after its old place moved up
    # past a page already read. The next run must read again from the edited dossier's first version.
    raw = synced_raw(db, SOURCE)
    before = db.execute("SELECT value FROM onestop.watermark WHERE source = %s", (SOURCE,)).fetchone()[0]
    a, b, c = list(raw.values())[:3]
    first = {**a, "updatedDate": "2030-01-01T08:00:00+07:00"}
    other = {**b, "updatedDate": "2030-01-02T08:00:00+07:00"}
    edited = {**a, "summary": "edited meanwhile", "updatedDate": "2030-01-03T08:00:00+07:00"}
    same_twice = {**c, "updatedDate": "2030-01-04T08:00:00+07:00"}

    later = datetime(2031, 1, 1, tzinfo=UTC)  # the runs' window ends after these update times
    counts = load_records(db, SOURCE, [first, other, edited], now=later)
    mark = db.execute("SELECT value FROM onestop.watermark WHERE source = %s", (SOURCE,)).fetchone()[0]
    assert counts.duplicates == 1
    assert mark == max(
        before, datetime(2030, 1, 1, 1, tzinfo=UTC)
    )  # not 2030-01-03: held at the first version

    load_records(
        db, SOURCE, [other, same_twice, same_twice], now=later
    )  # served twice unchanged: nothing moved
    mark = db.execute("SELECT value FROM onestop.watermark WHERE source = %s", (SOURCE,)).fetchone()[0]
    assert mark == datetime(2030, 1, 4, 1, tzinfo=UTC)


def test_status_history_is_append_only_and_each_event_is_stored_once(db, districts, portal) -> None:
    """The record holds the events its source tells today; an event a rewrite drops is kept, as it was, in
    status_history; dossier_history is the whole history; an unchanged record writes nothing."""
    raw = synced_raw(db, SOURCE)
    record = next(r for r in raw.values() if len(r.get("history") or []) >= 2 and r.get("code"))
    uid = db.execute(
        "SELECT uid FROM onestop.dossier WHERE source_record_id = %s", (record["id"],)
    ).fetchone()[0]
    assert db.execute("SELECT count(*) FROM onestop.status_history").fetchone()[0] == 0  # all in the records
    before = db.execute(
        "SELECT at, status FROM onestop.dossier_history WHERE uid = %s ORDER BY at, status", (uid,)
    ).fetchall()
    assert len(before) == len(record["history"])
    dropped, kept = record["history"][0], record["history"][1:]
    added = {**kept[-1], "createdDate": "2030-01-01T09:00:00+07:00", "content": "bổ sung sau"}
    rewritten = {**record, "history": [*kept, added], "updatedDate": "2030-01-01T09:00:00+07:00"}

    counts = load_records(db, SOURCE, [rewritten])
    run_id = db.execute("SELECT max(run_id) FROM onestop.sync_run").fetchone()[0]

    assert counts.loaded == 1
    rows = db.execute("SELECT uid, status, run_id, event FROM onestop.status_history").fetchall()
    assert [(r[0], r[2], r[3]["content"]) for r in rows] == [(uid, run_id, dropped.get("content"))]
    after = db.execute("SELECT at, status FROM onestop.dossier_history WHERE uid = %s", (uid,)).fetchall()
    assert set(before) <= set(after) and len(after) == len(before) + 1  # nothing lost, the new one added
    assert load_records(db, SOURCE, [rewritten]).unchanged == 1
    assert db.execute("SELECT count(*) FROM onestop.status_history").fetchone()[0] == 1


def test_a_second_source_with_the_same_ma_ho_so_is_a_conflict_not_an_overwrite(db, districts, portal) -> None:
    raw = synced_raw(db, SOURCE)
    record = next(iter(r for r in raw.values() if r.get("code")))
    dossiers = status.database_counts(db)["dossiers"]

    counts = load_records(db, SOURCES[1], [{**record, "id": "f" * 24}])

    assert counts.conflicts == 1
    assert status.database_counts(db)["dossiers"] == dossiers
    holder = db.execute(
        "SELECT holder_uid FROM onestop.conflict WHERE ma_ho_so = %s", (record["code"],)
    ).fetchone()
    assert holder is not None
    assert (
        db.execute(
            "SELECT count(*) FROM onestop.outbox JOIN onestop.dossier d USING (uid) WHERE d.source = %s",
            (SOURCES[1],),
        ).fetchone()[0]
        == 0
    )


def test_a_record_with_several_faults_lists_every_failing_field(db, districts, portal) -> None:
    raw = synced_raw(db, SOURCE)
    record = next(iter(raw.values()))
    broken = {**record, "id": "e" * 24, "code": None, "acceptedDate": "2025-02-30T08:00:00+07:00",
              "dossierStatus": {"id": 99}}  # fmt: skip

    counts = load_records(db, SOURCE, [broken, record])

    assert counts.quarantined == 1
    errors = db.execute("SELECT errors FROM onestop.quarantine WHERE record_id = %s", ("e" * 24,)).fetchone()[
        0
    ]
    fields = {e["field"] for e in errors}
    assert {"ma_ho_so", "received_at", "status"} <= fields


def test_a_failed_load_moves_neither_data_nor_watermark(db, districts, portal, monkeypatch) -> None:
    raw = synced_raw(db, SOURCE)
    mark = db.execute("SELECT value FROM onestop.watermark").fetchone()[0]
    dossiers = status.database_counts(db)["dossiers"]
    original = Loader.finish

    def crash_after_merge(self):
        original(self)
        raise RuntimeError("worker died after the merge, before the commit")

    monkeypatch.setattr(Loader, "finish", crash_after_merge)
    record = next(iter(raw.values()))
    with pytest.raises(RuntimeError):
        load_records(
            db,
            SOURCE,
            [
                {
                    **record,
                    "id": "d" * 24,
                    "code": "000.00.14.H23-250101-9999",
                    "updatedDate": "2031-01-01T00:00:00+07:00",
                }
            ],
        )

    assert db.execute("SELECT value FROM onestop.watermark").fetchone()[0] == mark
    assert status.database_counts(db)["dossiers"] == dossiers


def test_the_next_run_reads_from_the_watermark_minus_the_lookback(db, districts, portal) -> None:
    pipeline.sync(SOURCE)
    mark = db.execute("SELECT value FROM onestop.watermark WHERE source = %s", (SOURCE,)).fetchone()[0]

    plan = pipeline.plan(SOURCE)

    assert plan.window_start == mark - timedelta(minutes=15)


def test_a_token_expiring_mid_sync_is_renewed_and_no_page_is_lost(db, portal, monkeypatch) -> None:
    # The server keeps tokens 1 s but claims 300 s: the client learns of the expiry from a 401 mid-sync.
    args = (
        "--seed",
        "5",
        "--count",
        "1500",
        "--token-ttl",
        "1",
        "--advertised-ttl",
        "300",
        "--latency",
        "150",
    )
    with start_simulator("igate", *args) as sim:
        conn = {"conn_type": "http", "host": sim.url, **IGATE_FIELDS}
        monkeypatch.setenv(f"AIRFLOW_CONN_ONESTOP_SRC_{SOURCE.upper()}", json.dumps(conn))
        counts = pipeline.sync(SOURCE)
        stats = requests.get(f"{sim.url}/_sim/stats", timeout=10).json()
        served = truth(sim)

    assert counts.fetched == len(served)
    assert stats["unauthorized"] >= 1 and stats["tokens_issued"] >= 2
    failed = db.execute(
        "SELECT error_class, http_status FROM onestop.attempt WHERE endpoint = %s", (SOURCE,)
    ).fetchall()
    assert ("AuthError", 401) in failed


def test_two_sources_loading_the_same_ma_ho_so_at_once_record_a_conflict_and_neither_fails(
    db, districts, portal
) -> None:
    raw = synced_raw(db, SOURCE)
    records = list(raw.values())[:200]
    db.execute(
        "TRUNCATE onestop.dossier, onestop.dossier_version_past, onestop.status_history, onestop.outbox"
    )
    copies = {
        name: [{**r, "id": f"{i:02d}{r['id'][2:]}"} for r in records] for i, name in enumerate(SOURCES[1:])
    }

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda item: load_records(db, *item), copies.items()))

    assert sum(r.loaded for r in results) == 2 * len(records) - sum(r.quarantined for r in results)
    live = db.execute("SELECT count(*) FROM onestop.dossier WHERE conflict_with IS NULL").fetchone()[0]
    conflicts = db.execute("SELECT count(*) FROM onestop.conflict").fetchone()[0]
    assert live + conflicts == db.execute("SELECT count(*) FROM onestop.dossier").fetchone()[0]
    assert conflicts == live  # each MaHoSo held once, its second carrier recorded


def extract_peak_bytes(monkeypatch, count: int) -> tuple[int, int]:
    """Python memory at the peak of extracting a source of `count` dossiers, and how many were staged."""
    with start_simulator("igate", "--seed", "9", "--count", str(count)) as sim:
        conn = {"conn_type": "http", "host": sim.url, **IGATE_FIELDS}
        monkeypatch.setenv(f"AIRFLOW_CONN_ONESTOP_SRC_{SOURCE.upper()}", json.dumps(conn))
        run = pipeline.plan(SOURCE)
        tracemalloc.start()
        try:
            staged = pipeline.extract(run.run_id)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return peak, staged


def test_extraction_streams_memory_does_not_grow_with_the_source(db, portal, monkeypatch) -> None:
    # Both runs long enough (5 and 25 pages) to fill the pages read ahead and the COPY's queue: with fewer, the
    # small run's peak depended on whether the machine was busy enough for the queue to fill. A first, unmeasured
    # run makes what is made once per process (the compiled mapping, imports), as an earlier test in it would.
    extract_peak_bytes(monkeypatch, 200)
    small_peak, small = extract_peak_bytes(monkeypatch, 1_000)
    large_peak, large = extract_peak_bytes(monkeypatch, 5_000)

    assert (small, large) == (1_000, 5_000)
    print(
        f"\npeak Python memory while extracting: {small_peak / 1e6:.1f} MB for {small:,}, {large_peak / 1e6:.1f} MB for {large:,}"
    )
    assert large_peak < 2 * small_peak  # five times the records, not five times the memory


@pytest.mark.parametrize("poison", ["dtd", "entity-bomb", "external-entity", "oversize"])
def test_a_hostile_answer_mid_sync_is_refused_and_nothing_is_half_loaded(
    db, portal, monkeypatch, poison
) -> None:
    source = "hd_kim_thanh"  # a SOAP district in the registry
    args = ("--seed", "3", "--count", "900", "--poison-page", "3", "--poison", poison)
    with start_simulator("soap_district", *args) as sim:
        conn = {"conn_type": "onestop_soap", "host": sim.url, "login": "soap", "password": "secret"}
        monkeypatch.setenv(f"AIRFLOW_CONN_ONESTOP_SRC_{source.upper()}", json.dumps(conn))
        with pytest.raises(ProtocolError, match=rf"{source}: .*(DTD|cap)"):
            pipeline.sync(source)

    run = db.execute(
        "SELECT run_id, state, error FROM onestop.sync_run WHERE source = %s", (source,)
    ).fetchone()
    assert run[1] == "failed" and source in run[2]
    assert db.execute("SELECT count(*) FROM onestop.staging WHERE run_id = %s", (run[0],)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM onestop.dossier").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM onestop.watermark").fetchone()[0] == 0


def test_worker_processes_normalize_exactly_what_one_process_does(db, districts, monkeypatch) -> None:
    """A large load normalizes its chunks in worker processes: the same dossiers, versions, history and
    quarantine as the same staged records normalized inline."""

    def outcome() -> tuple:
        q = db.execute
        return (
            status.checksum(db),
            q("SELECT uid, version, content_hash, record FROM onestop.dossier ORDER BY uid").fetchall(),
            q("SELECT uid, at, status, unusual FROM onestop.dossier_history ORDER BY 1, 2, 3").fetchall(),
            q("SELECT record_id, errors, error_class FROM onestop.quarantine ORDER BY record_id").fetchall(),
        )

    monkeypatch.setenv("ONESTOP_NORMALIZE_PROCESSES", "0")
    inline = pipeline.sync(SOURCE)
    expected = outcome()
    db.execute("TRUNCATE onestop.dossier, onestop.dossier_version_past, onestop.status_history, onestop.outbox,"
               " onestop.quarantine, onestop.conflict, onestop.watermark")  # fmt: skip
    monkeypatch.setenv("ONESTOP_NORMALIZE_PROCESSES", "2")
    monkeypatch.setattr(pipeline.normalize, "PARALLEL_FROM", 0)  # workers from the first page on
    assert pipeline.normalize_processes() == 2

    assert pipeline.sync(SOURCE) == inline
    assert outcome() == expected


def test_a_database_restart_that_empties_staging_fails_the_load_and_the_next_run_loads_all(
    db, districts, portal
) -> None:
    """Staged rows are UNLOGGED: a crash empties them. The load sees fewer than were fetched, merges nothing,
    fails its run; the watermark has not moved, so the next run fetches the window again."""
    run_id = pipeline.plan(SOURCE).run_id
    fetched = pipeline.extract(run_id)
    db.execute(sql.SQL("TRUNCATE {}").format(staging.table(run_id, "good")))  # what crash recovery does

    with pytest.raises(pipeline.StagingLost, match=f"fetched {fetched} records but"):
        pipeline.load(run_id)

    assert (
        db.execute("SELECT state FROM onestop.sync_run WHERE run_id = %s", (run_id,)).fetchone()[0]
        == "failed"
    )
    assert db.execute("SELECT count(*) FROM onestop.dossier").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM onestop.watermark").fetchone()[0] == 0
    again = pipeline.sync(SOURCE)
    assert again.fetched == fetched and again.balanced() and again.loaded > 0


def test_a_load_that_quarantines_many_records_refreshes_the_quarantines_statistics(
    db, districts, portal, monkeypatch
) -> None:
    """The load supersedes open quarantine rows by a join with the run's records. On statistics that did not know
    the rows the same transaction had just quarantined, PostgreSQL 15 planned it as a nested loop over every
    record per quarantine row (55 s of a 61 s load of 200,000 records); past merge.ANALYZE_QUARANTINE_FROM
    (new quarantine rows × records) the load analyzes the quarantine first, in its transaction."""

    def analyzed() -> int:  # manual ANALYZEs only: autovacuum's are counted apart
        db.execute("SELECT pg_stat_clear_snapshot()")
        return db.execute(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relid = 'onestop.quarantine'::regclass"
        ).fetchone()[0]

    raw = list(synced_raw(db, SOURCE).values())
    before = analyzed()
    spoiled = [{**r, "code": None} for r in raw[:5]]  # no MaHoSo: quarantined
    few = load_records(db, SOURCE, spoiled + raw[5:10])  # 5 new quarantine rows × 5 records: no reason
    assert few.quarantined == 5 and analyzed() == before

    monkeypatch.setattr(merge, "ANALYZE_QUARANTINE_FROM", 25)
    again = load_records(db, SOURCE, [{**r, "summary": "again"} for r in spoiled] + raw[10:15])
    assert again.quarantined == 5 and analyzed() == before + 1
    assert (
        db.execute(
            "SELECT count(*) FROM onestop.quarantine WHERE source = %s AND state = 'open'", (SOURCE,)
        ).fetchone()[0]
        >= 10
    )


def test_the_load_commit_drops_the_staged_rows_and_keeps_which_records_were_fetched(
    db, districts, portal
) -> None:
    counts = pipeline.sync(SOURCE)

    run_id = db.execute("SELECT max(run_id) FROM onestop.sync_run").fetchone()[0]
    q = db.execute
    assert (
        q("SELECT count(*) FROM onestop.staging WHERE run_id = %s", (run_id,)).fetchone()[0] == counts.fetched
    )
    assert staging.staged_runs(db) == []  # merged: dropped with the load's commit
    # The bad ones keep their payload where re-drive and `mapping try` read it.
    assert counts.quarantined > 0
    assert (
        q("SELECT count(*) FROM onestop.quarantine WHERE payload <> ''").fetchone()[0] == counts.quarantined
    )
