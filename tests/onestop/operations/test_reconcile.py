"""Reconciliation: per source and Asia/Ho_Chi_Minh day, the source, the database and the portal agree by count
and checksum — and when they do not, each difference is a row that re-drive repairs."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from onestop import pipeline, registry
from onestop.cli import app
from onestop.operations import reconcile
from onestop.operations.redrive import redrive
from onestop.simulators.process import start_simulator
from tests.conftest import SOURCES, reset_portal, set_connection

SOURCE = SOURCES[0]


def busiest_day(db, source: str, column: str = "source_updated_at") -> date:
    return db.execute(
        f"SELECT ({column} AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day FROM onestop.dossier"
        f" WHERE source = %s AND {column} IS NOT NULL GROUP BY day ORDER BY count(*) DESC, day LIMIT 1",
        (source,),
    ).fetchone()[0]


@pytest.fixture
def synced(db, districts, portal) -> date:
    reset_portal(portal)
    pipeline.sync(SOURCE)
    pipeline.deliver()
    return busiest_day(db, SOURCE)


def open_mismatches(db) -> list[tuple]:
    return db.execute(
        "SELECT kind, uid FROM onestop.reconciliation_mismatch WHERE state = 'open' ORDER BY uid"
    ).fetchall()


def test_a_day_in_agreement_has_equal_counts_and_checksums_everywhere(db, synced) -> None:
    (report,) = reconcile.reconcile(synced, [SOURCE])

    assert report.ok, report.mismatches
    assert report.source_count == report.db_count == report.portal_count > 0
    assert report.source_checksum == report.db_checksum == report.portal_checksum
    stored = db.execute(
        "SELECT day, source_count, db_count, portal_count, mismatches FROM onestop.reconciliation"
    ).fetchall()
    assert stored == [(synced, report.source_count, report.db_count, report.portal_count, 0)]


def test_a_dossier_deleted_behind_the_pipelines_back_is_reported_and_redrive_repairs_it(
    db, synced, portal
) -> None:
    uid, record_id, content = db.execute(
        "SELECT uid, source_record_id, content_hash FROM onestop.dossier WHERE source = %s"
        " AND (source_updated_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date = %s ORDER BY uid LIMIT 1",
        (SOURCE, synced),
    ).fetchone()
    db.execute("DELETE FROM onestop.dossier WHERE uid = %s", (uid,))

    (report,) = reconcile.reconcile(synced, [SOURCE])
    assert [(m.kind, m.uid, m.record_id) for m in report.mismatches] == [("missing_in_db", uid, record_id)]
    assert report.db_count == report.source_count - 1
    assert report.db_checksum != report.source_checksum
    assert open_mismatches(db) == [("missing_in_db", uid)]

    first = redrive(source=SOURCE)
    assert (first.resynced_days, first.mismatches_repaired) == (1, 1)
    assert db.execute("SELECT content_hash FROM onestop.dossier WHERE uid = %s", (uid,)).fetchone() == (
        content,
    )
    assert open_mismatches(db) == []
    pipeline.deliver()
    (after,) = reconcile.reconcile(synced, [SOURCE])
    assert after.ok and after.db_checksum == after.source_checksum == after.portal_checksum

    second = redrive(source=SOURCE)  # nothing left to repair
    assert (second.resynced_days, second.mismatches_repaired, second.deliveries) == (0, 0, 0)


def test_content_changed_in_the_database_is_reported_and_reloaded_from_the_source(db, synced) -> None:
    uid = db.execute(
        "SELECT uid FROM onestop.dossier WHERE source = %s"
        " AND (source_updated_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date = %s ORDER BY uid LIMIT 1",
        (SOURCE, synced),
    ).fetchone()[0]
    db.execute("UPDATE onestop.dossier SET content_hash = 'edited' WHERE uid = %s", (uid,))

    (report,) = reconcile.reconcile(synced, [SOURCE])
    kinds = {(m.kind, m.uid) for m in report.mismatches}
    assert ("differs_in_db", uid) in kinds

    redrive(source=SOURCE, error_class="differs_in_db")
    assert db.execute(
        "SELECT content_hash <> 'edited' FROM onestop.dossier WHERE uid = %s", (uid,)
    ).fetchone()[0]
    assert ("differs_in_db", uid) not in set(open_mismatches(db))


def test_a_version_the_portal_never_acknowledged_is_reported_and_sent_again(db, synced, portal) -> None:
    uid = db.execute(
        "SELECT o.uid FROM onestop.outbox o JOIN onestop.dossier d USING (uid) WHERE d.source = %s"
        " AND (d.source_updated_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date = %s AND o.version = d.version"
        " ORDER BY o.uid LIMIT 1",
        (SOURCE, synced),
    ).fetchone()[0]
    db.execute("UPDATE onestop.outbox SET state = 'dead', error = 'gave up' WHERE uid = %s", (uid,))

    (report,) = reconcile.reconcile(synced, [SOURCE])
    assert [(m.kind, m.uid) for m in report.mismatches] == [("not_at_portal", uid)]
    assert "dead" in report.mismatches[0].detail
    assert report.portal_count == report.db_count - 1

    assert redrive(source=SOURCE).deliveries == 1
    assert pipeline.deliver().delivered == 1
    (after,) = reconcile.reconcile(synced, [SOURCE])
    assert after.ok
    assert open_mismatches(db) == []  # the day's reconciliation closed it as repaired


def test_soap_and_legacy_xml_sources_reconcile_by_their_own_windows(db, monkeypatch) -> None:
    """SOAP reads a day by update time, the legacy ASP.NET system by receipt date (dd/MM/yyyy)."""
    cases = [
        ("hd_kim_thanh", "soap_district", "onestop_soap", "soap", "5"),
        ("hd_gia_loc", "legacy_xml", "onestop_xml", "aspnet", "6"),
    ]
    for source, kind, conn_type, login, seed in cases:
        with start_simulator(kind, "--seed", seed, "--count", "400") as sim:
            set_connection(f"onestop_src_{source}", sim.url, login=login, password="secret")
            monkeypatch.setenv(
                f"AIRFLOW_CONN_ONESTOP_SRC_{source.upper()}",
                json.dumps({"conn_type": conn_type, "host": sim.url, "login": login, "password": "secret"}),
            )
            pipeline.sync(source)
            field = registry.load().source(source).watermark_field
            day = busiest_day(db, source, "received_at" if field == "received" else "source_updated_at")
            (report,) = reconcile.reconcile(day, [source])
            db_side = [m for m in report.mismatches if m.kind not in ("not_at_portal",)]
            assert db_side == [], (source, db_side[:3])
            assert report.source_count == report.db_count > 0, source
            assert report.source_checksum == report.db_checksum
            # Nothing was delivered in this test: every dossier of the day is reported as not at the portal.
            assert {m.kind for m in report.mismatches} == {"not_at_portal"}, (source, report)
            assert report.portal_count == 0


def test_the_cli_prints_the_report_and_exits_1_on_mismatches(db, synced) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["reconcile", "--day", synced.isoformat(), "--source", SOURCE, "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)[0]["ok"] is True

    db.execute(
        "DELETE FROM onestop.dossier WHERE uid = (SELECT uid FROM onestop.dossier WHERE source = %s"
        " AND (source_updated_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date = %s LIMIT 1)",
        (SOURCE, synced),
    )
    bad = runner.invoke(app, ["reconcile", "--day", synced.isoformat(), "--source", SOURCE])
    assert bad.exit_code == 1
    assert "missing_in_db 1" in bad.output
