"""Shared fixtures: a real PostgreSQL (embedded, or ONESTOP_TEST_PG's server), real simulator processes,
and Airflow on a session-scoped SQLite metadata database. No socket may leave this machine."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
import requests

from connectors.store import staging
from onestop.airflow import env as airflow_env
from onestop.db import with_database

if TYPE_CHECKING:
    from onestop.airflow.cluster import AirflowCluster
from onestop.simulators.process import SimulatorProcess, start_simulator

ROOT = Path(__file__).resolve().parents[1]
TABLES = (
    "sync_run, staging, dossier, dossier_version_past, status_history, quarantine, watermark, outbox, attempt,"
    " task_failure, conflict, portal_call, circuit, message_log, message_log_checkpoint, reconciliation_mismatch, reconciliation,"
    " admin_action, alert"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scheduler: runs the real Airflow scheduler (slower tier)")
    config.addinivalue_line(
        "markers", "slow: a second whole end-to-end run, or 60 MB pages (slower tier, `make test-slow`)"
    )
    config.addinivalue_line(
        "markers",
        "browser: the stack `make ui` starts: the console in Chromium, what it listens on (`make test-browser`)",
    )
    config.addinivalue_line(
        "markers", "after_all: runs after the other tests of its run (what they left behind)"
    )
    config.addinivalue_line(
        "markers",
        "distributed: CeleryExecutor, two workers, this machine's PostgreSQL and Redis (`make test-distributed`)",
    )
    config.addinivalue_line(
        "markers",
        "wheelhouse: the offline wheelhouse installed into a fresh venv (slower tier, `make test-wheelhouse`)",
    )
    config.addinivalue_line(
        "markers",
        "embedded_server: the embedded PostgreSQL itself (deselected when ONESTOP_TEST_PG names a server)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On another server (`make test-pg15`) the embedded server's own tests are deselected, not skipped: under
    CI=true a skip fails the tier, and these tests have nothing to say about that server."""
    if not os.environ.get("ONESTOP_TEST_PG"):
        return
    kept, embedded = [], []
    for item in items:
        (embedded if item.get_closest_marker("embedded_server") else kept).append(item)
    if embedded:
        config.hook.pytest_deselected(items=embedded)
        items[:] = kept


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With CI=true an unexpected skip is a failure: a tier that cannot run must say so, not pass quietly."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI") == "true" and skipped and exitstatus == 0:
        reporter.write_line(f"CI=true: {skipped} test(s) skipped unexpectedly", red=True)
        session.exitstatus = 1


