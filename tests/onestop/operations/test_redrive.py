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
from onestop.operations.redrive import redrive
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


def test_the_consoles_keys_redrive_exactly_the_rows_they_name_and_complete_the_action(
    db, pg_url, districts, portal, monkeypatch, tmp_path
) -> None:
    from connectors.store import failures
    from connectors.store.attempts import record_task_failure

    reset_portal(portal)
    pipeline.sync(SOURCE)
    unknown = [r["id"] for r in truth(districts[SOURCE]) if r["bad"] and "status" in r["bad"]]
    assert len(unknown) >= 2
    chosen = db.execute(
        "SELECT 'q' || id FROM onestop.quarantine WHERE record_id = %s", (unknown[0],)
    ).fetchone()[0]
    record_task_failure(  # a sync task that failed (say, the district's server was down at 02:00)
        pg_url, dag_id=f"onestop_sync_{SOURCE}", run_id="scheduled__x", task_id="extract", source=SOURCE,
        error=ConnectionError("district server down"),
    )  # fmt: skip
    task_key = db.execute("SELECT 't' || id FROM onestop.task_failure").fetchone()[0]
    action = failures.record_action(db, "admin", "redrive", keys=[chosen, task_key], state="triggered")
    runs_before = db.execute("SELECT count(*) FROM onestop.sync_run").fetchone()[0]

    fixed = mapping_path("igate").read_text().replace("    values: {0: 1,", "    values: {99: 4, 0: 1,", 1)
    (tmp_path / "igate.yaml").write_text(fixed)
    monkeypatch.setenv("ONESTOP_MAPPINGS_DIR", str(tmp_path))
    clear_cache()
    try:
        counts = redrive(keys=[chosen, task_key], action_id=action)
    finally:
        clear_cache()

    assert (counts.tried, counts.redriven, counts.task_sources) == (1, 1, 1)
    states = dict(
        db.execute("SELECT record_id, state FROM onestop.quarantine WHERE record_id = ANY(%s)", (unknown,))
    )
    assert states[unknown[0]] == "redriven"
    assert {states[r] for r in unknown[1:]} == {"open"}  # the others were not named
    assert db.execute("SELECT state, resolved_by FROM onestop.task_failure").fetchone() == (
        "redriven",
        "redrive",
    )
    assert (
        db.execute("SELECT count(*) FROM onestop.sync_run").fetchone()[0] == runs_before + 2
    )  # redrive + sync
    state, result, finished = db.execute(
        "SELECT state, result, finished_at FROM onestop.admin_action WHERE id = %s", (action,)
    ).fetchone()
    assert state == "done" and result["counts"]["redriven"] == 1 and finished is not None
    assert result["outcome"] == {
        chosen: {"state": "loaded"},
        task_key: {"state": "redriven", "source": SOURCE},
    }


def test_a_record_still_failing_says_why_now_and_when_and_the_action_says_so_per_key(
    db, districts, portal
) -> None:
    from connectors.store import failures

    reset_portal(portal)
    pipeline.sync(SOURCE)
    unknown = [r["id"] for r in truth(districts[SOURCE]) if r["bad"] and "status" in r["bad"]]
    qid, errors, error_class = db.execute(
        "SELECT id, errors, error_class FROM onestop.quarantine WHERE record_id = %s", (unknown[0],)
    ).fetchone()
    assert error_class == "UnknownCode"
    # As an older mapping left it: another reason, another class, seen a day ago.
    db.execute(
        'UPDATE onestop.quarantine SET errors = \'[{"field": "x", "reason": "old"}]\','
        " error_class = 'Old', last_seen_at = now() - interval '1 day' WHERE id = %s",
        (qid,),
    )
    action = failures.record_action(db, "admin", "redrive", keys=[f"q{qid}", "q999999"], state="triggered")
    counts = redrive(keys=[f"q{qid}", "q999999"], action_id=action)

    assert (counts.tried, counts.redriven, counts.still_failing) == (1, 0, 1)
    now_errors, now_class, seen_at, state = db.execute(
        "SELECT errors, error_class, last_seen_at, state FROM onestop.quarantine WHERE id = %s", (qid,)
    ).fetchone()
    assert (now_errors, now_class, state) == (errors, "UnknownCode", "open")
    message = db.execute("SELECT message FROM onestop.failure WHERE key = %s", (f"q{qid}",)).fetchone()[0]
    assert message == f"{errors[0]['field']}: {errors[0]['reason']}"  # the list's line: field and reason
    result, at = db.execute(
        "SELECT result, now() FROM onestop.admin_action WHERE id = %s", (action,)
    ).fetchone()
    assert (at - seen_at).total_seconds() < 60
    assert result["outcome"] == {
        f"q{qid}": {"state": "quarantined", "error_class": "UnknownCode", "at": seen_at.isoformat()},
        "q999999": {"state": "skipped"},
    }
    assert result["counts"]["still_failing"] == 1
