"""The real pipeline against an iGate district system showing the faults real systems show: the unified
database must come out equal to the system's ground truth (every good dossier, at its latest status, once)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import psycopg
import requests

from onestop import pipeline, registry
from onestop.simulators.process import SimulatorProcess, start_simulator
from tests.conftest import IGATE_FIELDS, SOURCES, truth

SOURCE = SOURCES[0]  # an iGate-profile source of the registry: pages of 200
COUNT = 1000


@contextmanager
def district(monkeypatch, *faults: str, every: int = 1, seed: int = 7) -> Iterator[SimulatorProcess]:
    """SOURCE's district system, with these faults on from the start."""
    args = ["--seed", str(seed), "--count", str(COUNT), "--fault-every", str(every)]
    for fault in faults:
        args += ["--fault", fault]
    with start_simulator("igate", *args) as sim:
        conn = {"conn_type": "http", "host": sim.url, **IGATE_FIELDS}
        monkeypatch.setenv(f"AIRFLOW_CONN_ONESTOP_SRC_{SOURCE.upper()}", json.dumps(conn))
        yield sim


def sim_get(sim: SimulatorProcess, path: str) -> dict:
    resp = requests.get(f"{sim.url}{path}", timeout=10)
    resp.raise_for_status()
    return resp.json()


def sim_clock(sim: SimulatorProcess) -> datetime:
    return datetime.fromisoformat(sim_get(sim, "/_sim/clock")["clock"])


def held(db: psycopg.Connection) -> dict[str, tuple[int, datetime]]:
    """What the unified database holds for SOURCE: record id -> (status, source update time)."""
    rows = db.execute(
        "SELECT source_record_id, status, source_updated_at FROM onestop.dossier"
        " WHERE source = %s AND NOT deleted AND conflict_with IS NULL",
        (SOURCE,),
    ).fetchall()
    return {rid: (status, updated) for rid, status, updated in rows}


def expected(rows: list[dict]) -> dict[str, tuple[int, datetime]]:
    return {r["id"]: (r["status"], datetime.fromisoformat(r["updatedDate"])) for r in rows if not r["bad"]}


def assert_nothing_doubled(db: psycopg.Connection) -> None:
    """Each dossier once; a new version only for new content; one delivery per version; quarantined once."""
    dossiers, versions, states, deliveries = db.execute(
        "SELECT (SELECT count(*) FROM onestop.dossier WHERE source = %(s)s),"
        " (SELECT count(*) FROM onestop.dossier_version v JOIN onestop.dossier d USING (uid) WHERE d.source = %(s)s),"
        " (SELECT count(DISTINCT (v.uid, v.content_hash)) FROM onestop.dossier_version v"
        "   JOIN onestop.dossier d USING (uid) WHERE d.source = %(s)s),"
        " (SELECT count(*) FROM onestop.outbox o JOIN onestop.dossier d USING (uid)"
        "  WHERE d.source = %(s)s AND o.state <> 'superseded')",
        {"s": SOURCE},
    ).fetchone()
    assert versions == states  # no version repeats a content already held
    assert deliveries == dossiers  # one live delivery per dossier
    doubled = db.execute(
        "SELECT record_id FROM onestop.quarantine WHERE source = %s GROUP BY record_id HAVING count(*) > 1",
        (SOURCE,),
    ).fetchall()
    assert doubled == []


def assert_database_is_the_truth(db: psycopg.Connection, sim: SimulatorProcess) -> list[dict]:
    rows = truth(sim)
    assert held(db) == expected(rows)
    quarantined = db.execute(
        "SELECT record_id FROM onestop.quarantine WHERE source = %s AND state = 'open'", (SOURCE,)
    ).fetchall()
    assert sorted(r for (r,) in quarantined) == sorted(r["id"] for r in rows if r["bad"])
    assert_nothing_doubled(db)
    return rows


def test_records_repeated_across_pages_are_loaded_once(db, monkeypatch) -> None:
    with district(monkeypatch, "dup_across_pages") as sim:
        counts = pipeline.sync(SOURCE)
        repeats = sim_get(sim, "/_sim/stats")["fault_dup_across_pages"]

        rows = assert_database_is_the_truth(db, sim)

    assert repeats == COUNT // 200  # pages 1..5 each start with page k-1's last record
    assert counts.fetched == len(rows) + repeats and counts.balanced()
    assert counts.duplicates == repeats and counts.quarantined == sum(1 for r in rows if r["bad"])
    assert db.execute("SELECT max(version) FROM onestop.dossier").fetchone()[0] == 1


def test_a_bad_record_served_twice_counts_as_one_quarantined_and_one_duplicate(db, monkeypatch) -> None:
    # Seed 44: the record page 1 repeats (window position 199) is a deliberately bad one (missing_code).
    with district(monkeypatch, "dup_across_pages", seed=44) as sim:
        counts = pipeline.sync(SOURCE)
        repeats = sim_get(sim, "/_sim/stats")["fault_dup_across_pages"]

        rows = assert_database_is_the_truth(db, sim)  # the database itself is right: one quarantine row

    bad = sum(1 for r in rows if r["bad"])
    assert counts.fetched == len(rows) + repeats and counts.balanced()
    assert (counts.quarantined, counts.duplicates) == (bad, repeats)  # got (bad + 1, repeats - 1)


