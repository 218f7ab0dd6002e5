"""The administrators' console, served by a real Airflow API server with the plugin: who may see and do what,
what the failure list shows, how it pages, and that what it shows is escaped and masked."""

from __future__ import annotations

import json
import re
from html import escape
from urllib.parse import quote

import requests

from connectors.store.attempts import record_task_failure
from connectors.store.breaker import CircuitOpen
from onestop.airflow.cluster import AirflowCluster
from onestop.console import words
from onestop.simulators.igate_records import HOSTILE_NAMES
from tests.onestop.console.conftest import SOURCE, session

PAGES = ("/onestop/", "/onestop/failures", "/onestop/failures/q1", "/onestop/api/failures", "/onestop/trace",
         "/onestop/health")  # fmt: skip


def submit(s: requests.Session, airflow: AirflowCluster, action: str, **data) -> requests.Response:
    """Post one of the list's forms the way the page does: with the form token the page carries."""
    match = re.search(
        r'name="csrf" value="([0-9a-f]+)"', s.get(f"{airflow.url}/onestop/failures", timeout=30).text
    )
    assert match, "the page carries a form token"
    return s.post(
        f"{airflow.url}/onestop/failures/{action}",
        data={"csrf": match[1], **data},
        headers={"Origin": airflow.url},  # what a browser sends with a form of this site
        allow_redirects=False,
    )


def test_every_page_and_action_needs_an_airflow_login(airflow) -> None:
    """Pages send an anonymous visitor to Airflow's login and back; the JSON API and the forms answer 401."""
    anonymous = session(airflow, None)
    for path in PAGES:
        resp = anonymous.get(f"{airflow.url}{path}", timeout=30, allow_redirects=False)
        if "/api/" in path:
            assert resp.status_code == 401, path
        else:
            assert resp.status_code == 302, path
            assert resp.headers["location"] == f"/api/v2/auth/login?next={quote(path, safe='')}", path
    for action in ("redrive", "resolve"):
        resp = anonymous.post(f"{airflow.url}/onestop/failures/{action}", data={"csrf": "x", "comment": "c"})
        assert resp.status_code == 401, action


def test_a_viewer_reads_every_page_but_cannot_redrive_or_resolve(airflow, failures_loaded) -> None:
    viewer = session(airflow, "viewer")
    for path in PAGES:
        resp = viewer.get(f"{airflow.url}{path}", timeout=60)
        assert resp.status_code in (200, 404), (path, resp.status_code)  # q1 may not exist: a 404, not a 401
    for action in ("redrive", "resolve"):
        assert submit(viewer, airflow, action, keys=["q1"], comment="c").status_code == 403, action


def test_the_list_holds_quarantined_records_and_failed_deliveries_counted_per_error_class(
    airflow, failures_loaded, db
) -> None:
    admin = session(airflow, "admin")
    data = admin.get(f"{airflow.url}/onestop/api/failures", params={"size": 500}, timeout=30).json()
    quarantined = db.execute("SELECT count(*) FROM onestop.quarantine WHERE state = 'open'").fetchone()[0]
    failed = db.execute("SELECT count(*) FROM onestop.outbox WHERE state = 'failed'").fetchone()[0]
    assert quarantined > 0 and failed > 0
    kinds = [r["kind"] for r in data["rows"]]
    assert (kinds.count("quarantine"), kinds.count("delivery")) == (quarantined, failed)
    assert sum(data["counts"].values()) == quarantined + failed
    assert (data["total"], data["total_is_estimate"]) == (quarantined + failed, False)
    from onestop import registry

    titles = {s.name: s.title for s in registry.load().sources}
    assert {r["source_title"] for r in data["rows"]} == {titles[SOURCE]}
    assert {r["versions"] for r in data["rows"]} == {1}

    only = admin.get(
        f"{airflow.url}/onestop/api/failures", params={"kind": "delivery", "source": SOURCE}, timeout=30
    ).json()
    assert {r["kind"] for r in only["rows"]} == {"delivery"}
    assert {r["source"] for r in only["rows"]} == {SOURCE}
    error_class = next(iter(data["counts"]))
    page = admin.get(f"{airflow.url}/onestop/failures", params={"error_class": error_class}, timeout=30)
    assert page.status_code == 200
    assert page.text.count('<tr data-key="') == min(data["counts"][error_class], 50)
    nothing = admin.get(
        f"{airflow.url}/onestop/api/failures", params={"since": "01/01/2020", "until": "02/01/2020"}
    )
    assert nothing.json()["rows"] == []


