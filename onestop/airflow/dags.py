"""DAG factories: one sync DAG per registered source, and the portal delivery DAG on the dossiers Asset.

Imported by the thin files in dags/ every time Airflow parses them, so the top level here stays cheap:
reading the registry YAML is all it does; the pipeline (psycopg, pydantic, the mappings) is imported inside
the tasks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from typing import Any

import pendulum
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, get_current_context, get_parsing_context, task
from airflow.timetables.interval import CronDataIntervalTimetable
from airflow.timetables.trigger import CronTriggerTimetable

from connectors.spec.source import SourceConfig
from onestop import registry

# Updated by every source's load; the delivery DAG runs when it changes.
DOSSIERS = Asset("onestop://unified/dossiers")
TZ = pendulum.timezone("Asia/Ho_Chi_Minh")
START = pendulum.datetime(2025, 1, 1, tz=TZ)


@cache
def _cron_trigger(expression: str) -> CronTriggerTimetable:
    """One timetable per cron expression, shared by the DAGs that use it (timetables are immutable): building
    one runs croniter and cron_descriptor, over a quarter of the parse time when each DAG built its own."""
    return CronTriggerTimetable(expression, timezone=TZ)


@cache
def _cron_interval(expression: str) -> CronDataIntervalTimetable:
    return CronDataIntervalTimetable(expression, timezone=TZ)


def _retries() -> dict[str, Any]:
    # Tests and the demo set ONESTOP_TASK_RETRIES=0: dag.test() really waits out retry_delay.
    return {
        "retries": int(os.environ.get("ONESTOP_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
        "on_execute_callback": _mask_logs,
    }


def _mask_logs(context: dict[str, Any]) -> None:
    """Every task's log lines pass through the personal-data mask (citizen IDs, phones, e-mails)."""
    from onestop.privacy import install_log_masking

    install_log_masking()


@contextmanager
def fail_fast() -> Iterator[None]:
    """Errors another try cannot cure (credentials refused, a bad registry or connection, an answer we cannot
    use) fail the task at once instead of spending its retries; timeouts, resets, 5xx and an open breaker retry."""
    from airflow.sdk.exceptions import AirflowFailException

    from connectors.errors import AuthError, ConfigError, ProtocolError

    try:
        yield
    except (AuthError, ConfigError, ProtocolError) as exc:
        raise AirflowFailException(str(exc)) from exc


class TaskLost(RuntimeError):
    """A task that ended without an error of its own: Airflow saw its process die (killed, out of memory, its
    machine lost) and says so in words, not in an exception the task raised."""


def failure_of(context: dict[str, Any]) -> BaseException:
    """What failed a task, as the failure callback's context gives it: the task's own error (not how Airflow was
    told: fail_fast), else a TaskLost with what Airflow said. Airflow's scheduler hands the callback of a task
    whose process it lost a plain Exception of its own message (the executor's report, the heartbeat's details),
    or none."""
    from airflow.sdk.exceptions import AirflowFailException

    error = context.get("exception")
    if error is None:
        return TaskLost("the task ended without an error of its own")
    if isinstance(error, str):
        return TaskLost(error)
    if isinstance(error, AirflowFailException) and error.__cause__ is not None:
        return error.__cause__
    if type(error) is Exception:  # no code of ours raises a bare Exception: the scheduler's words
        return TaskLost(str(error))
    return error


def record_failure(context: dict[str, Any]) -> None:
    """on_failure_callback: the failure lands in onestop.task_failure for the administrators' pages."""
    from connectors.store.attempts import record_task_failure
    from onestop.embedded_db import database_url

    ti = context["ti"]
    error = failure_of(context)
    record_task_failure(
        database_url(),
        dag_id=ti.dag_id,
        run_id=context.get("run_id"),
        task_id=ti.task_id,
        source=(context.get("params") or {}).get("source") or _source_of(ti.dag_id),
        error=error,
    )


def _source_of(dag_id: str) -> str | None:
    """onestop_sync_<source> / onestop_archive_<source> → <source> (those DAGs carry no params: jsonschema
    checks of a param on each of 1,400 DAGs cost a country-sized registry ~0.8 s per parse)."""
    for prefix in ("onestop_sync_", "onestop_archive_"):
        if dag_id.startswith(prefix):
            return dag_id[len(prefix) :]
    return None


def _interval() -> tuple[Any, Any] | None:
    ctx = get_current_context()
    start, end = ctx.get("data_interval_start"), ctx.get("data_interval_end")
    return (start, end) if start is not None and end is not None and start < end else None


