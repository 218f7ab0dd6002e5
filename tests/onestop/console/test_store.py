"""The failure list's data (connectors.store.failures, failure_detail) without the web server: what a detail's
history and errors hold, a quarantined record's versions as one row, the totals, the sources' titles."""

from __future__ import annotations

import pytest

from connectors.store import failure_detail, failures
from onestop import registry
from tests.onestop.console.conftest import SOURCE

F = failures.Filters


@pytest.fixture(autouse=True)
def fresh_totals():
    failures.forget_totals()
    yield
    failures.forget_totals()


def test_a_task_failures_history_holds_its_own_runs_attempts_only(failures_loaded, db) -> None:
    mine, other = (
        db.execute(
            "INSERT INTO onestop.sync_run (source, airflow_run_id) VALUES (%s, %s) RETURNING run_id",
            (SOURCE, run),
        ).fetchone()[0]
        for run in ("scheduled__mine", "scheduled__other")
    )
    for run, what in ((mine, "mine"), (other, "other"), (None, "portal")):  # the same minutes, other runs
        db.execute(
            "INSERT INTO onestop.attempt (endpoint, operation, error_class, message, run_id, at)"
            " VALUES (%s, %s, 'ConnectionError', %s, %s, now() - interval '5 minutes')",
            (SOURCE if run else "portal", f"fetch {what}", f"down {what}", run),
        )
    fid = db.execute(
        "INSERT INTO onestop.task_failure (dag_id, run_id, task_id, source, error_class, message)"
        " VALUES (%s, 'scheduled__mine', 'extract', %s, 'ConnectorError', 'district down') RETURNING id",
        (f"onestop_sync_{SOURCE}", SOURCE),
    ).fetchone()[0]
    d = failures.detail(db, f"t{fid}")
    attempts = [h[2] for h in d.history if h[1] == "attempt"]
    assert len(attempts) == 1 and "down mine" in attempts[0]


def test_a_resolution_is_one_line_of_the_history(failures_loaded, db) -> None:
    key = db.execute("SELECT key FROM onestop.failure WHERE open AND kind = 'delivery' LIMIT 1").fetchone()[0]
    failures.resolve(db, [key], "admin", "đã gửi tay")
    failures.record_action(db, "admin", "resolve", keys=[key], comment="đã gửi tay")
    d = failures.detail(db, key)
    lines = [h for h in d.history if "đã gửi tay" in h[2]]
    assert len(lines) == 1 and lines[0][2] == "admin: đã gửi tay"
    assert failures.actions_for(db, key) == []
    assert [a[2] for a in failures.actions_for(db, key, resolutions=True)] == ["resolve"]


def test_a_failed_deliverys_errors_hold_what_their_headings_say(failures_loaded, db) -> None:
    key, code, error = db.execute(
        "SELECT 'd' || uid || '@' || version, error_code, error FROM onestop.outbox"
        " WHERE state = 'failed' AND resolved_at IS NULL LIMIT 1"
    ).fetchone()
    (row,) = failures.detail(db, key).errors  # unreachable portal: no field, the message, the code apart
    assert row == {"field": "", "source_path": "", "reason": error or "", "value": None, "code": code or ""}
    # A record the portal refused names its fields: one row each, with that field's reason.
    assert failure_detail.portal_errors(
        "-2", "Dữ liệu không hợp lệ: MaTTHC (bắt buộc); TrangThaiHoSo (phải ≤ 10)"
    ) == [
        {"field": "MaTTHC", "source_path": "", "reason": "bắt buộc", "value": None, "code": "-2"},
        {"field": "TrangThaiHoSo", "source_path": "", "reason": "phải ≤ 10", "value": None, "code": "-2"},
    ]
    assert failure_detail.portal_errors(None, None) == []  # delivered since: no empty error row
    assert failure_detail.portal_errors("-9", "Phiên làm việc hết hạn") == [
        {"field": "", "source_path": "", "reason": "Phiên làm việc hết hạn", "value": None, "code": "-9"}
    ]