def test_a_failed_task_of_no_source_shows_a_dash_where_the_source_goes(
    airflow, failures_loaded, db, pg_url
) -> None:
    # The delivery DAG serves the whole province: its failed task (say, the portal's breaker open) names no source.
    record_task_failure(pg_url, dag_id="onestop_deliver_portal", run_id="r", task_id="deliver", source=None,
                        error=CircuitOpen("portal", "circuit open after repeated failures"))  # fmt: skip
    (task_id,) = db.execute("SELECT max(id) FROM onestop.task_failure").fetchone()
    try:
        page = session(airflow, "viewer").get(
            f"{airflow.url}/onestop/failures", params={"kind": "task"}, timeout=30
        )
        row = page.text.split(f'<tr data-key="t{task_id}">', 1)[1].split("</tr>", 1)[0]
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert cells[1].strip() == "—"  # the viewer's row: time, source, stage, …
    finally:
        db.execute("DELETE FROM onestop.task_failure WHERE id = %s", (task_id,))


def test_a_quarantined_record_is_listed_by_its_field_and_its_page_names_the_source_by_title(
    airflow, failures_loaded, db
) -> None:
    from onestop import registry

    # the list's first row of the source's quarantined records (newest first)
    key, field = db.execute(
        "SELECT f.key, q.errors -> 0 ->> 'field' FROM onestop.failure f JOIN onestop.quarantine q"
        " ON f.key = 'q' || q.id WHERE f.source = %s AND f.kind = 'quarantine' AND f.open"
        " ORDER BY f.at DESC, f.key DESC LIMIT 1",
        (SOURCE,),
    ).fetchone()
    admin = session(airflow, "admin")
    listed = admin.get(
        f"{airflow.url}/onestop/failures", params={"source": SOURCE, "kind": "quarantine"}, timeout=30
    ).text
    row = listed.split(f'<tr data-key="{key}">', 1)[1].split("</tr>", 1)[0]
    label = str(words.field_name(field))  # the field as an administrator reads it: "Mã hồ sơ", not ma_ho_so
    assert label != field and re.search(rf'<td class="msg">{re.escape(label)}: \S', row), row
    page = admin.get(f"{airflow.url}/onestop/failures/{key}", timeout=30).text
    title = registry.load().source(SOURCE).title
    assert f"<dd>{escape(title)} <code>{SOURCE}</code></dd>" in page


