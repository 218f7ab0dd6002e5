"""The real scheduler (LocalExecutor, PostgreSQL metadata): two source DAGs run in parallel, and their loads'
Asset event starts the delivery DAG, which no one triggers by hand."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime

import pytest
import yaml

from onestop.airflow.cluster import AirflowCluster, sqlalchemy_url
from onestop.simulators.process import start_simulator
from tests.conftest import (
    IGATE_FIELDS,
    ROOT,
    SOURCES,
    portal_summary,
    scratch_database,
    set_connection,
    truth_at,
)

pytestmark = pytest.mark.scheduler
PARALLEL = SOURCES[:2]


@pytest.fixture(scope="module")
def cluster(pg_url, portal, tmp_path_factory) -> Iterator[AirflowCluster]:
    # Slow district systems (latency per page) so that the two syncs overlap in time.
    sims = [
        start_simulator(
            "igate", "--seed", str(7 + i), "--count", "3000", "--latency", "400", "--district", district
        )
        for i, district in enumerate(("288", "290"))
    ]
    for source, sim in zip(PARALLEL, sims, strict=True):
        set_connection(f"onestop_src_{source}", sim.url, **IGATE_FIELDS)
    # The registry as shipped, but unscheduled: the test alone starts the source runs.
    registry_file = tmp_path_factory.mktemp("registry") / "sources.yaml"
    shipped = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text())
    shipped["defaults"]["schedule"] = None
    registry_file.write_text(yaml.safe_dump(shipped, allow_unicode=True))
    with scratch_database(pg_url) as metadata:
        cluster = AirflowCluster(
            home=tmp_path_factory.mktemp("airflow_cluster"),
            metadata_url=sqlalchemy_url(metadata),
            extra_env={"ONESTOP_SOURCES": str(registry_file)},
        )
        try:
            cluster.prepare()
            cluster.import_pools()
            cluster.start("api-server", "scheduler", "dag-processor")
            cluster.wait_ready()
            yield cluster
        finally:
            cluster.stop()
            for sim in sims:
                sim.stop()


def test_two_sources_sync_in_parallel_and_delivery_starts_from_the_asset(db, cluster, portal) -> None:
    dag_ids = [f"onestop_sync_{s}" for s in PARALLEL]
    cluster.wait_for_dags([*dag_ids, "onestop_deliver_portal"])
    cluster.unpause([*dag_ids, "onestop_deliver_portal"])
    runs = {d: cluster.trigger(d) for d in dag_ids}

    def finished() -> bool:
        states = [cluster.api("GET", f"/dags/{d}/dagRuns/{r}")["state"] for d, r in runs.items()]
        assert "failed" not in states, f"a source run failed: {states}\n{cluster.log_tail('scheduler')}"
        return all(s == "success" for s in states)

    cluster.wait_until(finished, 300, "the source runs did not finish")

    spans = []
    for dag_id, run_id in runs.items():
        tis = cluster.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        starts = [datetime.fromisoformat(t["start_date"]) for t in tis]
        ends = [datetime.fromisoformat(t["end_date"]) for t in tis]
        spans.append((min(starts), max(ends)))
    (a0, a1), (b0, b1) = spans
    assert a0 < b1 and b0 < a1, f"the two source runs did not overlap: {spans}"

    def delivered_by_asset():
        runs = cluster.api("GET", "/dags/onestop_deliver_portal/dagRuns")["dag_runs"]
        done = [r for r in runs if r["run_type"] == "asset_triggered" and r["state"] == "success"]
        return (
            done
            and db.execute("SELECT count(*) FROM onestop.outbox WHERE state <> 'delivered'").fetchone()[0]
            == 0
        )

    cluster.wait_until(delivered_by_asset, 300, "the asset-triggered delivery did not deliver everything")
    dossiers = db.execute("SELECT count(*) FROM onestop.dossier").fetchone()[0]
    assert dossiers > 0
    assert db.execute("SELECT count(*) FROM onestop.conflict").fetchone()[0] == 0
    assert portal_summary(portal)["accepted"] == dossiers


def test_a_backfill_of_three_past_days_loads_exactly_those_days(db, cluster) -> None:
    source = PARALLEL[1]
    dag_id = f"onestop_archive_{source}"
    cluster.wait_for_dags([dag_id])
    cluster.unpause([dag_id])
    backfill = cluster.api(
        "POST",
        "/backfills",
        json={"dag_id": dag_id, "from_date": "2025-03-03T00:00:00+07:00", "to_date": "2025-03-05T00:00:00+07:00",
              "max_active_runs": 3},
    )  # fmt: skip

    def backfill_runs():
        runs = [r for r in cluster.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 50})["dag_runs"]
                if r["run_type"] == "backfill"]  # fmt: skip
        assert all(r["state"] != "failed" for r in runs), f"a backfill run failed: {runs}"
        return runs if len(runs) == 3 and all(r["state"] == "success" for r in runs) else None

    runs = cluster.wait_until(backfill_runs, 300, f"backfill {backfill['id']} did not finish")

    days = sorted(
        (datetime.fromisoformat(r["data_interval_start"]), datetime.fromisoformat(r["data_interval_end"]))
        for r in runs
    )
    assert [(end - start).days for start, end in days] == [1, 1, 1]
    start, end = days[0][0], days[-1][1]
    sim_url = os.environ[f"AIRFLOW_CONN_ONESTOP_SRC_{source.upper()}"]
    served = [r for r in truth_at(json.loads(sim_url)["host"]) if not r["bad"]]
    expected = {r["id"] for r in served if start <= datetime.fromisoformat(r["updatedDate"]) < end}
    loaded = {
        row[0]
        for row in db.execute("SELECT source_record_id FROM onestop.dossier WHERE source = %s", (source,))
    }
    assert expected and loaded == expected
