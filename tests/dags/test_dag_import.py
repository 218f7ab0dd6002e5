"""The dags folder parses cleanly and quickly, into one sync DAG per registered source plus delivery."""

from __future__ import annotations

import time

from onestop import registry
from onestop.airflow import env as airflow_env


def test_the_dags_folder_imports_without_errors_and_quickly() -> None:
    started = time.perf_counter()
    dags = airflow_env.dags()
    elapsed = time.perf_counter() - started
    print(f"\nDAG folder parsed in {elapsed:.2f} s ({len(dags)} DAGs)")

    names = registry.load().names()
    expected = {f"onestop_{kind}_{n}" for n in names for kind in ("sync", "archive")}
    expected |= {
        "onestop_deliver_portal",
        "onestop_redrive",
        "onestop_reconcile",
        "onestop_purge",
        "onestop_alerts",
        "onestop_metrics",
    }
    assert set(dags) == expected


def test_each_source_dag_is_plan_extract_load_in_its_own_pool_and_updates_the_asset() -> None:
    dags = airflow_env.dags()
    for source in registry.load().sources:
        for kind in ("sync", "archive"):
            dag = dags[f"onestop_{kind}_{source.name}"]
            assert {t.task_id for t in dag.tasks} == {"plan", "extract", "load"}
            assert all(t.pool == source.pool for t in dag.tasks)
            assert [a.uri for a in dag.get_task("load").outlets] == ["onestop://unified/dossiers"]


def test_archive_dags_give_each_backfill_run_one_ho_chi_minh_day() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    dag = airflow_env.dags()["onestop_archive_hd_chi_linh"]
    day = datetime(2025, 3, 4, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    interval = dag.timetable.infer_manual_data_interval(run_after=day)
    assert (interval.end - interval.start).total_seconds() == 86400
    assert interval.start.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).hour == 0


def test_delivery_is_scheduled_on_the_dossiers_asset() -> None:
    dag = airflow_env.dags()["onestop_deliver_portal"]
    assert "onestop://unified/dossiers" in str(dag.timetable.asset_condition)