def test_markup_in_a_citizens_name_is_shown_as_text_and_ids_masked(airflow, failures_loaded, db) -> None:
    from onestop import registry

    admin = session(airflow, "admin")
    key, payload = db.execute(
        "SELECT 'q' || id, payload FROM onestop.quarantine WHERE payload LIKE '%<script>%' LIMIT 1"
    ).fetchone()
    page = admin.get(f"{airflow.url}/onestop/failures/{key}", timeout=30).text
    assert HOSTILE_NAMES[0] not in page
    assert escape(HOSTILE_NAMES[0]) in page
    citizen_id = json.loads(payload)["applicant"]["identityNumber"]
    assert citizen_id not in page
    assert f"{'*' * (len(citizen_id) - 3)}{citizen_id[-3:]}" in page

    ma_ho_so = db.execute(
        "SELECT ma_ho_so FROM onestop.dossier WHERE record::text LIKE '%<script>%' LIMIT 1"
    ).fetchone()[0]
    trace = admin.get(f"{airflow.url}/onestop/trace", params={"q": ma_ho_so}, timeout=30).text
    assert ma_ho_so in trace
    assert escape(HOSTILE_NAMES[0]) in trace and HOSTILE_NAMES[0] not in trace
    # the source by its title, as the failures' pages name it; a re-drive's run said in Vietnamese, not "redrive"
    assert f"<dd>{escape(registry.load().source(SOURCE).title)} <code>{SOURCE}</code></dd>" in trace
    run, was = db.execute(
        "SELECT r.run_id, r.airflow_run_id FROM onestop.dossier_version v JOIN onestop.dossier d USING (uid)"
        " JOIN onestop.sync_run r ON r.run_id = v.run_id WHERE d.ma_ho_so = %s LIMIT 1",
        (ma_ho_so,),
    ).fetchone()
    db.execute("UPDATE onestop.sync_run SET airflow_run_id = 'redrive' WHERE run_id = %s", (run,))
    try:
        trace = admin.get(f"{airflow.url}/onestop/trace", params={"q": ma_ho_so}, timeout=30).text
    finally:
        db.execute("UPDATE onestop.sync_run SET airflow_run_id = %s WHERE run_id = %s", (was, run))
    assert f"lần chạy {run} · chạy lại" in trace and "redrive" not in trace


def test_a_form_from_elsewhere_is_refused(airflow, failures_loaded) -> None:
    admin = session(airflow, "admin")
    resp = admin.post(
        f"{airflow.url}/onestop/failures/resolve",
        data={"csrf": "0" * 32, "keys": ["q1"], "comment": "c"},
        allow_redirects=False,
    )
    assert resp.status_code == 403


def test_resolving_records_who_when_and_why_and_the_rows_leave_the_open_list(
    airflow, failures_loaded, db
) -> None:
    admin = session(airflow, "admin")
    keys = [r[0] for r in db.execute("SELECT key FROM onestop.failure WHERE open ORDER BY key LIMIT 2")]
    resp = submit(admin, airflow, "resolve", keys=keys, comment="nguồn đã sửa tay")
    assert resp.status_code == 303
    assert "msg=" in resp.headers["location"]
    rows = db.execute("SELECT open, resolved_by, comment FROM onestop.failure WHERE key = ANY(%s)", (keys,))
    assert {tuple(r) for r in rows} == {(False, "admin", "nguồn đã sửa tay")}
    action = db.execute("SELECT actor, action, keys FROM onestop.admin_action ORDER BY id DESC LIMIT 1")
    assert action.fetchone() == ("admin", "resolve", keys)
    open_keys = {r["key"] for r in admin.get(f"{airflow.url}/onestop/api/failures?size=500").json()["rows"]}
    assert not open_keys & set(keys)
    detail = admin.get(f"{airflow.url}/onestop/failures/{keys[0]}", timeout=30).text
    assert "admin: nguồn đã sửa tay" in detail  # the history says who closed it and why


