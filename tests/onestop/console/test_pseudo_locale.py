"""Every word a page shows comes from the catalog: a pseudo-locale built here wraps each literal part of every
translation in ⟦…⟧ (parameters stay outside), a second API server runs the console in it, and every page (the list,
each kind of failure, a trace, health, the overview, each error page, a banner) is parsed: a visible text node (or a
title, alt, placeholder or aria-label) may hold only wrapped text and data the fixtures planted (ids, MaHoSo,
names, dates, numbers, masked values, user names, codes). Error classes, reasons, events and labels are never
taken as data: an untranslated one is left over and fails."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest
import requests
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from onestop.airflow.cluster import AirflowCluster, free_port
from tests.onestop.console.conftest import SOURCE, session

LOCALES = Path(__file__).resolve().parents[3] / "onestop" / "console" / "locale"
PLACEHOLDER = re.compile(r"%\(\w+\)s")
WRAPPED = re.compile(r"⟦[^⟦⟧]*⟧")
TASK_MESSAGE = "RuntimeError: database connection lost"  # an exception's own text (free data, not a reason)
PRODUCT = {"onestop-esb", "Airflow"}


def pseudo(text: str) -> str:
    """Each literal run of a msgid wrapped, its placeholders left outside (so that what fills them is checked)."""
    out, last = [], 0
    for m in PLACEHOLDER.finditer(text):
        out += [f"⟦{text[last : m.start()]}⟧" if m.start() > last else "", m.group()]
        last = m.end()
    out.append(f"⟦{text[last:]}⟧" if last < len(text) or not out else "")
    return "".join(out)


@pytest.fixture(scope="module")
def pseudo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("locale")
    with (LOCALES / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        source = read_po(f)
    catalog = Catalog(locale="en", domain="messages")  # two plural forms
    for m in source:
        if not m.id:
            continue
        string = tuple(pseudo(i) for i in m.id) if isinstance(m.id, tuple) else pseudo(m.id)
        catalog.add(m.id, string, context=m.context)
    target = folder / "pseudo" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as f:
        write_mo(f, catalog)
    return folder


@pytest.fixture(scope="module")
def pseudo_airflow(airflow_api: AirflowCluster, pseudo_dir: Path) -> Iterator[AirflowCluster]:
    """A second API server on the session's Airflow (same home, metadata, users), the console in the pseudo
    language."""
    cluster = dataclasses.replace(
        airflow_api,
        port=free_port(),
        procs={},
        extra_env={
            **airflow_api.extra_env,
            "ONESTOP_CONSOLE_LANGUAGE": "pseudo",
            "ONESTOP_CONSOLE_LOCALE_DIR": str(pseudo_dir),
        },
    )
    cluster.start("api-server", name="api-server-pseudo")
    try:
        cluster.wait_ready()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def every_kind(failures_loaded, pg_url: str) -> dict[str, str]:
    """A failure of each kind: the synced district's quarantine and delivery failures, and a conflict, a task
    failure and a refused page planted here. Returns kind → key."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        uids = [
            r[0]
            for r in conn.execute(
                "SELECT uid FROM onestop.dossier WHERE source = %s ORDER BY uid LIMIT 2", (SOURCE,)
            )
        ]
        holder, second = uids
        ma_ho_so = conn.execute("SELECT ma_ho_so FROM onestop.dossier WHERE uid = %s", (holder,)).fetchone()[
            0
        ]
        conn.execute(
            "INSERT INTO onestop.conflict (uid, ma_ho_so, holder_uid, source) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (second, ma_ho_so, holder, SOURCE),
        )
        run_id = conn.execute(
            "SELECT max(run_id) FROM onestop.sync_run WHERE source = %s", (SOURCE,)
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO onestop.task_failure (dag_id, run_id, task_id, source, error_class, message)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (f"onestop_sync_{SOURCE}", "scheduled__2025-07-01T00:00:00+00:00", "load", SOURCE, "TransientError",
             TASK_MESSAGE),
        )  # fmt: skip
        conn.execute(
            "INSERT INTO onestop.attempt (endpoint, operation, error_class, message, http_status, run_id, page,"
            " byte_offset, excerpt, state) VALUES (%s, 'fetch', 'RefusedAnswer', %s, 200, %s, 3, 0, %s, 'open')",
            (SOURCE, "answer of 9000000 bytes is over the 8388608-byte cap", run_id, '{"items": ['),
        )
        keys = {}
        for kind in ("quarantine", "delivery", "conflict", "task", "refused"):
            row = conn.execute(
                "SELECT key FROM onestop.failure WHERE kind = %s AND open ORDER BY at DESC LIMIT 1", (kind,)
            ).fetchone()
            assert row, f"no {kind} failure to render"
            keys[kind] = row[0]
    return keys


