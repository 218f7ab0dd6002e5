"""Our pipeline, and the bench's dlt peer, read the pre-rendered iGate simulator as they read the normal one.

The registry's `hd_thanh_pho_hai_duong` connection points at a normal-mode simulator, then at a pre-rendered one
(same seed and count); each gets a first sync, a clock move of two days, and a second sync, into an emptied
database. The run counts and the canonical rows' checksum (what `onestop checksum` prints) are the same. dlt's
rest_api loads each mode twice (a clock move between) into its own database: the same table, the same requests.
(The dlt test needs the dlt peer's venv, like tests/bench/test_dlt_peer.py; ONESTOP_BENCH_DLT=0 skips it.)
"""

from __future__ import annotations

import psycopg
import requests

from connectors.store import status
from connectors.store.runs import RunCounts
from onestop import pipeline
from onestop.simulators.process import start_simulator
from tests.bench import test_dlt_peer
from tests.bench.test_dlt_peer import DATASET
from tests.bench.test_dlt_peer import load as dlt_load
from tests.conftest import IGATE_FIELDS, SOURCES, TABLES, scratch_database, set_connection

# The dlt peer's venv, as tests/bench/test_dlt_peer.py gets it (built on first use; ONESTOP_BENCH_DLT=0 skips).
dlt_venv = test_dlt_peer.dlt_python

SOURCE = SOURCES[0]  # hd_thanh_pho_hai_duong, district 288 (the simulator's default)
ARGS = ("--seed", "100", "--count", "2000", "--span-days", "175")


def counts(run: RunCounts) -> tuple[int, int, int]:
    return run.fetched, run.loaded, run.quarantined


def sync_twice(db: psycopg.Connection, *extra: str) -> tuple[list[tuple[int, int, int]], str]:
    db.execute(f"TRUNCATE {', '.join('onestop.' + t.strip() for t in TABLES.split(','))} RESTART IDENTITY")
    with start_simulator("igate", *ARGS, *extra) as sim:
        set_connection(f"onestop_src_{SOURCE}", sim.url, **IGATE_FIELDS)
        first = pipeline.sync(SOURCE)
        requests.post(f"{sim.url}/_sim/clock", json={"advance_hours": 48}, timeout=30).raise_for_status()
        second = pipeline.sync(SOURCE)
        return [counts(first), counts(second)], status.checksum(db)


def test_a_sync_of_the_prerendered_system_equals_one_of_the_normal_system(db) -> None:
    normal = sync_twice(db)
    prerendered = sync_twice(db, "--prerendered")
    assert prerendered == normal
    (fetched, loaded, quarantined), (refetched, _, _) = normal[0]
    assert fetched > 1000 and loaded > 0 and quarantined > 0 and refetched > 0


def dlt_table(url: str) -> tuple[str, int]:
    """A digest of dlt's table, its own columns (_dlt_*) left out."""
    with psycopg.connect(url) as conn:
        columns = [row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = 'dossiers'"
            " AND column_name NOT LIKE '\\_dlt%%' ORDER BY 1", (DATASET,))]  # fmt: skip
        row = conn.execute(
            f"SELECT md5(string_agg(row_to_json(t)::text, ',' ORDER BY id)), count(*)"
            f" FROM (SELECT {', '.join(columns)} FROM {DATASET}.dossiers) t"
        ).fetchone()
        assert row is not None
        return row[0], row[1]


def test_dlt_loads_the_same_table_from_the_prerendered_system(dlt_venv, pg_url: str) -> None:
    """dlt's rest_api (the bench's peer), twice with a clock move between, from each mode into its own database."""
    tables = []
    for extra in ((), ("--prerendered",)):
        with start_simulator("igate", *ARGS, *extra) as sim, scratch_database(pg_url) as url:
            loads = []
            for _ in range(2):
                result = dlt_load(dlt_venv, sim.url, url)
                loads.append((result["rows"], result["rows_extracted"]))
                requests.post(
                    f"{sim.url}/_sim/clock", json={"advance_hours": 48}, timeout=30
                ).raise_for_status()
            stats = requests.get(f"{sim.url}/_sim/stats", timeout=30).json()
            tables.append((loads, dlt_table(url), stats))
    assert tables[1] == tables[0]
    assert tables[0][1][1] > 1000