def test_a_redrive_is_a_run_of_onestop_redrive_created_through_airflows_api(
    airflow, failures_loaded, db
) -> None:
    admin = session(airflow, "admin")
    keys = [r[0] for r in db.execute("SELECT key FROM onestop.failure WHERE open ORDER BY key LIMIT 3")]
    resp = submit(admin, airflow, "redrive", keys=keys)
    assert resp.status_code == 303, resp.text
    action_id, state, run_id = db.execute(
        "SELECT id, state, dag_run_id FROM onestop.admin_action WHERE action = 'redrive' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert state == "triggered" and run_id
    run = airflow.api("GET", f"/dags/onestop_redrive/dagRuns/{run_id}")
    assert run["conf"] == {"keys": keys, "action_id": action_id}
    assert run["triggered_by"] == "rest_api"

    # What the detail page polls after a re-drive: the action, with the Airflow run's state.
    polled = admin.get(f"{airflow.url}/onestop/api/actions/{action_id}", timeout=30)
    assert polled.status_code == 200 and polled.headers["cache-control"] == "no-store"
    body = polled.json()
    assert set(body) == {"id", "state", "dag_run_id", "dag_run_state", "result", "finished_at"}
    assert (body["id"], body["state"], body["dag_run_id"]) == (action_id, "triggered", run_id)
    assert body["dag_run_state"] == run["state"] or body["dag_run_state"] in ("queued", "running", "success")
    for bad, status in (("abc", 400), ("-1", 400), ("9" * 25, 400), ("999999999", 404)):
        resp = admin.get(f"{airflow.url}/onestop/api/actions/{bad}", timeout=30)
        assert resp.status_code == status, bad
        assert resp.json()["code"] == ("bad_input" if status == 400 else "no_such_action")
    assert session(airflow, None).get(f"{airflow.url}/onestop/api/actions/{action_id}").status_code == 401
    assert session(airflow, "viewer").get(f"{airflow.url}/onestop/api/actions/{action_id}").status_code == 200


def test_pages_are_listed_under_browse_in_airflows_menu(airflow) -> None:
    plugins = airflow.api("GET", "/plugins")["plugins"]
    console = next(p for p in plugins if p["name"] == "onestop_console")
    views = {v["name"]: v for v in console["external_views"]}
    assert set(views) == {
        "Hồ sơ lỗi — Failed transfers",
        "Tra cứu hồ sơ — Dossier trace",
        "Tình trạng nguồn — Source health",
    }
    assert {v["category"] for v in views.values()} == {"browse"}
    assert all(not v["href"].startswith("/") for v in views.values())


def test_keyset_paging_walks_100000_failures_once_each_through_the_time_indexes(
    airflow, failures_loaded, db
) -> None:
    db.execute(
        "INSERT INTO onestop.quarantine (source, record_id, errors, error_class, payload, content_type,"
        " payload_hash, first_seen_at, last_seen_at)"
        " SELECT 'bulk', 'r' || g, '[{\"reason\": \"missing\"}]', 'MissingField', '{}', 'application/json',"
        "  md5(g::text), now() - (g / 7) * interval '1 second', now() - (g / 7) * interval '1 second'"
        " FROM generate_series(1, 100000) g"  # ties: 7 rows share each second
    )
    db.execute("ANALYZE onestop.quarantine")
    from connectors.store import failures

    seen, after, pages = [], None, 0
    while True:  # what the page does, through the store (the HTTP round trips are the API's test below)
        page = failures.page(db, failures.Filters(source="bulk"), after=after, size=500, counts=False)
        seen += [(r.at, r.key) for r in page.rows]
        pages += 1
        after = page.next_cursor
        if not after:
            break
    assert len(seen) == 100_000 == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    assert pages == 200

    admin = session(airflow, "admin")  # the API continues from its own cursor
    first = admin.get(f"{airflow.url}/onestop/api/failures", params={"source": "bulk", "size": 500}).json()
    second = admin.get(
        f"{airflow.url}/onestop/api/failures", params={"source": "bulk", "size": 500, "after": first["next"]}
    ).json()
    assert [r["key"] for r in first["rows"] + second["rows"]] == [key for _, key in seen[:1000]]

    cursor = failures.encode_cursor(*db.execute(
        "SELECT last_seen_at, 'q' || id FROM onestop.quarantine WHERE record_id = 'r90000'"
    ).fetchone())  # fmt: skip
    where, params = failures.Filters(source="bulk").where()
    at, key = failures.decode_cursor(cursor)
    plan = "\n".join(
        r[0]
        for r in db.execute(
            f"EXPLAIN SELECT {failures.COLUMNS} FROM onestop.failure{where}"
            " AND at <= %(at)s AND (at, key) < (%(at)s, %(key)s) ORDER BY at DESC, key DESC LIMIT 51",
            {**params, "at": at, "key": key},
        )
    )
    assert "Seq Scan on quarantine" not in plan, plan
    assert "quarantine_seen" in plan, plan
