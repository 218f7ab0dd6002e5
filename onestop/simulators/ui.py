"""`make ui` (`onestop ui`): the administrators' console to look at, on one machine.

Starts the embedded PostgreSQL (the unified database, and Airflow's metadata in a database of its own: SQLite
locks under a scheduler and an API server), the district and portal simulators, and a sync that leaves
failures behind: ~1% of the district records are bad (quarantined) and one delivery round meets the portal
down (failed deliveries). Then Airflow's components, each a process of its own (not `airflow standalone`): the
api-server, the scheduler (LocalExecutor), the dag-processor and the triggerer, with the console plugin and the
re-drive and delivery DAGs switched on. Prints `URL:`, `user:`, `password:`; Ctrl-C stops everything. The browser
tests start the same.

Everything listens on 127.0.0.1 only: the api-server (`--host 127.0.0.1`), the simulators and the chaos proxy;
the embedded PostgreSQL on a Unix socket alone. The scheduler and the triggerer start no log server
(`--skip-serve-logs`: Airflow's binds every interface, with no setting to change that); the api-server reads the
task logs from the files on this machine. Each component's own output is in `<home>/<component>.log`.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from connectors.errors import ConnectorError
from connectors.spec.source import SourceConfig
from onestop import db, embedded_db, pipeline, registry, settings
from onestop.airflow import cluster as airflow_cluster
from onestop.airflow.cluster import AirflowCluster
from onestop.chaos.proxy_client import start_proxy
from onestop.simulators import demo
from onestop.simulators.process import SimulatorProcess

# The DAGs the console relies on: re-drives, and the delivery that follows each (Asset-triggered).
LIVE_DAGS = ("onestop_redrive", "onestop_deliver_portal")


@dataclass
class ConsoleStack:
    cluster: AirflowCluster
    sims: dict[str, SimulatorProcess]
    portal: SimulatorProcess
    db_url: str

    @property
    def url(self) -> str:
        return self.cluster.url


def ensure_database(url: str, name: str) -> str:
    """A database of this name on the same server (created when missing); its URL."""
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return db.with_database(url, name)


def _port(preferred: int = 8080) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return airflow_cluster.free_port()


def seed_failures(sources: list[SourceConfig], portal: SimulatorProcess) -> None:
    """One sync of every source (its bad records go to quarantine), then one delivery round that meets the
    portal answering 503 to every record call (that batch becomes failed deliveries, due again later)."""
    for source in sources:
        pipeline.sync(source.name)
    variable = f"AIRFLOW_CONN_{registry.load().portal.conn_id.upper()}"
    reachable = os.environ[variable]
    with start_proxy(portal.url) as proxy:
        proxy.set_fault(type="status", status=503, path="/integration", every=1)
        os.environ[variable] = json.dumps({**json.loads(reachable), "host": proxy.url})
        try:
            pipeline.deliver(limit=100)
        except ConnectorError:
            pass  # the outage is the point: its failures are in the outbox
        finally:
            os.environ[variable] = reachable


@contextmanager
def running(
    *,
    dossiers: int = 1200,
    seed: int = 20251126,
    bad_rate: float = 0.03,
    users: dict[str, tuple[str, str]] | None = None,
    port: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[ConsoleStack]:
    home = settings.var_dir() / "ui"
    home.mkdir(parents=True, exist_ok=True)
    users = users or {"admin": ("admin", secrets.token_urlsafe(9))}
    with ExitStack() as stack:
        url = stack.enter_context(embedded_db.running())
        os.environ["ONESTOP_DB_URL"] = url
        stack.callback(os.environ.pop, "ONESTOP_DB_URL", None)
        db.recreate(url)  # a clean province each time
        sources = [s for s in registry.load().sources if s.dialect in demo.SIMULATORS]
        sims, portal = demo.start_simulators(
            stack, sources, seed, dossiers, extra_args=("--hostile-rate", "0.02", "--bad-rate", str(bad_rate))
        )
        seed_failures(sources, portal)
        metadata = ensure_database(url, "airflow")
        with psycopg.connect(metadata, autocommit=True) as conn:  # a fresh Airflow each time too
            conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        cluster = AirflowCluster(
            home=home / "airflow",
            metadata_url=airflow_cluster.sqlalchemy_url(metadata),
            users=users,
            port=port or _port(),
            extra_env={"AIRFLOW__CORE__LOAD_EXAMPLES": "False", **(extra_env or {})},
            serve_logs=False,
        )
        cluster.prepare()
        cluster.import_pools()
        stack.callback(cluster.stop)
        cluster.start("api-server", "scheduler", "dag-processor", "triggerer")
        cluster.wait_ready(timeout=180)
        cluster.wait_for_dags(list(LIVE_DAGS))
        cluster.unpause(list(LIVE_DAGS))
        yield ConsoleStack(cluster, sims, portal, url)


def main(dossiers: int = 1200, port: int | None = None) -> int:
    print(
        "starting: embedded PostgreSQL, simulators, a sync that leaves failures, Airflow's api-server, scheduler,"
        " dag-processor and triggerer (all on 127.0.0.1) …",
        flush=True,
    )
    with running(dossiers=dossiers, port=port) as ui:
        user, (_, password) = next(iter(ui.cluster.users.items()))
        print(f"URL: {ui.url}")
        print(f"user: {user}")
        print(f"password: {password}", flush=True)
        logs = ", ".join(f"{name}.log" for name in ui.cluster.procs)
        print(
            f"(console: {ui.url}/onestop/ · Airflow's logs: {Path(ui.cluster.home)}/ ({logs}; task logs in logs/)"
            " · Ctrl-C stops)"
        )
        stop = False

        def _stop(*_: object) -> None:
            nonlocal stop
            stop = True

        # Ctrl-C (SIGINT) and SIGTERM both end the wait; Airflow's imports may have replaced Python's SIGINT
        # handler, so it is set here rather than relying on KeyboardInterrupt.
        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        while not stop:
            for name, proc in ui.cluster.procs.items():
                if proc.poll() is not None:
                    print(f"airflow {name} exited {proc.returncode}: {ui.cluster.log_tail(name)}")
                    return 1
            time.sleep(1)
        print("stopping …", flush=True)
    return 0