def planted(keys: dict[str, str], queries: list[str]) -> set[str]:
    """The data the pages may show unwrapped, read through the same code the pages use."""
    from connectors.store import failures
    from onestop import registry
    from onestop.db import connect
    from onestop.operations import health, trace
    from schemas.codes import DossierStatus
    from schemas.personal_data import mask_text

    values: set[str] = {"admin", "viewer", TASK_MESSAGE}
    values |= {s.label for s in DossierStatus}
    config = registry.load()
    with connect() as conn:
        values |= {v for s in config.sources for v in (s.name, s.title)}
        for s in health.source_health(conn, config):
            values |= {s.source, s.title, s.kind}
        values |= {d.name for d in health.due_by_district(conn, config)} | {
            d.district_code or "" for d in health.due_by_district(conn, config)
        }
        page = failures.page(conn, failures.Filters(state="all"), size=500)
        for r in page.rows:
            values |= {r.key, r.source or "", r.resolved_by or "", r.comment or ""}
            if r.kind != "refused":
                values.add(r.ref or "")
        for key in keys.values():
            d = failures.detail(conn, key)
            values |= {str(v) for v in d.facts.values() if v is not None}
            values |= {str(e.get("field") or "") for e in d.errors}
        for q in queries:
            for t in trace.find(conn, q):
                values |= {
                    t.source,
                    t.source_record_id,
                    t.ma_ho_so or "",
                    t.uid or "",
                    t.applicant_id_masked or "",
                }
                values |= {getattr(t, "applicant_name", None) or ""}
                values |= {e.airflow_run_id or "" for e in t.events}
                for e in t.events:
                    for line in re.findall(r"(\w[\w.\[\]]*): ", e.detail):  # quarantined: field names
                        values.add(line)
    values |= {mask_text(v) for v in values if v}
    return {v for v in values if len(v) > 1 and any(ch.isalpha() for ch in v)}  # numbers pass as such


def leftovers(html: str, data: set[str]) -> list[str]:
    """The visible words of a page that are neither wrapped nor planted data."""
    doc = lxml.html.fromstring(html)
    for bad in doc.xpath("//script | //style | //code | //pre | //time"):
        bad.drop_tree()  # not shown (script, style) or shown as data (field names, values, payloads, times)
    texts = list(doc.xpath("//text()"))
    for attr in ("title", "alt", "placeholder", "aria-label"):
        texts += doc.xpath(f"//@{attr}")
    found = []
    ordered = sorted(data, key=len, reverse=True)
    for text in texts:
        rest = str(text)
        while WRAPPED.search(rest):
            rest = WRAPPED.sub(" ", rest)
        for value in ordered:
            if value in rest:
                rest = rest.replace(value, " ")
        for token in re.findall(r"[\w'’-]+", rest):
            if token in PRODUCT or any(ch.isdigit() for ch in token) or not any(ch.isalpha() for ch in token):
                continue
            found.append(f"{token!r} in {str(text).strip()[:120]!r}")
    return found


