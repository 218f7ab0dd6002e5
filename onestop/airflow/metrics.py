"""Per-source figures where a province's monitoring looks: Airflow's metrics facility (StatsD or OpenTelemetry, as
the deployment's `[metrics]` section configures: `statsd_on` / `otel_on`; nothing is sent when neither is on).

Every figure is a gauge named `onestop.source.<name>.<metric>` (Airflow adds its `statsd_prefix`, `airflow.` by
default) holding the database's truth: the cumulative counters of `onestop status`, the deliveries failing now,
the watermark lag on the source's own clock, the breaker and the last run's duration. Sent after each sync and
each delivery run, and for every source by `onestop_metrics` every five minutes: a re-sent figure never counts
twice, a restarted exporter is right again at the next refresh, and a stalled source's lag keeps growing where
Grafana can see it. docker/statsd_exporter.yaml maps the names to Prometheus labels.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import psycopg

from connectors.store import status
from onestop.operations import health
from onestop.registry import Registry

log = logging.getLogger(__name__)

PREFIX = "onestop.source"
COUNTERS = ("fetched", "loaded", "stale", "quarantined", "duplicates", "delivered")
GAUGES = ("failed_deliveries", "watermark_lag_seconds", "breaker_state", "last_run_duration_seconds")
METRICS = COUNTERS + GAUGES
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


def figures(
    conn: psycopg.Connection, config: Registry, *, only: str | None = None, now: datetime | None = None
) -> dict[str, dict[str, float]]:
    """source -> metric -> value, for every registered source (or `only` that one). A figure that does not exist
    yet (no watermark, no run) is left out rather than sent as 0."""
    now = now or datetime.now(UTC)
    counters = status.source_counters(conn)
    failing = dict(
        conn.execute(
            "SELECT d.source, count(*) FROM onestop.outbox o JOIN onestop.dossier d ON d.uid = o.uid"
            " WHERE o.state IN ('failed', 'dead') AND o.resolved_at IS NULL GROUP BY d.source"
        ).fetchall()
    )
    durations = dict(
        conn.execute(
            "SELECT DISTINCT ON (source) source, extract(epoch FROM finished_at - started_at)::float8"
            " FROM onestop.sync_run WHERE state = 'loaded' AND finished_at IS NOT NULL"
            " ORDER BY source, run_id DESC"
        ).fetchall()
    )
    out: dict[str, dict[str, float]] = {}
    for h in health.source_health(conn, config, now):
        if only is not None and h.source != only:
            continue
        c = counters.get(h.source, {})
        values: dict[str, float] = {k: float(c.get(k) or 0) for k in COUNTERS}
        values["failed_deliveries"] = float(failing.get(h.source, 0))
        values["breaker_state"] = float(BREAKER_STATES.get(h.breaker, 2))
        if h.watermark_lag is not None:
            values["watermark_lag_seconds"] = max(h.watermark_lag.total_seconds(), 0.0)
        if h.source in durations:
            values["last_run_duration_seconds"] = float(durations[h.source])
        out[h.source] = values
    return out


def publish(values: dict[str, dict[str, float]]) -> int:
    """Send each figure as a gauge through Airflow's stats backend; returns how many were sent."""
    stats = _stats()
    sent = 0
    for source, metrics in values.items():
        for metric, value in metrics.items():
            stats.gauge(f"{PREFIX}.{source}.{metric}", value)
            sent += 1
    return sent


def refresh(only: str | None = None) -> dict[str, Any]:
    """Read and send the figures (of one source after its run, of all from the periodic DAG). Monitoring never
    fails a sync: a problem here is logged and the run goes on."""
    from onestop import db, registry

    try:
        with db.connect(autocommit=True) as conn:
            values = figures(conn, registry.load(), only=only)
        return {"sources": len(values), "sent": publish(values)}
    except Exception as exc:  # best effort: the data path never waits on monitoring
        log.warning("metrics not sent: %s: %s", type(exc).__name__, exc)
        return {"sources": 0, "sent": 0, "error": type(exc).__name__}


_made_for: tuple[str, ...] | None = None  # the [metrics] settings this process's backend was made from


def _stats() -> Any:
    """Airflow's stats module, its backend made once per process from the configuration (again only when
    `[metrics]` changed): a task process has one already (the task runner makes it); dag.test(), the CLI and the
    scheduler's parse do not. Made per call, an OpenTelemetry backend would start a meter provider each time."""
    global _made_for
    from airflow.sdk.configuration import conf
    from airflow.sdk.observability import stats
    from airflow.sdk.observability.metrics.stats_utils import get_stats_factory

    keys = ("statsd_on", "otel_on", "statsd_datadog_enabled", "statsd_host", "statsd_port", "statsd_prefix")
    wanted = tuple(str(conf.get("metrics", k, fallback="")) for k in keys)
    if wanted != _made_for:
        stats.initialize(factory=get_stats_factory(), export_legacy_names=False)
        _made_for = wanted
    return stats
