"""The console as an attacker and a careless link would try it, through a real Airflow API server with the plugin:
no personal data in a URL or a page, no 5xx from any input, forms only from this site, banners only from our own
codes, links never from the Host header, the usual headers, and searches by citizen ID recorded and limited."""

from __future__ import annotations

import json
import re

import psycopg
import pytest
import requests

from onestop.airflow.cluster import AirflowCluster
from tests.onestop.console.conftest import session

CITIZEN_ID_TYPED = "001099012345"
PHONE_TYPED = "0912345678"


def form_token(s: requests.Session, airflow: AirflowCluster) -> str:
    match = re.search(
        r'name="csrf" value="([0-9a-f]+)"', s.get(f"{airflow.url}/onestop/trace", timeout=30).text
    )
    assert match
    return match[1]


def post(s: requests.Session, airflow: AirflowCluster, path: str, origin: str | None = None, **data):
    """A form of this site, as a browser posts it (its Origin), unless told otherwise."""
    data.setdefault("csrf", form_token(s, airflow))
    headers = {"Origin": origin if origin is not None else airflow.url}
    return s.post(
        f"{airflow.url}/onestop{path}", data=data, headers=headers, allow_redirects=False, timeout=30
    )


def a_citizen_id(db: psycopg.Connection) -> str:
    row = db.execute(
        "SELECT record->'applicant'->>'id_number' FROM onestop.dossier"
        " WHERE length(record->'applicant'->>'id_number') = 12 LIMIT 1"
    ).fetchone()
    assert row, "the synced district has citizens with a CCCD"
    return row[0]