# The per-source tasks are plain PythonOperators over module-level functions, not @task: a country's
# registry builds 4,200 of them per parse, and TaskFlow's decorator (signature binding, nested defaults)
# costs ~40% more per task. Only the sync run's id travels between them (the plan task's XCom).
def plan_task(source: str) -> int:
    from onestop import pipeline

    ctx = get_current_context()
    with fail_fast():
        return pipeline.plan(source, airflow_run_id=ctx["run_id"], interval=_interval()).run_id


def extract_task(ti: Any) -> int:
    from onestop import pipeline

    with fail_fast():
        return pipeline.extract(ti.xcom_pull(task_ids="plan"))


def load_task(ti: Any) -> dict[str, int]:
    from onestop import pipeline
    from onestop.airflow import metrics

    with fail_fast():
        counts = pipeline.load(ti.xcom_pull(task_ids="plan")).as_dict()
    metrics.refresh(only=_source_of(ti.dag_id))
    return counts


def _sync_tasks(source: SourceConfig) -> None:
    """plan → extract → load, inside the DAG being built."""
    plan = PythonOperator(task_id="plan", python_callable=plan_task, op_args=[source.name])
    extract = PythonOperator(task_id="extract", python_callable=extract_task)
    load = PythonOperator(task_id="load", python_callable=load_task, outlets=[DOSSIERS])
    plan >> extract >> load


def _defaults(source: SourceConfig) -> dict[str, Any]:
    # A Celery queue per source kind (rest, soap, xml, feed): workers near a kind's systems (or with its
    # libraries) serve that queue (`airflow celery worker --queues rest,default`); the fixed DAGs use
    # `default`. LocalExecutor and dag.test() ignore queues.
    limit = {"execution_timeout": source.task_timeout} if source.task_timeout else {}
    return {
        **_retries(),
        **limit,
        "pool": source.pool,
        "queue": source.kind,
        "on_failure_callback": record_failure,
    }


def source_dag(source: SourceConfig) -> DAG:
    """The regular sync: each run reads [watermark − lookback, now] (cron runs have no interval of their own)."""
    with DAG(
        dag_id=f"onestop_sync_{source.name}",
        description=f"Sync {source.title} ({source.kind}, dialect {source.dialect}) into the unified database",
        schedule=_cron_trigger(source.schedule) if source.schedule else None,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=["onestop", "source", source.kind, source.dialect],
        default_args=_defaults(source),
        doc_md=f"Pulls dossiers of **{source.title}** (`{source.name}`) through connection `{source.conn_id}`.",
    ) as dag:
        _sync_tasks(source)
    return dag


def archive_dag(source: SourceConfig) -> DAG:
    """Backfills from a district's archive with Airflow's own backfill (`airflow backfill create`): one run per
    Asia/Ho_Chi_Minh day, each reading exactly its day. Paused: it runs only when a backfill asks."""
    with DAG(
        dag_id=f"onestop_archive_{source.name}",
        description=f"Backfill {source.title} day by day (airflow backfill create --dag-id …)",
        schedule=_cron_interval("0 0 * * *"),
        start_date=START,
        catchup=False,
        max_active_runs=2,
        is_paused_upon_creation=True,
        tags=["onestop", "archive", source.kind, source.dialect],
        default_args=_defaults(source),
        doc_md=f"Day-by-day backfill of **{source.title}**: `airflow backfill create --dag-id onestop_archive_{source.name} --from-date … --to-date …`.",
    ) as dag:
        _sync_tasks(source)
    return dag


def delivery_dag() -> DAG:
    with DAG(
        dag_id="onestop_deliver_portal",
        description="Deliver new dossier versions from the outbox to the National Public Service Portal",
        schedule=[DOSSIERS],
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=["onestop", "portal"],
        default_args={**_retries(), "on_failure_callback": record_failure},
    ) as dag:

        @task
        def deliver() -> dict[str, int | bool]:
            from onestop import pipeline
            from onestop.airflow import metrics

            with fail_fast():
                counts = pipeline.deliver().as_dict()
            metrics.refresh()  # delivered and failing deliveries, of every source the round touched
            return counts

        deliver()
    return dag


def redrive_dag() -> DAG:
    """Triggered by an administrator (or the UI through Airflow's API) with params: quarantined records and
    failed deliveries go through the pipeline again; the Asset then starts delivery."""
    with DAG(
        dag_id="onestop_redrive",
        description="Re-drive quarantined records, failed deliveries and failed syncs"
        " (params: source, error_class, ids; or keys from the console)",
        schedule=None,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=["onestop", "redrive"],
        params={"source": None, "error_class": None, "ids": [], "keys": [], "action_id": None},
        default_args={**_retries(), "on_failure_callback": record_failure},
    ) as dag:

        @task(outlets=[DOSSIERS])
        def redrive() -> dict[str, int]:
            from onestop.operations.redrive import redrive as run_redrive

            params = get_current_context()["params"]
            return run_redrive(
                params.get("source"),
                params.get("error_class"),
                params.get("ids") or None,
                keys=params.get("keys") or None,
                action_id=params.get("action_id"),
            ).as_dict()

        redrive()
    return dag