def test_a_record_quarantined_four_times_is_one_row_with_its_versions(failures_loaded, db) -> None:
    ids = [
        db.execute(
            "INSERT INTO onestop.quarantine (source, record_id, errors, error_class, payload, content_type,"
            " payload_hash, last_seen_at) VALUES ('vsrc', 'rec-1', %s::jsonb, %s, '{}', 'application/json',"
            " %s, now() - %s * interval '1 minute') RETURNING id",
            (f'[{{"reason": "v{n}"}}]', f"Class{n}", f"h{n}", 10 - n),
        ).fetchone()[0]
        for n in range(4)
    ]
    page = failures.page(db, F(source="vsrc"), titles={})
    assert [(r.key, r.versions, r.message) for r in page.rows] == [(f"q{ids[-1]}", 4, "v3")]
    assert page.total == 1 and not page.total_is_estimate
    assert page.counts == {"Class3": 1}
    d = failures.detail(db, f"q{ids[-1]}")
    assert [(v[0], v[2]) for v in d.versions] == [
        (f"q{i}", f"Class{n}") for n, i in reversed(list(enumerate(ids)))
    ][1:]
    db.execute("UPDATE onestop.quarantine SET state = 'superseded' WHERE id = %s", (ids[1],))
    db.execute("UPDATE onestop.quarantine SET last_seen_at = now() WHERE id = %s", (ids[0],))  # seen again
    page = failures.page(db, F(source="vsrc"), titles={})
    assert [(r.key, r.versions, r.message) for r in page.rows] == [(f"q{ids[0]}", 3, "v0")]
    db.execute("UPDATE onestop.quarantine SET last_seen_at = now() WHERE id = %s", (ids[-1],))
    assert [r.key for r in failures.page(db, F(source="vsrc"), titles={}).rows] == [f"q{ids[-1]}"]
    db.execute("UPDATE onestop.quarantine SET state = 'open' WHERE id = %s", (ids[1],))
    older = failures.detail(db, f"q{ids[0]}")  # an older version is still reachable by its key
    assert older is not None and older.failure.message == "v0"
    assert failures.resolve(db, [f"q{ids[-1]}"], "admin", "nguồn gửi lại") == 4  # the row stands for all four
    failures.forget_totals()
    assert failures.page(db, F(source="vsrc"), titles={}).rows == []


def test_the_total_is_counted_up_to_a_cap_then_estimated_and_kept_a_while(failures_loaded, db) -> None:
    exact = db.execute("SELECT count(*) FROM onestop.failure WHERE open").fetchone()[0]
    page = failures.page(db, F(), size=5)
    assert (page.total, page.total_is_estimate) == (exact, False)
    assert failures.page(db, F(), size=5, counts=False).total is None  # walking pages counts nothing
    db.execute(
        "INSERT INTO onestop.quarantine (source, record_id, errors, error_class, payload, content_type,"
        " payload_hash) SELECT 'many', 'm' || g, '[]', 'MissingField', '{}', 'application/json', md5(g::text)"
        " FROM generate_series(1, 12000) g"
    )
    db.execute("ANALYZE onestop.quarantine")
    assert failures.page(db, F(), size=5).total == exact  # the same filters within TOTAL_TTL: the kept total
    many = failures.page(db, F(source="many"), size=5)
    assert many.total_is_estimate and many.total > failures.TOTAL_CAP
    db.execute("DELETE FROM onestop.quarantine WHERE source = 'many'")


def test_rows_carry_their_sources_title(failures_loaded, db) -> None:
    title = registry.load().source(SOURCE).title
    titles = {
        s.name: s.title for s in registry.load().sources
    }  # the console passes them: the store has no registry
    page = failures.page(db, F(source=SOURCE), size=5, titles=titles)
    assert page.rows and {r.source_title for r in page.rows} == {title}


def test_a_quarantined_records_line_names_its_first_failing_field(failures_loaded, db) -> None:
    """'status: unknown value …', not the reason alone ('missing' said nothing of which field)."""
    from onestop.console import words

    errors = [
        ('[{"field": "status", "reason": "unknown value \'99\' (not in code table status)"}, {"field": "x"}]',
         "status: unknown value '99' (not in code table status)"),
        ('[{"field": "received_at", "reason": "missing"}]', "received_at: missing"),
        ('[{"field": "", "reason": "payload is not application/json: Expecting value"}]',
         "payload is not application/json: Expecting value"),
        ('[{"reason": "v"}]', "v"),
    ]  # fmt: skip
    ids = [
        db.execute(
            "INSERT INTO onestop.quarantine (source, record_id, errors, error_class, payload, content_type,"
            " payload_hash) VALUES ('fsrc', %s, %s::jsonb, 'UnknownCode', '{}', 'application/json', %s)"
            " RETURNING id",
            (f"rec-{n}", e, f"h{n}"),
        ).fetchone()[0]
        for n, (e, _) in enumerate(errors)
    ]
    rows = {r.key: r for r in failures.page(db, F(source="fsrc"), titles={}).rows}
    assert [rows[f"q{i}"].message for i in ids] == [line for _, line in errors]
    assert [failures.get(db, f"q{i}").message for i in ids] == [line for _, line in errors]
    shown = str(words.failure_message(rows[f"q{ids[0]}"]))
    # in Vietnamese, the field by its label ("Trạng thái"), not its canonical name
    assert shown.startswith("Trạng thái: ") and "99" in shown and "unknown value" not in shown
    db.execute("DELETE FROM onestop.quarantine WHERE source = 'fsrc'")