def test_an_older_version_served_after_the_newer_one_does_not_win(db, monkeypatch) -> None:
    with district(monkeypatch, "out_of_order") as sim:
        counts = pipeline.sync(SOURCE)
        older = sim_get(sim, "/_sim/stats")["fault_out_of_order"]

        rows = assert_database_is_the_truth(db, sim)

    assert older == COUNT // 200 - 1  # pages 1..4 (page 5 is empty) each carry one stale copy
    assert counts.fetched == len(rows) + older and counts.balanced()
    assert counts.duplicates == older  # reduced to the newest inside the run's batch
    assert db.execute("SELECT max(version) FROM onestop.dossier").fetchone()[0] == 1


def test_tokens_revoked_mid_sync_are_renewed_and_no_page_is_lost(db, monkeypatch) -> None:
    with district(monkeypatch, "token_expiry", every=2) as sim:
        counts = pipeline.sync(SOURCE)
        stats = sim_get(sim, "/_sim/stats")

        rows = assert_database_is_the_truth(db, sim)

    assert counts.fetched == len(rows) and counts.duplicates == 0
    # 6 page requests on tokens good for 2 each: revoked after pages 1, 3 and 5; pages 2 and 4 got a 401 first.
    assert stats["fault_token_expiry"] == 3 and stats["unauthorized"] == 2 and stats["tokens_issued"] == 3
    refused = db.execute(
        "SELECT count(*) FROM onestop.attempt WHERE endpoint = %s AND error_class = 'AuthError'"
        " AND http_status = 401",
        (SOURCE,),
    ).fetchone()[0]
    assert refused == 2  # absorbed by a renewal, and still visible to the administrators


def test_all_paging_faults_at_once(db, monkeypatch) -> None:
    faults = ("dup_across_pages", "out_of_order", "token_expiry")
    with district(monkeypatch, *faults, seed=8) as sim:
        counts = pipeline.sync(SOURCE)
        stats = sim_get(sim, "/_sim/stats")

        rows = assert_database_is_the_truth(db, sim)

    assert all(stats[f"fault_{f}"] > 0 for f in faults)
    assert counts.balanced() and counts.loaded == sum(1 for r in rows if not r["bad"])


def test_a_record_changed_while_paging_is_skipped_once_and_the_next_sync_picks_it_up(db, monkeypatch) -> None:
    with district(monkeypatch, "change_while_paging") as sim:
        start = sim_clock(sim)
        # A run whose window ends at the system's now, as it would if both clocks agreed.
        first = pipeline.sync(SOURCE, now=start)
        faults = sim_get(sim, "/_sim/faults")
        changes = {c["id"]: c for c in faults["changed"]}
        after_first = truth(sim)

        # Pages 1..4 each changed a good dossier of a page not read yet: each moved past the window and
        # was skipped by this read; the database has every other dossier exactly.
        assert len(changes) == 4 and first.fetched == len(after_first) - 4
        want = expected(after_first)
        assert held(db) == {i: v for i, v in want.items() if i not in changes}
        assert set(want) - set(held(db)) == set(changes)
        mark = db.execute("SELECT value FROM onestop.watermark WHERE source = %s", (SOURCE,)).fetchone()[0]
        assert (
            mark <= start < min(datetime.fromisoformat(c["after"]["updatedDate"]) for c in changes.values())
        )

        # The next run (the system's clock a little later, the fault gone): its window starts at the
        # watermark minus the lookback, before every skipped change, so the database equals the truth.
        requests.post(f"{sim.url}/_sim/faults", json={"faults": []}, timeout=10).raise_for_status()
        requests.post(f"{sim.url}/_sim/clock", json={"advance_hours": 0.25}, timeout=10).raise_for_status()
        run = pipeline.plan(SOURCE, now=sim_clock(sim))
        assert run.window_start == mark - registry.load().source(SOURCE).lookback
        pipeline.extract(run.run_id)
        second = pipeline.load(run.run_id)

        assert_database_is_the_truth(db, sim)
    assert second.loaded >= len(changes)
    statuses = dict(
        db.execute(
            "SELECT source_record_id, status FROM onestop.dossier WHERE source_record_id = ANY(%s)",
            (list(changes),),
        ).fetchall()
    )
    assert statuses == {i: c["after"]["status"] for i, c in changes.items()}


def test_a_change_inside_a_window_reaching_past_it_is_read_at_the_end_and_nothing_is_skipped(
    db, monkeypatch
) -> None:
    with district(monkeypatch, "change_while_paging") as sim:
        counts = pipeline.sync(SOURCE)  # the window ends at the real now, long after the system's clock
        changes = sim_get(sim, "/_sim/faults")["changed"]

        rows = assert_database_is_the_truth(db, sim)

    assert changes and counts.fetched == len(rows)
