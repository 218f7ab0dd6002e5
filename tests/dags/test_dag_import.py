"""The dags folder parses cleanly and quickly, into one sync DAG per registered source plus delivery."""

from __future__ import annotations

import time

from onestop import airflow_env, registry


def test_the_dags_folder_imports_without_errors_and_quickly() -> None:
    started = time.perf_counter()
    dags = airflow_env.dags()
    elapsed = time.perf_counter() - started
    print(f"\nDAG folder parsed in {elapsed:.2f} s ({len(dags)} DAGs)")

    names = registry.load().names()
    assert set(dags) == {f"onestop_sync_{n}" for n in names} | {"onestop_deliver_portal"}


def test_each_source_dag_is_plan_extract_load_in_its_own_pool_and_updates_the_asset() -> None:
    dags = airflow_env.dags()
    for source in registry.load().sources:
        dag = dags[f"onestop_sync_{source.name}"]
        assert {t.task_id for t in dag.tasks} == {"plan", "extract", "load"}
        assert all(t.pool == source.pool for t in dag.tasks)
        assert [a.uri for a in dag.get_task("load").outlets] == ["onestop://unified/dossiers"]
        assert dag.max_active_runs == 1


def test_delivery_is_scheduled_on_the_dossiers_asset() -> None:
    dag = airflow_env.dags()["onestop_deliver_portal"]
    assert "onestop://unified/dossiers" in str(dag.timetable.asset_condition)
