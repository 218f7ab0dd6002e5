"""The administrators' trace (Tra cứu hồ sơ): a dossier found by MaHoSo, record id or citizen ID, and its way from
the district system to the portal, step by step, with times and runs. Real simulators, a real PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
import requests
from typer.testing import CliRunner

from onestop import pipeline
from onestop.cli import app
from onestop.operations import trace, trace_timeline
from tests.conftest import SOURCES, reset_portal, truth
from tests.onestop.pipeline.test_steps import load_records, synced_raw

SOURCE = SOURCES[0]


def last_run(db: psycopg.Connection) -> int:
    return db.execute("SELECT max(run_id) FROM onestop.sync_run WHERE source = %s", (SOURCE,)).fetchone()[0]


def steps(t: trace_timeline.DossierTrace) -> list[str]:
    return [e.step for e in t.events]


def test_a_delivered_dossier_traces_every_step_with_its_runs_and_a_new_version_adds_v2(
    db, districts, portal
) -> None:
    reset_portal(portal)
    pipeline.sync(SOURCE)
    first_run = last_run(db)
    pipeline.deliver()
    ma_ho_so = next(r["code"] for r in truth(districts[SOURCE]) if not r["bad"])

    [t] = trace.find(db, f"  {ma_ho_so} ")

    assert (t.source, t.ma_ho_so, t.state) == (SOURCE, ma_ho_so, "delivered")
    assert steps(t) == ["fetched", "staged", "loaded", "queued", "sent", "delivered"]
    assert [e.run_id for e in t.events[:4]] == [first_run] * 4
    assert [e.version for e in t.events[2:]] == [1, 1, 1, 1]
    assert [e.at for e in t.events] == sorted(e.at for e in t.events)
    assert trace.find(db, t.source_record_id)[0].uid == t.uid  # by the source's record id too

    # The district system's world moves on: some dossiers get a new status, hence a version 2.
    requests.post(
        f"{districts[SOURCE].url}/_sim/clock", json={"advance_hours": 48}, timeout=30
    ).raise_for_status()
    pipeline.sync(SOURCE)
    second_run = last_run(db)
    changed = db.execute("SELECT ma_ho_so FROM onestop.dossier WHERE version = 2 LIMIT 1").fetchone()[0]

    [t2] = trace.find(db, changed)

    loaded = [(e.version, e.run_id) for e in t2.events if e.step == "loaded"]
    assert loaded == [(1, first_run), (2, second_run)]
    assert {e.run_id for e in t2.events if e.step in ("fetched", "staged")} == {first_run, second_run}
    assert t2.state == "queued"  # version 2 waits for the portal; version 1 was delivered
    assert [e.version for e in t2.events if e.step == "delivered"] == [1]
    pipeline.deliver()
    assert trace.find(db, changed)[0].state == "delivered"

    # Staged raw records are purged after their retention: each version's run still shows its fetch.
    db.execute("DELETE FROM onestop.staging")
    db.execute("UPDATE onestop.sync_run SET staging_purged_at = now()")
    [purged] = trace.find(db, changed)
    assert {e.run_id for e in purged.events if e.step == "staged"} == {first_run, second_run}
    assert any("purged" in e.detail for e in purged.events)


def test_a_bad_record_traces_as_quarantined_with_its_error(db, districts, portal) -> None:
    pipeline.sync(SOURCE)
    run = last_run(db)
    bad = [r for r in truth(districts[SOURCE]) if r["bad"]]
    unknown_status = next(r for r in bad if r["bad"] == "unknown_status")

    # Found by the MaHoSo its payload carries (it never reached the dossier table) and by its record id.
    [by_code] = trace.find(db, unknown_status["code"])
    [by_id] = trace.find(db, unknown_status["id"])

    assert by_code.events == by_id.events
    assert (by_code.ma_ho_so, by_id.ma_ho_so) == (
        unknown_status["code"],
        None,
    )  # a record id alone: not normalized
    assert (by_code.uid, by_code.state, by_code.source_record_id) == (
        None,
        "quarantined",
        unknown_status["id"],
    )
    assert steps(by_code) == ["fetched", "staged", "quarantined"]
    quarantined = by_code.events[-1]
    assert quarantined.run_id == run
    assert "status" in quarantined.detail and quarantined.detail.startswith("UnknownCode")
    assert trace_timeline.STEP_LABELS[quarantined.step] == "Bị cách ly (lỗi dữ liệu)"

    # Read again (a backfill of the whole window): still failing, in that run.
    pipeline.sync(SOURCE, interval=(datetime(2025, 1, 1, tzinfo=UTC), datetime.now(UTC)))
    [again] = trace.find(db, unknown_status["id"])
    assert [(e.step, e.run_id) for e in again.events if e.step == "quarantined"] == [
        ("quarantined", run),
        ("quarantined", last_run(db)),
    ]


def test_a_citizen_id_finds_the_dossier_and_is_never_shown_in_clear(db, districts, portal) -> None:
    pipeline.sync(SOURCE)
    ma_ho_so, citizen = db.execute(
        "SELECT ma_ho_so, record #>> '{applicant,id_number}' FROM onestop.dossier"
        " WHERE record #>> '{applicant,id_number}' ~ '^[0-9]{12}$' LIMIT 1"
    ).fetchone()

    found = trace.find(db, citizen)

    assert ma_ho_so in [t.ma_ho_so for t in found]
    t = next(t for t in found if t.ma_ho_so == ma_ho_so)
    assert t.applicant_id_masked == "*" * 9 + citizen[-3:]
    assert citizen not in json.dumps([t.as_dict() for t in found], ensure_ascii=False)
    # Written in groups, it is the same ID.
    grouped = f"{citizen[:4]} {citizen[4:8]} {citizen[8:]}"
    assert [x.uid for x in trace.find(db, grouped)] == [x.uid for x in found]

    runner = CliRunner()
    shown = runner.invoke(app, ["trace", citizen])
    as_json = runner.invoke(app, ["trace", citizen, "--json"])
    assert shown.exit_code == 0 and as_json.exit_code == 0, shown.output
    assert ma_ho_so in shown.output and ma_ho_so in as_json.output
    assert citizen not in shown.output and citizen not in as_json.output
    assert citizen[-3:] in shown.output


def test_a_new_citizen_id_key_finds_nobody_until_the_hashes_are_made_again(
    db, districts, portal, monkeypatch
) -> None:
    """The lookup hash is keyed by connection onestop_citizen_id_key: the table alone cannot be searched by
    trying IDs, and after a change of key `onestop db rehash-citizen-ids` makes every hash again."""
    from onestop import privacy

    pipeline.sync(SOURCE)
    citizen = db.execute(
        "SELECT record #>> '{applicant,id_number}' FROM onestop.dossier"
        " WHERE record #>> '{applicant,id_number}' ~ '^[0-9]{12}$' LIMIT 1"
    ).fetchone()[0]
    assert trace.find(db, citizen)
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{privacy.CITIZEN_ID_KEY_CONN.upper()}",
        json.dumps({"conn_type": "generic", "password": "a key from the secrets backend"}),
    )
    try:
        assert privacy.citizen_id_key() == b"a key from the secrets backend"
        assert trace.find(db, citizen) == []
        with_ids = db.execute(
            "SELECT count(*) FROM onestop.dossier WHERE record #>> '{applicant,id_number}' IS NOT NULL"
        ).fetchone()[0]
        assert privacy.rehash_citizen_ids(db) == with_ids > 0
        assert trace.find(db, citizen)
    finally:
        monkeypatch.delenv(f"AIRFLOW_CONN_{privacy.CITIZEN_ID_KEY_CONN.upper()}")
        privacy.rehash_citizen_ids(db)


def test_the_cli_prints_the_timeline_and_exits_1_for_an_unknown_code(db, districts, portal) -> None:
    reset_portal(portal)
    pipeline.sync(SOURCE)
    pipeline.deliver()
    ma_ho_so = db.execute("SELECT ma_ho_so FROM onestop.dossier LIMIT 1").fetchone()[0]
    runner = CliRunner()

    shown = runner.invoke(app, ["trace", ma_ho_so])
    unknown = runner.invoke(app, ["trace", "000.00.99.H23-991231-9999"])

    assert shown.exit_code == 0, shown.output
    assert ma_ho_so in shown.output and SOURCE in shown.output
    for label in ("Đã lấy từ nguồn", "Đã nạp vào CSDL", "Cổng DVC đã nhận"):
        assert label in shown.output
    assert unknown.exit_code == 1
    assert "no dossier" in unknown.output
    data = json.loads(runner.invoke(app, ["trace", ma_ho_so, "--json"]).output)
    assert data[0]["ma_ho_so"] == ma_ho_so and data[0]["events"][-1]["step"] == "delivered"


def test_a_ma_ho_so_two_sources_carry_gives_two_traces_one_in_conflict(db, districts, portal) -> None:
    record = next(r for r in synced_raw(db, SOURCE).values() if r.get("code"))
    load_records(db, SOURCES[1], [{**record, "id": "f" * 24}])

    holder, second = trace.find(db, record["code"])

    assert (holder.source, holder.state) == (SOURCE, "queued")
    assert (second.source, second.source_record_id, second.state) == (SOURCES[1], "f" * 24, "conflict")
    assert steps(second)[-2:] == ["loaded", "conflict"]
    assert f"{SOURCE} record {record['id']}" in second.events[-1].detail
    assert "queued" not in steps(second)  # a conflict never goes to the portal


def test_a_trace_costs_a_fixed_number_of_queries(db, districts, portal, monkeypatch) -> None:
    pipeline.sync(SOURCE)
    requests.post(
        f"{districts[SOURCE].url}/_sim/clock", json={"advance_hours": 48}, timeout=30
    ).raise_for_status()
    pipeline.sync(SOURCE)
    changed = db.execute("SELECT ma_ho_so FROM onestop.dossier WHERE version >= 2 LIMIT 1").fetchone()[0]
    calls: list[str] = []
    rows = trace._rows
    monkeypatch.setattr(
        trace, "_rows", lambda conn, sql, params: calls.append(sql) or rows(conn, sql, params)
    )

    [t] = trace.find(db, changed)

    assert len([e for e in t.events if e.step == "loaded"]) >= 2
    assert len(calls) <= 7


def test_a_query_is_a_citizen_id_in_any_script_s_digits_and_grouped_as_people_write_it() -> None:
    """The administrator's query is read as ingest stores the number: full-width digits typed on another keyboard,
    groups with spaces, dots or dashes; a code that merely holds digits is not one."""
    for query in (
        "030187004219",
        "030 187 004 219",
        "030.187.004.219",
        "０３０１８７００４２１９",
        "201-857-369",
    ):
        assert trace.citizen_id(query) in ("030187004219", "201857369")
    for query in ("000.00.14.H23-250312-0118", "0301870042", "03018700421 9x"):
        assert trace.citizen_id(query) is None
