"""Distributed mode for real, without Docker: Airflow's CeleryExecutor on this machine's PostgreSQL and Redis.

api-server, scheduler and dag-processor, and two `airflow celery worker` processes, each serving a subset of the
queues (one per source kind; `default` for the delivery): worker A rest; worker B soap, xml, feed. The source
DAGs are triggered through Airflow's REST API; their loads' Asset event starts the delivery. The unified
database's checksum must equal a single-process run's over identical simulators (same seeds, same clocks).

Fresh databases per run (Airflow's metadata, the unified database, the reference), a Redis database and key
prefix of its own; all dropped afterwards. Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379
(ONESTOP_TEST_PG / ONESTOP_TEST_REDIS to point elsewhere).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml

from connectors.spec.source import SourceConfig
from onestop import registry
from onestop.airflow.cluster import AirflowCluster, sqlalchemy_url
from onestop.airflow.distributed import (
    Broker,
    Worker,
    celery_env,
    fresh_broker,
    redis_reachable,
    start_worker,
    wait_for_workers,
)
from onestop.db import with_database
from onestop.simulators.demo import PORTAL_LOGIN, SIMULATORS
from onestop.simulators.process import SimulatorProcess, start_simulator
from tests.conftest import ROOT, drop_database, portal_summary

pytestmark = pytest.mark.distributed

PG_SERVER = os.environ.get("ONESTOP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("ONESTOP_TEST_REDIS", "redis://127.0.0.1:6379/0")
SEED = 20250701
DOSSIERS = 2000  # across the sources
WORKERS = (Worker("worker-a", ("rest", "default")), Worker("worker-b", ("soap", "xml", "feed", "default")))


def _missing_service() -> str | None:
    try:
        psycopg.connect(PG_SERVER, connect_timeout=3).close()
    except psycopg.Error:
        return f"no PostgreSQL on {urlsplit(PG_SERVER).netloc or PG_SERVER}"
    if not redis_reachable(REDIS):
        return f"no Redis on {urlsplit(REDIS).netloc}"
    return None


def _registry(path: Path) -> list[SourceConfig]:
    """The shipped registry cut to its first source of each kind, unscheduled: the test starts the runs."""
    shipped = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text())
    profiles = shipped["profiles"]
    seen: set[str] = set()
    kept = []
    for source in shipped["sources"]:
        kind = profiles[source["profile"]]["kind"]
        if kind not in seen:
            seen.add(kind)
            kept.append(source)
    shipped["sources"] = kept
    shipped["defaults"]["schedule"] = None
    path.write_text(yaml.safe_dump(shipped, allow_unicode=True))
    return list(registry.load(path).sources)


def _start_systems(
    stack: ExitStack, mp: pytest.MonkeyPatch, sources: list[SourceConfig], state: Path
) -> SimulatorProcess:
    """The demo's simulators (onestop.simulators.demo.start_simulators' arguments), connections set in this env."""
    portal = stack.enter_context(start_simulator("portal", "--state", str(state / "portal.sqlite")))
    mp.setenv("AIRFLOW_CONN_ONESTOP_PORTAL", _conn(portal.url, PORTAL_LOGIN))
    per_source = DOSSIERS // len(sources)
    for i, source in enumerate(sources):
        module, login = SIMULATORS[source.dialect]
        args = ["--seed", str(SEED + i), "--count", str(per_source), "--span-days", "175"]
        if source.district_code:
            args += ["--district", source.district_code]
        sim = stack.enter_context(start_simulator(module, *args))
        mp.setenv(f"AIRFLOW_CONN_{source.conn_id.upper()}", _conn(sim.url, login))
    return portal


def _conn(url: str, fields: dict) -> str:
    import json

    return json.dumps({"conn_type": "http", "host": url, **fields})


def checksum(url: str) -> str:
    """`onestop checksum` (the CLI) of one unified database."""
    env = {**os.environ, "ONESTOP_DB_URL": url}
    out = subprocess.run(
        [sys.executable, "-m", "onestop.cli", "checksum"], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@dataclass
class Distributed:
    cluster: AirflowCluster
    broker: Broker
    sources: list[SourceConfig]
    unified: str  # the distributed run's unified database
    reference: str  # the single-process run's
    worker_queues: dict[str, list[str]]  # Celery node -> queues it consumes
    portal: SimulatorProcess  # the distributed run's portal
    reference_accepted: int  # dossiers the single-process run's portal accepted


@pytest.fixture(scope="module")
def distributed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Distributed]:
    if problem := _missing_service():
        pytest.skip(problem)
    from onestop import db, pipeline

    run = uuid.uuid4().hex[:8]
    names = {k: f"onestop_{k}_{run}" for k in ("airflow", "unified", "reference")}
    tmp = tmp_path_factory.mktemp("distributed")
    sources = _registry(tmp / "sources.yaml")
    with ExitStack() as stack, pytest.MonkeyPatch.context() as mp:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'CREATE DATABASE "{name}"')
                stack.callback(drop_database, PG_SERVER, name)
        urls = {k: with_database(PG_SERVER, name) for k, name in names.items()}
        db.upgrade(urls["unified"])
        db.upgrade(urls["reference"])
        mp.setenv("ONESTOP_SOURCES", str(tmp / "sources.yaml"))

        # The single-process run: every source's sync, then delivery, in this process, on its own simulators.
        with ExitStack() as ref_stack, pytest.MonkeyPatch.context() as ref_mp:
            (tmp / "reference").mkdir()
            ref_mp.setenv("ONESTOP_DB_URL", urls["reference"])
            ref_mp.setenv("ONESTOP_VAR", str(tmp / "reference"))
            ref_portal = _start_systems(ref_stack, ref_mp, sources, tmp / "reference")
            for source in sources:
                pipeline.sync(source.name)
            pipeline.deliver()
            reference_accepted = portal_summary(ref_portal)["accepted"]

        # The distributed run: identical simulators, a Celery cluster.
        (tmp / "distributed").mkdir()
        portal = _start_systems(stack, mp, sources, tmp / "distributed")
        broker = stack.enter_context(fresh_broker(*_host_port(REDIS)))
        metadata = sqlalchemy_url(urls["airflow"])
        cluster = AirflowCluster(
            home=tmp / "airflow",
            metadata_url=metadata,
            executor="CeleryExecutor",
            extra_env={
                **celery_env(broker, result_backend=f"db+{metadata}"),
                "ONESTOP_SOURCES": str(tmp / "sources.yaml"),
                "ONESTOP_DB_URL": urls["unified"],
                "ONESTOP_VAR": str(tmp / "distributed"),
            },
        )
        stack.callback(cluster.stop)
        cluster.prepare()
        cluster.import_pools()
        cluster.start("api-server", "scheduler", "dag-processor")
        for worker in WORKERS:
            start_worker(cluster, worker)
        cluster.wait_ready()
        queues = wait_for_workers(cluster, broker, WORKERS)
        yield Distributed(
            cluster, broker, sources, urls["unified"], urls["reference"], queues, portal, reference_accepted
        )


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 6379


def test_source_dags_run_on_two_celery_workers_and_match_the_single_process_run(
    distributed: Distributed,
) -> None:
    cluster, sources = distributed.cluster, distributed.sources
    assert distributed.worker_queues == {w.node: sorted(w.queues) for w in WORKERS}

    dag_ids = [f"onestop_sync_{s.name}" for s in sources]
    cluster.wait_for_dags([*dag_ids, "onestop_deliver_portal"])
    cluster.unpause([*dag_ids, "onestop_deliver_portal"])
    runs = {d: cluster.trigger(d) for d in dag_ids}

    def sources_done() -> bool:
        states = {d: cluster.api("GET", f"/dags/{d}/dagRuns/{r}")["state"] for d, r in runs.items()}
        assert "failed" not in states.values(), f"a source run failed: {states}"
        return all(s == "success" for s in states.values())

    cluster.wait_until(sources_done, 240, "the source runs did not finish")

    seen: dict[str, str] = {}  # the last state observed, for the timeout's message

    def delivered() -> list[dict] | None:
        deliveries = cluster.api("GET", "/dags/onestop_deliver_portal/dagRuns")["dag_runs"]
        assert all(r["state"] != "failed" for r in deliveries), f"a delivery run failed: {deliveries}"
        with psycopg.connect(distributed.unified) as conn:
            waiting = conn.execute(
                "SELECT count(*) FROM onestop.outbox WHERE state NOT IN ('delivered', 'superseded')"
            ).fetchone()[0]
        seen["delivery"] = (
            f"{waiting} outbox rows waiting; runs {[(r['run_type'], r['state']) for r in deliveries]}"
        )
        settled = deliveries and all(r["state"] == "success" for r in deliveries)
        triggered = any(r["run_type"] == "asset_triggered" for r in deliveries)
        return deliveries if settled and triggered and waiting == 0 else None

    deliveries = cluster.wait_until(
        delivered, 180, lambda: f"the asset-triggered delivery did not deliver everything: {seen}"
    )

    # Every task instance: succeeded, on a known worker, from a queue that worker serves; each kind on its worker.
    served = {w.name: set(w.queues) for w in WORKERS}
    kinds = {f"onestop_sync_{s.name}": s.kind for s in sources}
    tis = [
        ti
        for dag_id, run_id in [
            *runs.items(),
            *(("onestop_deliver_portal", r["dag_run_id"]) for r in deliveries),
        ]
        for ti in cluster.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
    ]
    bad = [
        (t["dag_id"], t["task_id"], t["state"], t["hostname"], t["queue"])
        for t in tis
        if t["state"] != "success"
        or t["hostname"] not in served
        or t["queue"] not in served[t["hostname"]]
        or t["queue"] != kinds.get(t["dag_id"], "default")
    ]
    assert not bad, f"task instances off their worker or queue: {bad}"
    assert {t["hostname"] for t in tis} == set(served), "both workers must have run tasks"

    # The result equals the single-process run's, and the portal holds it all.
    with psycopg.connect(distributed.unified) as conn:
        dossiers = conn.execute("SELECT count(*) FROM onestop.dossier").fetchone()[0]
        loaded = conn.execute("SELECT count(*) FROM onestop.sync_run WHERE state = 'loaded'").fetchone()[0]
    assert dossiers > DOSSIERS * 0.9 and loaded == len(sources)
    assert portal_summary(distributed.portal)["accepted"] == distributed.reference_accepted
    every_run = cluster.api("GET", "/dags/~/dagRuns", params={"limit": 100})["dag_runs"]
    assert [r for r in every_run if r["state"] == "failed"] == []
    ours, reference = checksum(distributed.unified), checksum(distributed.reference)
    assert ours == reference, f"distributed checksum {ours} != single-process {reference}"