def reconcile_dag() -> DAG:
    """Daily at 03:00 Asia/Ho_Chi_Minh for the day before, one task per source; on demand with params day
    (YYYY-MM-DD) and sources. Mismatch rows wait for `onestop redrive` (or the onestop_redrive DAG)."""
    with DAG(
        dag_id="onestop_reconcile",
        description="Per source and day: counts and checksums at the source, in the database and at the portal",
        schedule=CronTriggerTimetable("0 3 * * *", timezone=TZ),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=["onestop", "reconcile"],
        params={"day": None, "sources": []},
        default_args={**_retries(), "on_failure_callback": record_failure},
    ) as dag:

        @task
        def sources() -> list[str]:
            wanted = get_current_context()["params"].get("sources") or []
            return wanted or [s.name for s in registry.load().sources]

        @task(max_active_tis_per_dagrun=4)
        def reconcile_source(source: str) -> dict[str, Any]:
            from datetime import date

            from onestop.operations import reconcile

            ctx = get_current_context()
            day = ctx["params"].get("day")
            when = date.fromisoformat(day) if day else reconcile.yesterday(ctx["logical_date"])
            report = reconcile.reconcile_source_day(registry.load().source(source), when)
            # Counts only through XCom; the mismatch rows are in onestop.reconciliation_mismatch.
            return {k: v for k, v in report.as_dict().items() if k != "mismatches"} | {
                "mismatches": len(report.mismatches)
            }

        reconcile_source.expand(source=sources())
    return dag


def _periodic(
    dag_id: str, description: str, schedule: Any, tag: str, default_args: dict[str, Any] | None = None
) -> DAG:
    """An upkeep DAG on a timetable: one run at a time, no catch-up; a failed task is recorded for the console."""
    return DAG(
        dag_id=dag_id,
        description=description,
        schedule=schedule,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        tags=["onestop", tag],
        default_args=default_args or {**_retries(), "on_failure_callback": record_failure},
    )


def purge_dag() -> DAG:
    """Daily at 02:30 Asia/Ho_Chi_Minh: raw payloads past their retention (registry `retention:`) are purged,
    their hashes kept so the message log still verifies."""
    with _periodic(
        "onestop_purge",
        "Purge raw payloads (staging, quarantine) and old incidents past their retention period",
        CronTriggerTimetable("30 2 * * *", timezone=TZ),
        "privacy",
    ) as dag:

        @task
        def purge() -> dict[str, Any]:
            from onestop.operations import retention

            return retention.purge().as_dict()

        purge()
    return dag


def alerts_dag() -> DAG:
    """Every 10 minutes: raise and clear source alerts (freshness, error rate, breaker) and notify the changes
    by e-mail and chat webhook (registry `alerts:`); a failed notification fails the task and is sent again."""
    with _periodic(
        "onestop_alerts",
        "Raise and clear source alerts (freshness, error rate, breaker); notify each change",
        _cron_trigger("*/10 * * * *"),
        "alerts",
    ) as dag:

        @task
        def check_sources() -> dict[str, int]:
            from onestop import db
            from onestop.airflow import alerts

            with db.connect(autocommit=True) as conn:
                changes = alerts.run(conn, registry.load())
            return {action: sum(c.action == action for c in changes) for action in ("raised", "cleared")}

        check_sources()
    return dag


def metrics_dag() -> DAG:
    """Every 5 minutes: every source's figures sent through Airflow's metrics facility (onestop.airflow.metrics), so that
    a source that stopped syncing still shows its lag growing."""
    # No retries: the next run, five minutes on, sends the figures anew.
    with _periodic(
        "onestop_metrics",
        "Send every source's figures (counters, lag, breaker, last run) to StatsD/OpenTelemetry",
        _cron_trigger("*/5 * * * *"),
        "metrics",
        default_args={"retries": 0},
    ) as dag:

        @task
        def send_metrics() -> dict[str, Any]:
            from onestop.airflow import metrics

            return metrics.refresh()

        send_metrics()
    return dag


def source_dags() -> dict[str, DAG]:
    sources = registry.load().sources
    # A worker running one task parses the file for that DAG only (Airflow's parsing context): build just it.
    wanted = get_parsing_context().dag_id
    if wanted and (name := _source_of(wanted)):
        sources = [s for s in sources if s.name == name] or sources
    return {dag.dag_id: dag for s in sources for dag in (source_dag(s), archive_dag(s))}
