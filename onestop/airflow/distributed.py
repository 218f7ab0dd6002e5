"""Airflow's CeleryExecutor on one machine: Redis broker, PostgreSQL result backend, named Celery workers.

Used by the distributed-mode test (tests/distributed/): the same settings a multi-host deployment needs
(docker/), with the hosts played by processes. Each worker consumes a subset of the queues the source DAGs
use (one per source kind: rest, soap, xml, feed; `default` for the fixed DAGs) and reports its own hostname
on the task instances it runs (`[core] hostname_callable` = `worker_hostname`), as separate hosts would.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from onestop.airflow.cluster import AirflowCluster

REDIS_DBS = range(1, 16)  # db 0 is everybody's default: leave it alone
CLAIM_KEY = "onestop:distributed:claim"


def worker_hostname() -> str:
    """`[core] hostname_callable` of a worker: ONESTOP_WORKER_HOSTNAME (two workers on one machine), else the
    machine's FQDN as Airflow's default has it."""
    return os.environ.get("ONESTOP_WORKER_HOSTNAME") or socket.getfqdn()


def redis_reachable(url: str, timeout: float = 2) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping())
    except (redis.RedisError, OSError):
        return False


@dataclass(frozen=True)
class Broker:
    """A Redis database and key prefix this run alone uses."""

    host: str
    port: int
    db: int
    prefix: str

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/{self.db}"


@contextmanager
def fresh_broker(host: str = "127.0.0.1", port: int = 6379, ttl_s: int = 3600) -> Iterator[Broker]:
    """Claim an empty Redis database (SET NX of a claim key, expiring in case we die) and a fresh key
    prefix; afterwards delete exactly the keys under that prefix and the claim."""
    import redis

    token = uuid.uuid4().hex[:10]
    for db in REDIS_DBS:
        client = redis.Redis(host=host, port=port, db=db)
        if client.dbsize() == 0 and client.set(CLAIM_KEY, token, nx=True, ex=ttl_s):
            break
        client.close()
    else:
        raise RuntimeError(
            f"no empty Redis database among {REDIS_DBS.start}..{REDIS_DBS.stop - 1} on {host}:{port}"
        )
    broker = Broker(host, port, db, f"onestop-{token}:")
    try:
        yield broker
    finally:
        keys = list(client.scan_iter(match=f"{broker.prefix}*", count=500))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])
        if client.get(CLAIM_KEY) == token.encode():
            client.delete(CLAIM_KEY)
        client.close()


def celery_env(broker: Broker, result_backend: str) -> dict[str, str]:
    """Environment for every component of a CeleryExecutor cluster (scheduler, api-server, workers)."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker.url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": broker.prefix,
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": "default",
    }


@dataclass(frozen=True)
class Worker:
    name: str  # the task instances' hostname and the Celery node name (<name>@<machine>)
    queues: tuple[str, ...]
    concurrency: int = 2

    @property
    def node(self) -> str:
        return f"{self.name}@{socket.gethostname()}"


def start_worker(cluster: AirflowCluster, worker: Worker) -> None:
    """`airflow celery worker` with its own name, queues, hostname and log-server port."""
    from onestop.airflow.cluster import free_port

    cluster.start(
        f"celery worker --celery-hostname {worker.node} --queues {','.join(worker.queues)}"
        f" --concurrency {worker.concurrency} --without-mingle --without-gossip",
        name=f"worker {worker.name}",
        env={
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "onestop.airflow.distributed.worker_hostname",
            "ONESTOP_WORKER_HOSTNAME": worker.name,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        },
    )


def celery_app(broker: Broker) -> Any:
    from celery import Celery

    return Celery(broker=broker.url, broker_transport_options={"global_keyprefix": broker.prefix})


def wait_for_workers(
    cluster: AirflowCluster, broker: Broker, workers: Sequence[Worker], timeout: float = 120
) -> dict[str, list[str]]:
    """Wait until every worker answers a Celery ping; returns each node's queues as it consumes them."""
    app = celery_app(broker)
    wanted = {w.node for w in workers}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for name, proc in cluster.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"airflow {name} exited {proc.returncode}: {cluster.log_tail(name)}")
            answered = {node for reply in app.control.ping(timeout=2) or [] for node in reply}
            if wanted <= answered:
                queues = app.control.inspect(destination=sorted(wanted), timeout=5).active_queues() or {}
                return {node: sorted(q["name"] for q in qs) for node, qs in queues.items()}
            time.sleep(1)
    finally:
        app.close()
    tails = "\n".join(f"--- {w.name} ---\n{cluster.log_tail(f'worker {w.name}')}" for w in workers)
    raise TimeoutError(f"Celery workers {sorted(wanted)} did not answer a ping within {timeout:g} s\n{tails}")