def form_token(s: requests.Session, url: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', s.get(f"{url}/onestop/trace", timeout=30).text)
    assert match
    return match[1]


def test_every_page_speaks_only_the_catalog(pseudo_airflow: AirflowCluster, every_kind, db) -> None:
    url = pseudo_airflow.url
    admin, viewer = session(pseudo_airflow, "admin"), session(pseudo_airflow, "viewer")
    quarantined = db.execute(
        "SELECT record_id FROM onestop.quarantine WHERE source = %s ORDER BY id LIMIT 1", (SOURCE,)
    ).fetchone()[0]
    delivered = db.execute(
        "SELECT d.ma_ho_so FROM onestop.outbox o JOIN onestop.dossier d USING (uid) WHERE o.failed_at IS NOT NULL"
        " ORDER BY uid LIMIT 1"
    ).fetchone()
    queries = [quarantined, *(delivered or [])]
    pages: dict[str, requests.Response] = {}
    for name, path in [("overview", "/"), ("list", "/failures?state=all"), ("health", "/health"),
                       ("trace form", "/trace"), ("banner", "/failures?err=comment_needed"),
                       ("bad date 400", "/failures?since=31/02/2025"), ("404", "/failures/q999999999")]:  # fmt: skip
        pages[name] = admin.get(f"{url}/onestop{path}", timeout=60)
    for kind, key in every_kind.items():
        pages[f"{kind} {key}"] = admin.get(f"{url}/onestop/failures/{key}", timeout=60)
    for q in queries:
        pages[f"trace {q}"] = admin.post(
            f"{url}/onestop/trace", data={"csrf": form_token(admin, url), "q": q}, headers={"Origin": url}
        )
    pages["viewer 403"] = viewer.post(
        f"{url}/onestop/failures/resolve",
        data={"csrf": form_token(viewer, url), "keys": [every_kind["quarantine"]], "comment": "c"},
        headers={"Origin": url},
    )
    pages["empty comment"] = admin.post(
        f"{url}/onestop/failures/resolve",
        data={"csrf": form_token(admin, url), "keys": [every_kind["quarantine"]], "comment": ""},
        headers={"Origin": url},
    )
    db.execute(
        "INSERT INTO onestop.admin_action (actor, action, comment)"
        " SELECT 'viewer', 'trace', 'pseudo-locale test' FROM generate_series(1, 30)"
    )
    try:
        pages["429"] = viewer.post(
            f"{url}/onestop/trace",
            data={"csrf": form_token(viewer, url), "q": "001099012345"},
            headers={"Origin": url},
        )
    finally:
        db.execute("DELETE FROM onestop.admin_action WHERE comment = 'pseudo-locale test'")

    expected = {"bad date 400": 400, "404": 404, "viewer 403": 403, "429": 429}
    for name, resp in pages.items():
        assert resp.status_code == expected.get(name, 200), (name, resp.status_code, resp.text[:300])
        assert "⟦" in resp.text, f"{name}: not rendered in the pseudo language"
        if resp.status_code >= 400:
            assert '<nav class="top">' in resp.text, f"{name}: an error page in the console's layout"
    assert 'class="trace"' in pages[f"trace {quarantined}"].text
    assert 'class="flash err"' in pages["banner"].text

    data = planted(every_kind, queries)
    problems = {name: leftovers(resp.text, data) for name, resp in pages.items()}
    problems = {name: found[:8] for name, found in problems.items() if found}
    assert not problems, f"text outside the catalog: {problems}"


def test_a_viewer_sees_no_action_they_may_not_take(pseudo_airflow: AirflowCluster, every_kind) -> None:
    url = pseudo_airflow.url
    for user, can in (("viewer", False), ("admin", True)):
        s = session(pseudo_airflow, user)
        for path in (
            "/failures",
            f"/failures/{every_kind['quarantine']}",
            f"/failures/{every_kind['refused']}",
        ):
            html = s.get(f"{url}/onestop{path}", timeout=60).text
            doc = lxml.html.fromstring(html)
            controls = doc.xpath(
                "//input[@type='checkbox'] | //button[contains(@formaction, 'resolve') or contains(@formaction,"
                " 'redrive') or contains(@formaction, 'skip')] | //form[contains(@action, 'redrive')]//button"
                " | //input[@name='comment']"
            )
            assert bool(controls) == can, (user, path, len(controls))
