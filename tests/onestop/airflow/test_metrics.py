"""Operators see each source's figures in their own monitoring: a sync run and a delivery run (dag.test()) and the
periodic `onestop_metrics` DAG send gauges named `onestop.source.<name>.<metric>` through Airflow's metrics facility
(StatsD here, as `[metrics] statsd_on` configures) to a real UDP listener; a source that stopped syncing shows its
watermark lag growing from one refresh to the next."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from onestop import pipeline, registry
from onestop.airflow import env as airflow_env
from onestop.airflow import metrics
from tests.conftest import SOURCES, reset_portal

PREFIX = "airflow.onestop.source"  # Airflow's statsd_prefix, then ours


class StatsdListener:
    """A StatsD server as far as the test needs one: every datagram's `name:value|type` lines, kept in order."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[tuple[str, float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            for line in data.decode().splitlines():
                name, _, rest = line.partition(":")
                value, _, kind = rest.partition("|")
                self.lines.append((name, float(value), kind))

    def gauges(self, source: str, timeout: float = 5) -> dict[str, float]:
        """The latest gauge of each metric of `source`, once every metric it always has arrived."""
        deadline = time.monotonic() + timeout
        while True:
            found = {
                name.rsplit(".", 1)[1]: value
                for name, value, kind in list(self.lines)
                if kind == "g" and name.startswith(f"{PREFIX}.{source}.")
            }
            if set(metrics.COUNTERS) | {"breaker_state", "failed_deliveries"} <= set(found):
                return found
            assert time.monotonic() < deadline, f"no complete set of gauges for {source}: {found}"
            time.sleep(0.05)

    def clear(self) -> None:
        self.lines.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def statsd(monkeypatch: pytest.MonkeyPatch) -> Iterator[StatsdListener]:
    listener = StatsdListener()
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "True")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_HOST", "127.0.0.1")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PORT", str(listener.port))
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PREFIX", "airflow")
    yield listener
    monkeypatch.undo()
    metrics._stats()  # this process's backend made again from the configuration without StatsD
    listener.close()


@pytest.fixture(scope="module")
def dags() -> dict:
    airflow_env.migrate()
    return airflow_env.dags()


def test_a_sync_run_and_a_delivery_run_send_their_sources_figures(
    db, districts, portal, dags, statsd
) -> None:
    reset_portal(portal)
    source, other = SOURCES[0], SOURCES[1]

    assert airflow_env.run_dag(dags[f"onestop_sync_{source}"]) == "success"

    run = db.execute(
        "SELECT fetched, loaded, stale, quarantined, duplicates, extract(epoch FROM finished_at - started_at)"
        " FROM onestop.sync_run WHERE source = %s",
        (source,),
    ).fetchone()
    sent = statsd.gauges(source)
    assert [sent[m] for m in ("fetched", "loaded", "stale", "quarantined", "duplicates")] == list(run[:5])
    assert sent["fetched"] > 0 and sent["quarantined"] > 0  # the district's bad records counted as such
    assert sent["delivered"] == 0 and sent["failed_deliveries"] == 0 and sent["breaker_state"] == 0
    assert sent["last_run_duration_seconds"] == pytest.approx(float(run[5]), abs=0.01)
    assert (
        0 <= sent["watermark_lag_seconds"] < 7 * 86_400
    )  # on the district's own clock (ours is 500 days on)
    assert not any(
        name.startswith(f"{PREFIX}.{other}.") for name, _v, _k in statsd.lines
    )  # its run, its figures

    statsd.clear()
    assert airflow_env.run_dag(dags["onestop_deliver_portal"]) == "success"
    delivered = db.execute(
        "SELECT count(*) FROM onestop.outbox o JOIN onestop.dossier d USING (uid)"
        " WHERE d.source = %s AND o.state = 'delivered'",
        (source,),
    ).fetchone()[0]
    assert delivered == run[1] > 0
    assert statsd.gauges(source)["delivered"] == delivered


def test_the_periodic_dag_refreshes_every_source_and_a_stalled_sources_lag_grows(
    db, districts, portal, dags, statsd
) -> None:
    stalled = SOURCES[2]
    pipeline.sync(stalled)  # then nothing more: the source stalls

    assert airflow_env.run_dag(dags["onestop_metrics"]) == "success"
    names = registry.load().names()
    first = {s: statsd.gauges(s) for s in names}  # every registered source, synced or not
    assert all(first[s]["breaker_state"] == 0 for s in names)
    assert all("watermark_lag_seconds" not in first[s] for s in names if s not in SOURCES)  # no watermark yet

    time.sleep(2)
    statsd.clear()
    assert airflow_env.run_dag(dags["onestop_metrics"]) == "success"
    second = statsd.gauges(stalled)
    grown = second["watermark_lag_seconds"] - first[stalled]["watermark_lag_seconds"]
    assert grown >= 2, (first[stalled], second)
    assert (
        second["fetched"] == first[stalled]["fetched"]
    )  # a refresh re-sends the truth, it counts nothing twice


def test_a_broken_database_never_fails_the_run_that_sends_figures(monkeypatch, statsd) -> None:
    monkeypatch.setenv("ONESTOP_DB_URL", "postgresql://nobody@127.0.0.1:9/nothing?connect_timeout=1")

    assert metrics.refresh() == {"sources": 0, "sent": 0, "error": "OperationalError"}
