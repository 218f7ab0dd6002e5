"""Delivery under faults, through the real fault proxy in front of the real portal simulator: a portal outage
over a whole run loses nothing, and answers lost on the way back are resent exactly once and counted."""

from __future__ import annotations

import json
import os
import time

import pytest
import yaml

from connectors.errors import ConnectorError
from connectors.store.breaker import breaker_states
from onestop import pipeline
from onestop.chaos.proxy_client import start_proxy
from tests.conftest import ROOT, SOURCES, reset_portal


@pytest.fixture
def proxied_portal(portal, monkeypatch, tmp_path):
    """The portal behind a fault proxy; a registry whose breakers cool down in 1 s and backoff starts at 1 s."""
    registry = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
    registry["breakers"] = {"threshold": 3, "cooldown": "1s", "max_cooldown": "4s"}
    registry["portal"].update({"retry_backoff": "1s", "timeout_s": 2})
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("ONESTOP_SOURCES", str(tmp_path / "sources.yaml"))
    with start_proxy(portal.url) as proxy:
        conn = json.loads(os.environ["AIRFLOW_CONN_ONESTOP_PORTAL"])
        monkeypatch.setenv("AIRFLOW_CONN_ONESTOP_PORTAL", json.dumps({**conn, "host": proxy.url}))
        reset_portal(portal)
        yield proxy


def portal_breaker(db) -> tuple:
    return next((s for s in breaker_states(db) if s[0] == "portal"), ("portal", "closed", 0, None, None))


def test_a_portal_outage_over_a_whole_run_loses_nothing_and_the_next_run_drains_the_backlog(
    db, districts, proxied_portal
) -> None:
    loaded = pipeline.sync(SOURCES[0]).loaded
    proxied_portal.set_fault(type="down")

    with pytest.raises(ConnectorError, match="portal"):
        pipeline.deliver()  # retries, then gives up with a clear error naming the portal
    with pytest.raises(ConnectorError, match="circuit open"):
        pipeline.deliver()  # the open breaker fails fast: the portal is not hammered

    refused = proxied_portal.counters()["injected"]["down"]
    states = dict(db.execute("SELECT state, count(*) FROM onestop.outbox GROUP BY state").fetchall())
    assert states == {"failed": 100, "pending": loaded - 100}  # one batch tried; nothing lost, nothing sent
    assert portal_breaker(db)[1] == "open"
    failures = db.execute("SELECT count(*) FROM onestop.attempt WHERE endpoint = 'portal'").fetchone()[0]
    assert failures >= 3

    proxied_portal.clear()
    time.sleep(
        max(float((portal_breaker(db)[3] - db.execute("SELECT now()").fetchone()[0]).total_seconds()), 0)
        + 1.2
    )
    drained = pipeline.deliver()

    assert portal_breaker(db)[1] == "closed"  # the half-open trial went through and closed it
    assert drained.delivered == loaded and drained.resends == 0
    assert db.execute("SELECT count(*) FROM onestop.outbox WHERE state <> 'delivered'").fetchone()[0] == 0
    assert proxied_portal.counters()["injected"]["down"] == refused  # no call during the second run


def test_an_answer_lost_after_the_portal_applied_it_is_resent_once_and_counted(
    db, districts, proxied_portal
) -> None:
    loaded = pipeline.sync(SOURCES[1]).loaded
    proxied_portal.set_fault(type="reset", phase="after", count=1, path="/integration")

    counts = pipeline.deliver()

    assert proxied_portal.counters()["answer_lost"] == 1
    assert counts.delivered == loaded
    assert counts.resends == 100  # the first batch of 100 records went twice
    assert db.execute("SELECT sum(resends) FROM onestop.outbox").fetchone()[0] == 100
