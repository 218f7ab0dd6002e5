"""Re-drive after a mapping fix or an outage: what failed goes through again, and a second re-drive does nothing."""

from __future__ import annotations

import json
import os

import pytest

from connectors.errors import TransientError
from connectors.store import status
from connectors.store.breaker import CircuitOpen
from mappings import clear_cache, mapping_path
from onestop import pipeline
from onestop.redrive import redrive
from tests.conftest import SOURCES, portal_summary, reset_portal, truth

SOURCE = SOURCES[0]


def test_quarantined_records_go_through_after_a_mapping_fix_and_only_once(
    db, districts, portal, monkeypatch, tmp_path
) -> None:
    reset_portal(portal)
    pipeline.sync(SOURCE)
    pipeline.deliver()
    unknown = {r["id"] for r in truth(districts[SOURCE]) if r["bad"] and "status" in r["bad"]}
    before = status.database_counts(db)

    fixed = mapping_path("igate").read_text().replace("    values: {0: 1,", "    values: {99: 4, 0: 1,", 1)
    (tmp_path / "igate.yaml").write_text(fixed)
    monkeypatch.setenv("ONESTOP_MAPPINGS_DIR", str(tmp_path))
    clear_cache()
    try:
        first = redrive(source=SOURCE, error_class="UnknownCode")
        delivered = pipeline.deliver()
        second = redrive(source=SOURCE, error_class="UnknownCode")
    finally:
        clear_cache()

    assert (first.tried, first.redriven, first.still_failing) == (len(unknown), len(unknown), 0)
    assert delivered.delivered == len(unknown)
    after = status.database_counts(db)
    assert after["dossiers"] == before["dossiers"] + len(unknown)
    assert after["quarantined"] == before["quarantined"] - len(unknown)
    states = dict(db.execute("SELECT record_id, state FROM onestop.quarantine").fetchall())
    assert {states[r] for r in unknown} == {"redriven"}
    assert set(second.as_dict().values()) == {0}
    assert portal_summary(portal)["accepted"] == after["dossiers"]


def test_deliveries_failed_in_a_portal_outage_are_sent_again(db, districts, portal, monkeypatch) -> None:
    reset_portal(portal)
    loaded = pipeline.sync(SOURCE).loaded
    good = json.loads(os.environ["AIRFLOW_CONN_ONESTOP_PORTAL"])
    monkeypatch.setenv("AIRFLOW_CONN_ONESTOP_PORTAL", json.dumps({**good, "host": "http://127.0.0.1:9"}))
    with pytest.raises(TransientError):
        pipeline.deliver()
    failed = db.execute("SELECT count(*) FROM onestop.outbox WHERE state = 'failed'").fetchone()[0]
    assert failed > 0

    # The outage opened the portal's breaker: every worker now fails fast instead of hammering it.
    assert db.execute("SELECT state FROM onestop.circuit WHERE endpoint = 'portal'").fetchone()[0] == "open"
    with pytest.raises(CircuitOpen, match="portal: circuit open"):
        pipeline.deliver()

    monkeypatch.setenv("AIRFLOW_CONN_ONESTOP_PORTAL", json.dumps(good))
    db.execute("UPDATE onestop.circuit SET retry_at = now()")  # the cool-down has passed
    first = redrive(source=SOURCE)
    delivered = pipeline.deliver()
    second = redrive(source=SOURCE)

    assert first.deliveries == failed
    assert delivered.delivered == loaded and second.deliveries == 0
    assert portal_summary(portal)["accepted"] == loaded
    assert db.execute("SELECT state FROM onestop.circuit WHERE endpoint = 'portal'").fetchone()[0] == "closed"
