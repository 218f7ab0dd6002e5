"""Retention of personal data: raw payloads past their retention go, their hashes stay, the message log still
verifies, the unified dossiers are untouched, and a second purge finds nothing left."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from connectors.errors import ConfigError
from connectors.store import runs, staging, status
from connectors.store.attempts import AttemptRecorder, record_task_failure
from connectors.store.message_log import verify
from onestop import pipeline, registry
from onestop.cli import app
from onestop.operations.retention import ABANDONED, purge
from tests.conftest import SOURCES, reset_portal

SOURCE = SOURCES[0]


def crafted_run(db: psycopg.Connection, payloads: list[str], state: str, ack_ids: list[str] = ()) -> int:
    """A run as the pipeline leaves it when it fails after staging (or dies before its load)."""
    now = datetime.now(UTC)
    with psycopg.connect(db.info.dsn) as conn:
        run_id = runs.create_run(conn, SOURCE, (now - timedelta(hours=1), now), None)
        rows = [(i, f"r{i}", "application/json", p) for i, p in enumerate(payloads)]
        pipeline.stage(conn, run_id, registry.load().source(SOURCE), iter([rows]))
        runs.set_extracted(conn, run_id, pages=1, ack_ids=list(ack_ids))
        if state == "failed":
            runs.set_state(conn, run_id, "failed", error="ProtocolError: page 2 is not JSON")
    return run_id


def staged_rows(db: psycopg.Connection) -> list[tuple]:
    """(run, seq, the payload a run that never loaded keeps of a bad record, else None) of every fetched id."""
    kept = {}
    for run_id in staging.staged_runs(db):
        query = sql.SQL("SELECT seq, payload FROM {}").format(staging.table(run_id, "bad"))
        kept |= {(run_id, seq): payload for seq, payload in db.execute(query)}
    ids = db.execute("SELECT run_id, seq FROM onestop.staging ORDER BY 1, 2").fetchall()
    return [(run_id, seq, kept.get((run_id, seq))) for run_id, seq in ids]


def snapshot(db: psycopg.Connection) -> dict:
    q = db.execute
    return {
        "staging": staged_rows(db),
        "staged runs": staging.staged_runs(db),
        "runs": q(
            "SELECT run_id, state, ack_ids, staging_purged_at FROM onestop.sync_run ORDER BY 1"
        ).fetchall(),
        "quarantine": q(
            "SELECT id, state, payload, payload_hash, errors, payload_purged_at FROM onestop.quarantine ORDER BY 1"
        ).fetchall(),
        "attempt": q("SELECT id FROM onestop.attempt ORDER BY 1").fetchall(),
        "task_failure": q("SELECT id FROM onestop.task_failure ORDER BY 1").fetchall(),
        "message_log": q("SELECT * FROM onestop.message_log ORDER BY chain, seq").fetchall(),
        "dossiers": (status.checksum(db), status.database_counts(db)),
        "versions": q("SELECT count(*) FROM onestop.dossier_version").fetchone(),
    }


@pytest.fixture
def aged(db, districts, portal, pg_url, tmp_path, monkeypatch) -> dict:
    """A real sync and delivery, a failed run, an abandoned run, a recent run, quarantined records, failed calls
    and a task failure; then everything but the recent ones aged past the shipped retention (30d/90d/180d)."""
    monkeypatch.setenv("ONESTOP_LOG_ANCHORS", str(tmp_path / "anchors.jsonl"))
    reset_portal(portal)
    synced = pipeline.sync(SOURCE)
    pipeline.deliver()
    old = db.execute("SELECT max(run_id) FROM onestop.sync_run").fetchone()[0]
    person = '{"id":"x","SoGiayToChuHoSo":"001203004567","SoDienThoai":"0912345678"}'
    failed = crafted_run(db, [person] * 3, "failed")
    abandoned = crafted_run(db, [person] * 2, "extracted", ack_ids=["a1", "a2"])
    recent = crafted_run(db, [person] * 4, "failed")
    db.execute(
        "UPDATE onestop.sync_run SET started_at = started_at - interval '31 days' WHERE run_id = ANY(%s)",
        ([old, failed, abandoned],),
    )
    ids = [r[0] for r in db.execute("SELECT id FROM onestop.quarantine ORDER BY id").fetchall()]
    assert len(ids) >= 3, "the simulator serves some deliberately bad records"
    stale_open, closed, kept = ids[:-2], ids[-2], ids[-1:]
    db.execute(
        "UPDATE onestop.quarantine SET last_seen_at = last_seen_at - interval '91 days' WHERE id = ANY(%s)",
        (stale_open,),
    )
    db.execute(  # resolved by an administrator 31 days ago: its payload is needed no more
        "UPDATE onestop.quarantine SET state = 'resolved', resolved_at = now() - interval '31 days',"
        " resolved_by = 'admin' WHERE id = %s",
        (closed,),
    )
    recorder = AttemptRecorder(pg_url)
    for i in range(3):
        recorder(endpoint=SOURCE, operation="GET /api/v1/dossiers", error_class="TransientError",
                 message=f"HTTP 503 #{i}", http_status=503)  # fmt: skip
    recorder.close()
    record_task_failure(pg_url, dag_id="onestop_sync_x", run_id="r", task_id="extract", source=SOURCE,
                        error=RuntimeError("answer quoted 0912 345 678"))  # fmt: skip
    db.execute("UPDATE onestop.attempt SET at = at - interval '181 days' WHERE id <= 2")
    db.execute("UPDATE onestop.task_failure SET at = at - interval '181 days'")
    return {
        "synced": synced, "old": old, "failed": failed, "abandoned": abandoned, "recent": recent,
        "stale_open": stale_open, "closed": closed, "kept": kept, "person": person,
    }  # fmt: skip


def log_problems(db) -> list[str]:
    return [str(p) for p in verify(db, pipeline.log_key(), pipeline.anchor_file())]


def test_a_dry_run_changes_nothing_and_the_purge_does_what_it_said(db, aged) -> None:
    before = snapshot(db)
    assert before["message_log"] and log_problems(db) == []

    dry = purge(dry_run=True)

    assert snapshot(db) == before
    assert dry.rows("staging", "loaded runs") == aged["synced"].fetched
    assert dry.rows("staging", "failed runs") == 3 + 2  # the failed run's and the abandoned run's
    assert dry.rows("sync_run", "abandoned runs") == 1
    assert dry.rows("quarantine", "open") == len(aged["stale_open"])
    assert dry.rows("quarantine", "resolved") == 1
    assert (dry.rows("attempt"), dry.rows("task_failure")) == (2, 1)
    staged_bytes = sum(staging.size(db, r) for r in (aged["old"], aged["failed"], aged["abandoned"]))
    assert (
        staged_bytes > 0
    )  # the failed and abandoned runs' staged tables (the loaded run's went with its load)
    assert sum(x.bytes for x in dry.lines if x.table == "staging") == staged_bytes
    assert dry.bytes_freed > staged_bytes
    recent_start = db.execute(
        "SELECT started_at FROM onestop.sync_run WHERE run_id = %s", (aged["recent"],)
    ).fetchone()[0]
    assert dry.oldest_kept["staging"] == recent_start

    done = purge(batch_size=7)  # small batches: several short transactions per table

    assert [vars(x) for x in done.lines] == [vars(x) for x in dry.lines]
    assert done.oldest_kept == dry.oldest_kept
    after = snapshot(db)
    # Staging: only the recent run's records remain.
    assert {r[0] for r in after["staging"]} == {aged["recent"]}
    assert len(after["staging"]) == 4 and after["staging"][0][2] == aged["person"]
    runs_after = {r[0]: r for r in after["runs"]}
    for run_id in (aged["old"], aged["failed"], aged["abandoned"]):
        assert runs_after[run_id][3] is not None  # staging_purged_at
    assert runs_after[aged["recent"]][3] is None
    # The abandoned run can no longer be loaded and acknowledged: the feed will deliver its records again.
    state, ack_ids, error = db.execute(
        "SELECT state, ack_ids, error FROM onestop.sync_run WHERE run_id = %s", (aged["abandoned"],)
    ).fetchone()
    assert (state, ack_ids, error) == ("failed", None, ABANDONED)
    # Quarantine: every row stays with its errors and hash; the stale open and the closed one lose the payload.
    q_before = {r[0]: r for r in before["quarantine"]}
    q_after = {r[0]: r for r in after["quarantine"]}
    assert q_after.keys() == q_before.keys()
    for qid, (_, state, payload, digest, errors, purged_at) in q_after.items():
        assert (state, digest, errors) == (q_before[qid][1], q_before[qid][3], q_before[qid][4])
        if qid in aged["stale_open"] or qid == aged["closed"]:
            assert payload == "" and purged_at is not None, qid
        else:
            assert payload == q_before[qid][2] and purged_at is None, qid
    assert after["attempt"] == [(3,)] and after["task_failure"] == []
    # The system of record and the message log are untouched; the log still verifies.
    assert after["dossiers"] == before["dossiers"] and after["versions"] == before["versions"]
    assert after["message_log"] == before["message_log"]
    assert log_problems(db) == []

    again = purge()
    assert again.total_rows == 0 and again.bytes_freed == 0
    assert snapshot(db)["quarantine"] == after["quarantine"]


def test_message_log_entries_past_their_retention_move_to_archive_files(
    db, aged, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("ONESTOP_LOG_ARCHIVE", str(tmp_path / "archive"))
    heads = db.execute("SELECT chain, max(seq) FROM onestop.message_log GROUP BY 1 ORDER BY 1").fetchall()
    old = db.execute(
        "UPDATE onestop.message_log l SET at = at - interval '731 days'"
        " WHERE seq < (SELECT max(seq) FROM onestop.message_log h WHERE h.chain = l.chain)"
    ).rowcount
    assert old > 0

    assert purge(dry_run=True).rows("message_log") == old
    assert purge().rows("message_log") == old

    assert db.execute("SELECT chain, seq FROM onestop.message_log ORDER BY 1").fetchall() == heads
    assert log_problems(db) == []
    assert sorted(f.name.split(".")[0] for f in (tmp_path / "archive").iterdir()) == sorted(
        chain for chain, seq in heads if seq > 1
    )
    assert purge().rows("message_log") == 0


def test_purge_looks_ahead_with_now(db, aged) -> None:
    """With `now` a year ahead, everything that holds a payload is due (the recent run and records too)."""
    ahead = purge(now=datetime.now(UTC) + timedelta(days=365), dry_run=True)
    assert ahead.rows("staging") == aged["synced"].fetched + 3 + 2 + 4
    assert ahead.rows("quarantine") == len(aged["stale_open"]) + 1 + len(aged["kept"])
    assert ahead.oldest_kept == {"staging": None, "quarantine": None, "attempt": None, "task_failure": None}


def test_the_cli_shows_what_would_go_then_what_went(db, aged) -> None:
    runner = CliRunner()
    dry = runner.invoke(app, ["purge", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.output)
    assert report["dry_run"] is True and report["rows"] > 0
    assert db.execute("SELECT count(*) FROM onestop.staging").fetchone()[0] > 4

    went = runner.invoke(app, ["purge"])
    assert went.exit_code == 0, went.output
    assert "what went" in went.output and "payload cleared" in went.output and "staging" in went.output
    assert f"{aged['synced'].fetched:,}" in went.output
    assert db.execute("SELECT count(*) FROM onestop.staging").fetchone()[0] == 4

    nothing = runner.invoke(app, ["purge", "--json"])
    assert json.loads(nothing.output)["rows"] == 0


def test_retention_comes_from_the_registry_with_defaults() -> None:
    shipped = registry.load().retention
    assert (shipped.raw_payloads, shipped.quarantine, shipped.incidents, shipped.message_log) == (
        timedelta(days=30), timedelta(days=90), timedelta(days=180), timedelta(days=730)
    )  # fmt: skip
    assert registry.parse({"sources": []}).retention == registry.RetentionConfig()
    week = registry.parse({"retention": {"raw_payloads": "7d"}, "sources": []}).retention
    assert week.raw_payloads == timedelta(days=7) and week.quarantine == timedelta(days=90)
    with pytest.raises(ConfigError, match=r"retention\.raw_payloads: a retention period is at least 1d"):
        registry.parse({"retention": {"raw_payloads": "2h"}, "sources": []})


def test_the_migration_goes_down_and_up_again(pg_url) -> None:
    from alembic import command

    from onestop import db as unified
    from tests.conftest import scratch_database

    with scratch_database(pg_url) as url:
        unified.upgrade(url)
        config = unified._alembic_config(url)
        command.downgrade(config, "0005")
        with psycopg.connect(url) as conn:
            assert conn.execute(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'onestop'"
                " AND column_name IN ('payload_purged_at', 'staging_purged_at')"
            ).fetchone() == (0,)
        unified.upgrade(url)
        with psycopg.connect(url) as conn:
            assert conn.execute(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'onestop'"
                " AND column_name IN ('payload_purged_at', 'staging_purged_at')"
            ).fetchone() == (2,)