@pytest.fixture(scope="session", autouse=True)
def onestop_env() -> Iterator[Path]:
    """Each session gets its own data folder; DAG retries off (dag.test() really waits retry_delay).

    Not under pytest's basetemp: a pytest session started beside this one deletes all but the three newest
    basetemps, and with them this session's running database."""
    var = Path(tempfile.mkdtemp(prefix="onestop-test-"))
    saved = dict(os.environ)
    os.environ.update({"ONESTOP_VAR": str(var), "ONESTOP_TASK_RETRIES": "0", "ONESTOP_HOME": str(ROOT)})
    os.environ.pop("ONESTOP_DB_URL", None)
    airflow_env.configure(home=var / "airflow")  # before anything imports Airflow
    yield var
    os.environ.clear()
    os.environ.update(saved)
    shutil.rmtree(var, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url(onestop_env: Path) -> Iterator[str]:
    """The unified database for the session: a fresh database on ONESTOP_TEST_PG's server, else embedded."""
    from onestop import db, embedded_db

    server = os.environ.get("ONESTOP_TEST_PG")
    if server:
        name = f"onestop_test_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = with_database(server, name)
    else:
        url = embedded_db.start()
    db.upgrade(url)
    os.environ["ONESTOP_DB_URL"] = url
    yield url
    os.environ.pop("ONESTOP_DB_URL", None)
    end_airflow_sessions()
    if server:
        drop_database(server, name)
    else:
        embedded_db.stop()


def end_airflow_sessions() -> None:
    """This process's Airflow ORM let go before the session's server stops: its session may hold a connection
    that a dropped scratch database cut (rolling it back fails), and Airflow's own atexit hook printed that
    failure after the suite. Invalidated, the connection is dropped without a ROLLBACK."""
    airflow_settings = sys.modules.get("airflow.settings")
    if airflow_settings is None:
        return
    if airflow_settings.Session is not None:
        with suppress(Exception):
            airflow_settings.Session.registry().invalidate()
    with suppress(Exception):
        airflow_settings.dispose_orm()


def drop_database(url: str, name: str) -> None:
    """Drop a database once its last client has let go (WITH (FORCE) has been seen to take the embedded
    server down with it)."""
    for attempt in range(40):
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                if attempt:  # a pool that outlived its cluster (an Airflow engine in this process): let it go
                    conn.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = %s AND pid <> pg_backend_pid()",
                        (name,),
                    )
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            return
        except psycopg.errors.ObjectInUse:
            time.sleep(0.5)
    raise RuntimeError(f"database {name} is still in use")


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A fresh database on the same server (Airflow's metadata for a cluster test), dropped afterwards."""
    name = f"scratch_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(url, name)
    finally:
        drop_database(url, name)


@pytest.fixture(scope="session")
def airflow_api(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowCluster]:
    """Airflow's API server, shared by the modules that talk to it (the connection forms, the console): the
    console plugin mounted, the DAGs registered (no dag-processor, no scheduler), users admin and viewer."""
    from onestop.airflow.cluster import AirflowCluster, sqlalchemy_url

    with scratch_database(pg_url) as metadata:
        cluster = AirflowCluster(
            home=tmp_path_factory.mktemp("airflow_api"),
            metadata_url=sqlalchemy_url(metadata),
            users=API_USERS,
            extra_env={"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"},
        )
        try:
            cluster.prepare()
            cluster.airflow("dags", "reserialize")
            cluster.start("api-server")
            cluster.wait_ready()
            yield cluster
        finally:
            cluster.stop()


API_USERS = {"admin": ("admin", "admin-pw"), "viewer": ("viewer", "viewer-pw")}


@pytest.fixture
def db(pg_url: str) -> Iterator[psycopg.Connection]:
    """An empty unified database for each test, and an autocommitted connection to inspect it."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        empty(conn)
        yield conn


def empty(conn: psycopg.Connection) -> None:
    """Every table of the unified database emptied, and an earlier test's runs that never loaded dropped."""
    conn.execute(f"TRUNCATE {', '.join('onestop.' + t.strip() for t in TABLES.split(','))} RESTART IDENTITY")
    for run_id in staging.staged_runs(conn):
        staging.drop(conn, run_id)


def set_connection(conn_id: str, url: str, **fields) -> None:
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps({"conn_type": "http", "host": url, **fields})


PORTAL_FIELDS = {
    "login": "portal",
    "password": "secret",
    "extra": {"dstcode": "H23", "madonvi": "000.00.00.H23"},
}
IGATE_FIELDS = {"login": "igate", "password": "secret"}
SOURCES = ("hd_thanh_pho_hai_duong", "hd_chi_linh", "hd_kinh_mon")
DISTRICTS = ("288", "290", "292")


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    state = tmp_path_factory.mktemp("portal") / "portal.sqlite"
    with start_simulator("portal", "--state", str(state)) as sim:
        set_connection("onestop_portal", sim.url, **PORTAL_FIELDS)
        yield sim


@pytest.fixture(scope="module")
def districts() -> Iterator[dict[str, SimulatorProcess]]:
    """The registry's three iGate-style district systems, 300 dossiers each."""
    sims: dict[str, SimulatorProcess] = {}
    try:
        for i, (name, district) in enumerate(zip(SOURCES, DISTRICTS, strict=True)):
            sims[name] = start_simulator(
                "igate", "--seed", str(100 + i), "--count", "300", "--district", district
            )
            set_connection(f"onestop_src_{name}", sims[name].url, **IGATE_FIELDS)
        yield sims
    finally:
        for sim in sims.values():
            sim.stop()


def shipped_spec(kind: str, **changes: object):
    """The shipped registry's protocol section for `kind` (a config/sources.yaml profile), with `changes`."""
    from onestop import registry

    spec = getattr(next(s for s in registry.load().sources if s.kind == kind), kind)
    return type(spec).model_validate({**spec.model_dump(by_alias=True, exclude_unset=True), **changes})


def truth(sim: SimulatorProcess) -> list[dict]:
    return truth_at(sim.url)


def truth_at(url: str) -> list[dict]:
    """A simulator's ground truth: every dossier it holds now, and which are deliberately bad."""
    resp = requests.get(f"{url}/_sim/truth", timeout=60)
    resp.raise_for_status()
    return [json.loads(line) for line in resp.text.splitlines() if line]


def portal_summary(sim: SimulatorProcess) -> dict:
    return requests.get(f"{sim.url}/_inspect/summary", timeout=30).json()


def reset_portal(sim: SimulatorProcess) -> None:
    requests.post(f"{sim.url}/_inspect/reset", timeout=30).raise_for_status()
