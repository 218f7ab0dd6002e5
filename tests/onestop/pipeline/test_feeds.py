"""A change feed through the pipeline: acknowledged only after the load commits, deletions marked, nothing twice."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from connectors.store import status
from onestop import pipeline
from onestop.simulators.process import SimulatorProcess, start_simulator
from tests.conftest import truth

FEED = "hd_so_tu_phap"


@pytest.fixture
def feed(monkeypatch) -> Iterator[SimulatorProcess]:
    with start_simulator("feed", "--seed", "31", "--count", "400", "--delete-rate", "0.05") as sim:
        conn = {"conn_type": "onestop_feed", "host": sim.url, "password": "feed-key"}
        monkeypatch.setenv(f"AIRFLOW_CONN_ONESTOP_SRC_{FEED.upper()}", json.dumps(conn))
        yield sim


def stats(sim: SimulatorProcess) -> dict:
    return requests.get(f"{sim.url}/_sim/stats", timeout=10).json()


def test_a_batch_killed_between_load_and_acknowledgement_comes_again_and_loads_no_duplicate(
    db, feed, monkeypatch
) -> None:
    def die_before_ack(run_id: int) -> int:
        raise SystemExit("worker killed after the load committed, before the acknowledgement")

    monkeypatch.setattr(pipeline.steps, "acknowledge", die_before_ack)  # what load() calls
    with pytest.raises(SystemExit):
        pipeline.sync(FEED)
    first = status.database_counts(db)
    assert first["dossiers"] > 0 and stats(feed)["acked"] == 0

    monkeypatch.undo()
    monkeypatch.setenv(
        f"AIRFLOW_CONN_ONESTOP_SRC_{FEED.upper()}", json.dumps({"host": feed.url, "password": "feed-key"})
    )
    requests.post(f"{feed.url}/_sim/expire_leases", timeout=10).raise_for_status()
    again = pipeline.sync(FEED)

    assert again.fetched > 0 and again.loaded == 0  # the same events again: unchanged, not new versions
    assert again.unchanged + again.quarantined + again.deleted + again.duplicates == again.fetched
    assert status.database_counts(db) == first
    assert db.execute("SELECT count(*) FROM onestop.dossier_version WHERE version > 1").fetchone()[0] == 0
    assert stats(feed)["redelivered"] > 0 and stats(feed)["pending"] == 0


def test_a_deletion_in_the_feed_marks_the_dossier_deleted(db, feed) -> None:
    requests.post(f"{feed.url}/_sim/clock", json={"advance_hours": 24 * 30}, timeout=30).raise_for_status()
    counts = pipeline.sync(FEED)

    served = truth(feed)
    deleted = {r["id"] for r in served if r.get("deleted")}
    assert deleted and counts.deleted >= len(deleted) and counts.balanced()
    marked = {
        r[0]
        for r in db.execute(
            "SELECT source_record_id FROM onestop.dossier WHERE deleted AND deleted_at IS NOT NULL"
        )
    }
    good_deleted = {r["id"] for r in served if r.get("deleted") and not r["bad"]}
    assert good_deleted <= marked <= deleted
    live = status.database_counts(db)["dossiers"]
    assert live == len([r for r in served if not r["bad"] and not r.get("deleted")])
