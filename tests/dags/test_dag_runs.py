"""One dag.test() per DAG shape, end to end against the simulators and a real PostgreSQL."""

from __future__ import annotations

import pytest

from connectors.store import status
from onestop.airflow import env as airflow_env
from tests.conftest import SOURCES, portal_summary, reset_portal, truth


@pytest.fixture(scope="module")
def dags() -> dict:
    airflow_env.migrate()
    return airflow_env.dags()


def test_a_source_dag_then_the_delivery_dag_bring_the_district_to_the_portal(
    db, districts, portal, dags
) -> None:
    reset_portal(portal)
    source = SOURCES[1]

    assert airflow_env.run_dag(dags[f"onestop_sync_{source}"]) == "success"
    assert airflow_env.run_dag(dags["onestop_deliver_portal"]) == "success"

    good = [r for r in truth(districts[source]) if not r["bad"]]
    run = db.execute("SELECT airflow_run_id, state, loaded FROM onestop.sync_run").fetchone()
    assert run[0].startswith("manual__") and run[1] == "loaded" and run[2] == len(good)
    assert status.database_counts(db)["dossiers"] == len(good)
    assert portal_summary(portal)["accepted"] == len(good)
    assert db.execute("SELECT count(*) FROM onestop.outbox WHERE state <> 'delivered'").fetchone()[0] == 0


def test_a_failing_task_is_recorded_for_the_administrators(db, districts, portal, dags, monkeypatch) -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_ONESTOP_SRC_{SOURCES[2].upper()}",
        '{"conn_type": "http", "host": "http://127.0.0.1:9"}',
    )

    assert airflow_env.run_dag(dags[f"onestop_sync_{SOURCES[2]}"]) == "failed"

    failure = db.execute("SELECT dag_id, task_id, source, error_class FROM onestop.task_failure").fetchone()
    assert failure == (f"onestop_sync_{SOURCES[2]}", "extract", SOURCES[2], "TransientError")
    assert (
        db.execute("SELECT count(*) FROM onestop.attempt WHERE endpoint = %s", (SOURCES[2],)).fetchone()[0]
        >= 1
    )


def test_the_reconcile_dag_reconciles_each_source_for_the_day_it_is_given(
    db, districts, portal, dags
) -> None:
    from onestop.pipeline import deliver, sync

    reset_portal(portal)
    sync(SOURCES[0])
    deliver()
    day = db.execute(
        "SELECT (source_updated_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day FROM onestop.dossier"
        " GROUP BY day ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]

    conf = {"day": day.isoformat(), "sources": [SOURCES[0]]}
    assert airflow_env.run_dag(dags["onestop_reconcile"], conf) == "success"

    row = db.execute(
        "SELECT day, source, source_count, db_count, mismatches FROM onestop.reconciliation"
    ).fetchone()
    assert row[:2] == (day, SOURCES[0]) and row[2] == row[3] > 0 and row[4] == 0


def test_refused_credentials_fail_the_task_at_once_without_spending_its_retries(
    db, districts, portal, dags, monkeypatch
) -> None:
    import json
    import os

    from onestop.airflow import dags as airflow_dags
    from onestop.chaos.proxy_client import start_proxy
    from onestop.pipeline import sync

    sync(SOURCES[0])
    with start_proxy(portal.url) as proxy:
        conn = json.loads(os.environ["AIRFLOW_CONN_ONESTOP_PORTAL"])
        wrong = {**conn, "host": proxy.url, "password": "wrong"}
        monkeypatch.setenv("AIRFLOW_CONN_ONESTOP_PORTAL", json.dumps(wrong))
        monkeypatch.setenv("ONESTOP_TASK_RETRIES", "2")  # a retry would call the portal again

        assert airflow_env.run_dag(airflow_dags.delivery_dag()) == "failed"

        assert proxy.counters()["requests"] == 1  # one login, refused; no retry
    failure = db.execute("SELECT task_id, error_class, message FROM onestop.task_failure").fetchone()
    assert failure[:2] == ("deliver", "AuthError") and "login refused" in failure[2]


def test_a_connection_that_is_not_defined_fails_the_task_as_a_configuration_said_in_vietnamese(
    db, districts, portal, dags, monkeypatch
) -> None:
    from types import SimpleNamespace

    from onestop.console import render, words
    from tests.onestop.console.test_reasons import OTHER

    monkeypatch.delenv(f"AIRFLOW_CONN_ONESTOP_SRC_{SOURCES[1].upper()}")

    assert airflow_env.run_dag(dags[f"onestop_sync_{SOURCES[1]}"]) == "failed"

    row = db.execute("SELECT task_id, error_class, message FROM onestop.task_failure").fetchone()
    assert row[:2] == ("extract", "ConfigError") and f"onestop_src_{SOURCES[1]}" in row[2]
    failure = SimpleNamespace(kind="task", error_class=row[1], message=row[2])
    assert render.error_class_label(row[1]).startswith("Cấu hình sai")
    assert str(words.failure_message(failure)).startswith("Chưa khai báo kết nối Airflow")
    assert OTHER not in str(words.failure_message(failure))


def test_a_task_past_its_time_limit_is_stopped_and_recorded(db, districts, portal, dags, monkeypatch) -> None:
    """A district system that takes the connection and never answers: the source's `task_timeout` (Airflow's
    execution_timeout) stops the extract, and the failure says so in Vietnamese."""
    import time
    from datetime import timedelta
    from types import SimpleNamespace

    from onestop import registry
    from onestop.airflow import dags as airflow_dags
    from onestop.console import render, words
    from tests.connectors.scripted_server import routed_server

    def never_answers(path: str, _sent: bytes) -> tuple[int, dict[str, str], bytes]:
        time.sleep(6)
        return 503, {}, b""

    source = registry.load().source(SOURCES[0]).model_copy(update={"task_timeout": timedelta(seconds=2)})
    with routed_server(never_answers) as (url, _):
        monkeypatch.setenv(
            f"AIRFLOW_CONN_ONESTOP_SRC_{SOURCES[0].upper()}", f'{{"conn_type": "http", "host": "{url}"}}'
        )
        started = time.monotonic()
        assert airflow_env.run_dag(airflow_dags.source_dag(source)) == "failed"
        assert time.monotonic() - started < 30

    row = db.execute("SELECT task_id, error_class, message FROM onestop.task_failure").fetchone()
    assert row[:2] == ("extract", "AirflowTaskTimeout") and row[2].startswith("Timeout, PID: ")
    failure = SimpleNamespace(kind="task", error_class=row[1], message=row[2])
    assert render.error_class_label(row[1]) == "Tác vụ chạy quá thời gian cho phép"
    assert str(words.failure_message(failure)).startswith("tác vụ chạy quá thời gian cho phép")