def test_a_search_by_citizen_id_is_a_post_recorded_with_the_id_masked(airflow, failures_loaded, db) -> None:
    admin = session(airflow, "admin")
    citizen_id = a_citizen_id(db)
    resp = post(admin, airflow, "/trace", q=citizen_id)
    assert resp.status_code == 200
    assert 'class="trace"' in resp.text, "the dossier is found through the keyed hash"
    assert citizen_id not in resp.text and f"*********{citizen_id[-3:]}" in resp.text
    assert 'name="q" value=""' in resp.text  # the field is not filled again with the ID
    actor, comment = db.execute(
        "SELECT actor, comment FROM onestop.admin_action WHERE action = 'trace' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert (actor, comment) == ("admin", f"CCCD/CMND *********{citizen_id[-3:]}")

    by_url = admin.get(f"{airflow.url}/onestop/trace", params={"q": citizen_id}, timeout=30)
    assert by_url.status_code == 200
    assert 'class="trace"' not in by_url.text and citizen_id not in by_url.text
    assert "chỉ dùng ô tìm kiếm" in by_url.text
    assert 'method="post"' in by_url.text.split('role="search"')[0].rsplit("<form", 1)[1]


def test_the_lookup_hash_is_keyed_outside_the_database(airflow, failures_loaded, db) -> None:
    import hashlib

    from onestop import privacy

    citizen_id = a_citizen_id(db)
    stored = db.execute(
        "SELECT applicant_id_hash FROM onestop.dossier WHERE record->'applicant'->>'id_number' = %s LIMIT 1",
        (citizen_id,),
    ).fetchone()[0]
    assert stored == privacy.citizen_id_hash(citizen_id)
    assert stored != hashlib.sha256(f"cccd:{citizen_id}".encode()).hexdigest()  # not guessable from the table
    assert stored != privacy.citizen_id_hash(citizen_id, b"another key")


def test_searches_by_citizen_id_are_limited_per_user(airflow, failures_loaded, db) -> None:
    # Imported here, not at collection: Airflow's API modules, imported early, leave dag.test() unable to
    # serialize DAGs in the tests that follow.
    from onestop.console.pages import trace as trace_page

    limit, _ = trace_page.TRACE_LIMIT
    db.execute(
        "INSERT INTO onestop.admin_action (actor, action, comment) SELECT 'viewer', 'trace', 'CCCD/CMND x'"
        " FROM generate_series(1, %s)",
        (limit,),
    )
    viewer = session(airflow, "viewer")
    resp = post(viewer, airflow, "/trace", q="030200830063")
    assert resp.status_code == 429 and "Đã tra cứu" in resp.text
    assert post(viewer, airflow, "/trace", q="000.00.14.H23-250701-0001").status_code == 200  # not by ID
    assert post(session(airflow, "admin"), airflow, "/trace", q="030200830063").status_code == 200  # per user
    db.execute("DELETE FROM onestop.admin_action WHERE actor = 'viewer' AND action = 'trace'")


def test_a_comment_with_personal_data_is_masked_on_every_page_and_answer(
    airflow, failures_loaded, db
) -> None:
    admin, viewer = session(airflow, "admin"), session(airflow, "viewer")
    key = db.execute("SELECT key FROM onestop.failure WHERE open AND kind = 'quarantine' LIMIT 1").fetchone()[
        0
    ]
    typed = f"Đã gọi SĐT {PHONE_TYPED}, CCCD {CITIZEN_ID_TYPED}, thư a.b@example.vn"
    assert post(admin, airflow, "/failures/resolve", keys=[key], comment=typed).status_code == 303
    # Stored before an older version of the console masked anything: shown masked all the same.
    db.execute("UPDATE onestop.quarantine SET comment = %s WHERE id = %s", (typed, int(key[1:])))
    db.execute("UPDATE onestop.admin_action SET comment = %s WHERE %s = ANY(keys)", (typed, key))
    detail = viewer.get(f"{airflow.url}/onestop/failures/{key}", timeout=30).text
    listed = viewer.get(f"{airflow.url}/onestop/failures", params={"state": "all"}, timeout=30).text
    answer = viewer.get(f"{airflow.url}/onestop/api/failures", params={"state": "all", "size": 500}).text
    for shown in (detail, listed, answer):
        for secret in (PHONE_TYPED, CITIZEN_ID_TYPED, "a.b@example.vn"):
            assert secret not in shown
    assert detail.count(f"*******{PHONE_TYPED[-3:]}") >= 2  # the state line and the history
    assert "a***@example.vn" in detail
    row = next(r for r in json.loads(answer)["rows"] if r["key"] == key)
    assert f"*********{CITIZEN_ID_TYPED[-3:]}" in row["comment"]


BAD_INPUTS = [
    ("GET", "/failures", {"source": "a\x00b"}),
    ("GET", "/failures", {"error_class": "X\x00"}),
    ("GET", "/failures", {"until": "31/12/9999"}),
    ("GET", "/failures", {"since": "2024-02-30"}),
    ("GET", "/failures", {"kind": "nope"}),
    ("GET", "/failures", {"after": "bm90IGEgY3Vyc29y"}),
    ("GET", "/api/failures", {"size": "99999999999999999999"}),
    ("GET", "/api/failures", {"source": "\x00"}),
    ("GET", "/trace", {"q": "a\x00"}),
    ("GET", "/failures/dabc@99999999999", {}),
    ("GET", "/failures/q99999999999999999999", {}),
    ("GET", "/failures/q1\x00", {}),
    ("GET", "/failures/q\u0661", {}),
    ("POST", "/trace", {"q": "\x00"}),
    ("POST", "/failures/resolve", {"keys": ["q1\x00"], "comment": "c"}),
    ("POST", "/failures/resolve", {"keys": ["q1"], "comment": "c\x00"}),
    ("POST", "/failures/redrive", {"keys": ["dabc@99999999999"]}),
    ("POST", "/failures/redrive", {"scope": "class", "error_class": "\x00"}),
    ("POST", "/failures/redrive", {"scope": "\x00"}),
    ("POST", "/failures/skip", {"keys": ["r\x00"]}),
    ("POST", "/failures/resolve", {"keys": ["q1"] * 501, "comment": "c"}),
]


@pytest.mark.parametrize(
    ("method", "path", "params"), BAD_INPUTS, ids=[f"{m} {p} {q}" for m, p, q in BAD_INPUTS]
)
def test_bad_input_is_a_400_in_the_consoles_layout_never_a_5xx(
    airflow, failures_loaded, method, path, params
):
    admin = session(airflow, "admin")
    if method == "GET":
        resp = admin.get(f"{airflow.url}/onestop{path}", params=params, timeout=30, allow_redirects=False)
    else:
        resp = post(admin, airflow, path, **params)
    assert resp.status_code == 400, resp.text[:500]
    if "/api/" in path:
        assert resp.json()["code"] == "bad_input"
    else:
        assert '<nav class="top">' in resp.text and 'role="alert"' in resp.text  # the layout, the reason


def test_a_form_posted_from_another_site_is_refused_even_with_a_valid_token(
    airflow, failures_loaded, db
) -> None:
    admin = session(airflow, "admin")
    key = db.execute("SELECT key FROM onestop.failure WHERE open LIMIT 1").fetchone()[0]
    for origin in ("http://evil.example", "null", ""):
        resp = post(admin, airflow, "/failures/resolve", origin=origin, keys=[key], comment="c")
        assert resp.status_code == 403, origin
    token = form_token(admin, airflow)
    by_referer = admin.post(
        f"{airflow.url}/onestop/failures/resolve",
        data={"csrf": token, "keys": [key], "comment": "c"},
        headers={"Referer": "http://evil.example/page"},
        allow_redirects=False,
    )
    assert by_referer.status_code == 403
    assert db.execute("SELECT open FROM onestop.failure WHERE key = %s", (key,)).fetchone()[0]


def test_banners_show_only_our_own_messages(airflow, failures_loaded) -> None:
    admin = session(airflow, "admin")
    page = admin.get(
        f"{airflow.url}/onestop/failures",
        params={"err": "Tài khoản bị khoá: gọi 0912345678", "msg": "<b>x</b>"},
        timeout=30,
    ).text
    assert "Tài khoản bị khoá" not in page and "&lt;b&gt;" not in page
    known = admin.get(f"{airflow.url}/onestop/failures", params={"err": "comment_needed"}, timeout=30).text
    assert "Cần ghi chú lý do" in known


def test_links_never_come_from_the_host_header(airflow, failures_loaded) -> None:
    admin = session(airflow, "admin")
    page = admin.get(f"{airflow.url}/onestop/failures", headers={"Host": "evil.example"}, timeout=30).text
    assert "evil.example" not in page
    assert 'href="/onestop/failures' in page or "href='/onestop/failures" in page


def test_every_answer_carries_the_security_headers(airflow, failures_loaded) -> None:
    admin = session(airflow, "admin")
    for path in ("/", "/failures", "/api/failures", "/trace", "/health", "/failures/q0"):
        resp = admin.get(f"{airflow.url}/onestop{path}", timeout=30)
        csp = resp.headers["content-security-policy"]
        assert (
            "frame-ancestors 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        ), path
        assert resp.headers["x-content-type-options"] == "nosniff", path
        assert resp.headers["referrer-policy"] == "same-origin", path
        assert resp.headers["cache-control"] == "no-store", path
    anonymous = session(airflow, None).get(
        f"{airflow.url}/onestop/failures", allow_redirects=False, timeout=30
    )
    assert anonymous.headers["cache-control"] == "no-store"


def test_the_anonymous_redirect_names_a_path_of_this_console_and_airflow_refuses_a_foreign_next(
    airflow,
) -> None:
    anonymous = session(airflow, None)
    resp = anonymous.get(
        f"{airflow.url}/onestop/failures", params={"kind": "delivery"}, headers={"Host": "evil.example"},
        allow_redirects=False, timeout=30,
    )  # fmt: skip
    assert resp.status_code == 302
    assert resp.headers["location"] == "/api/v2/auth/login?next=%2Fonestop%2Ffailures%3Fkind%3Ddelivery"
    login = anonymous.get(f"{airflow.url}{resp.headers['location']}", allow_redirects=False, timeout=30)
    assert login.status_code in (302, 307) and "next=" in login.headers["location"]
    for foreign in ("http://evil.example/", "//evil.example/", "https:\\\\evil.example"):
        refused = anonymous.get(
            f"{airflow.url}/api/v2/auth/login", params={"next": foreign}, allow_redirects=False, timeout=30
        )
        assert refused.status_code == 400, foreign


def personal_numbers(db: psycopg.Connection) -> set[str]:
    """Every citizen ID and phone the synced district holds, and those the tests typed."""
    rows = db.execute(
        "SELECT record #>> '{applicant,id_number}', record #>> '{applicant,phone}' FROM onestop.dossier"
    ).fetchall()
    found = {v for row in rows for v in row if v and sum(c.isdigit() for c in v) >= 9}
    return {"".join(c for c in v if c.isdigit()) for v in found} | {CITIZEN_ID_TYPED, PHONE_TYPED}


def test_last_no_personal_number_reaches_the_api_servers_or_the_databases_log(airflow, failures_loaded, db):
    """Run after the module's searches, comments and bad inputs: the API server's log (its access log, the
    console's own lines) and the embedded PostgreSQL's log hold none of the citizens' IDs or phones."""
    from onestop import embedded_db

    numbers = personal_numbers(db)
    assert len(numbers) > 50
    logs = [airflow.home / "api-server.log", embedded_db.data_dir() / "log"]
    searched = 0
    for path in logs:
        if not path.exists():
            continue
        text = re.sub(r"(?<=\d)[ .\-()](?=\d)", "", path.read_text(errors="replace"))  # 0912 345 678 too
        searched += 1
        leaked = sorted(numbers & set(re.findall(r"\d+", text)))
        assert not leaked, f"{path}: {len(leaked)} personal numbers, e.g. …{leaked[0][-3:]}"
    assert searched >= 1
