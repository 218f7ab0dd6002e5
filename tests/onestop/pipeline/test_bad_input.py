"""Bad input never stops a source: one bad value costs one record, a page that cannot be read at all fails its run
cleanly (kept for the console, the watermark where it was), an administrator can skip it, and a run killed
mid-way is marked failed by the next one. The real pipeline, the real iGate simulator behind a proxy that
rewrites chosen pages byte for byte."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
import requests
from typer.testing import CliRunner

from connectors.errors import RefusedAnswer
from connectors.store import refusals
from onestop import pipeline
from onestop.cli import app
from onestop.simulators.process import start_simulator
from tests.conftest import IGATE_FIELDS, SOURCES, set_connection, truth_at

SOURCE, OTHER = SOURCES[0], SOURCES[1]  # iGate-profile sources: pages of 200, from page 0
CITIZEN_ID = "001099012345"

Rewrite = Callable[[int, bytes], bytes]  # (page number from 0, the page as served) -> what is sent instead


@contextmanager
def rewriting(upstream: str, rewrite: Rewrite) -> Iterator[str]:
    """A real HTTP server in front of `upstream` that passes every call through and rewrites dossier pages."""

    class Handler(BaseHTTPRequestHandler):
        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            resp = requests.request(
                self.command, upstream + self.path, data=body, headers=headers, timeout=30
            )
            out = resp.content
            url = urlsplit(self.path)
            if url.path.endswith("/dossiers") and resp.ok:
                out = rewrite(int(parse_qs(url.query).get("page", ["0"])[0]), out)
            self.send_response(resp.status_code)
            self.send_header("Content-Type", resp.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = _relay

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def district() -> Iterator[str]:
    with start_simulator("igate", "--seed", "11", "--count", "450") as sim:
        yield sim.url


@contextmanager
def serving(district: str, rewrite: Rewrite, source: str = SOURCE) -> Iterator[None]:
    with rewriting(district, rewrite) as url:
        set_connection(f"onestop_src_{source}", url, **IGATE_FIELDS)
        yield


def taint(body: bytes, values: dict[str, str]) -> bytes:
    """The page with the applicant's name of the records named in `values` replaced by JSON text (escapes as
    written), wherever they are served."""
    answer = json.loads(body)
    for record in answer["content"]:
        if record["id"] in values:
            record["applicant"]["fullname"] = f"@@{record['id']}@@"
    out = json.dumps(answer, ensure_ascii=False)
    for record_id, text in values.items():
        out = out.replace(f'"@@{record_id}@@"', text)
    return out.encode()


def state(db: psycopg.Connection) -> dict:
    run = db.execute(
        "SELECT run_id, state, error, loaded, quarantined FROM onestop.sync_run WHERE source = %s"
        " ORDER BY run_id DESC LIMIT 1",
        (SOURCE,),
    ).fetchone()
    counts = db.execute(
        "SELECT (SELECT count(*) FROM onestop.dossier WHERE source = %(s)s),"
        " (SELECT count(*) FROM onestop.dossier_version v JOIN onestop.dossier d USING (uid) WHERE d.source = %(s)s),"
        " (SELECT count(*) FROM onestop.quarantine WHERE source = %(s)s),"
        " (SELECT value FROM onestop.watermark WHERE source = %(s)s),"
        " (SELECT count(*) FROM onestop.staging s JOIN onestop.sync_run r USING (run_id) WHERE r.source = %(s)s"
        "  AND r.state = 'failed')",
        {"s": SOURCE},
    ).fetchone()
    return {
        "run": run[0],
        "state": run[1],
        "error": run[2],
        "loaded": run[3],
        "quarantined": run[4],
        "dossiers": counts[0],
        "versions": counts[1],
        "quarantine_rows": counts[2],
        "watermark": counts[3],
        "failed_staging": counts[4],
    }


def test_two_nuls_and_a_lone_surrogate_cost_three_records_and_the_next_run_adds_nothing(
    db: psycopg.Connection, district: str
) -> None:
    # The first 21 records of page 0: records 3 and 9 carry a NUL, record 15 a lone surrogate (and a citizen ID
    # in the same value, which no stored error may quote).
    rows = truth_at(district)
    good = [r for r in rows if not r["bad"]]
    newest = sorted(good, key=lambda r: r["updatedDate"])[-3:]  # read again by the next run's lookback
    values = ['"Nguy\\u0000n Văn A"', f'"{CITIZEN_ID}\\u0000"', '"Trần \\ud800 B"']
    bad = {r["id"]: v for r, v in zip(newest, values, strict=True)}
    with serving(district, lambda page, body: taint(body, bad)):
        pipeline.sync(SOURCE)
        first = state(db)
        pipeline.sync(SOURCE)
        second = state(db)
    assert first["state"] == "loaded" and first["quarantined"] == len(rows) - len(good) + 3
    assert first["dossiers"] == len(good) - 3 and first["loaded"] == len(good) - 3
    reasons = [
        row[0]
        for row in db.execute(
            "SELECT errors::text FROM onestop.quarantine WHERE source = %s ORDER BY id", (SOURCE,)
        ).fetchall()
    ]
    tainted = [r for r in reasons if "applicant.fullname" in r and "U+" in r]
    assert len(tainted) == 3 and CITIZEN_ID not in "".join(reasons)
    assert sum("U+0000" in r for r in tainted) == 2 and sum("U+D800" in r for r in tainted) == 1
    payloads = db.execute("SELECT payload FROM onestop.quarantine WHERE source = %s", (SOURCE,)).fetchall()
    assert any("\\u0000" in p[0] for p in payloads)  # the record as sent, its escape visible
    assert second["state"] == "loaded" and second["run"] > first["run"]
    assert (second["versions"], second["quarantine_rows"]) == (first["versions"], first["quarantine_rows"])


@pytest.mark.parametrize("processes", ["0", "2"])
def test_records_read_where_they_are_normalized_are_logged_and_staged_as_the_page_reader_would(
    db: psycopg.Connection, district: str, monkeypatch: pytest.MonkeyPatch, processes: str
) -> None:
    """A JSON page is only split by the reading process; each record is parsed and checked where it is
    normalized (this process, or a worker). Whatever a record carries, the fetch log (ids, defects), the message
    log (each page's hash, size and ids), the dossiers and the quarantine are what they are when the page reader
    parses every record itself."""
    from connectors.rest import RestSource

    def outcome() -> tuple:
        q = db.execute
        run = q("SELECT max(run_id) FROM onestop.sync_run").fetchone()[0]
        return (
            q(
                "SELECT seq, record_id, defects FROM onestop.staging WHERE run_id = %s ORDER BY seq", (run,)
            ).fetchall(),
            q(
                "SELECT kind, payload_hash, size, ids FROM onestop.message_log WHERE chain = %s AND direction = 'in'"
                " ORDER BY seq",
                (SOURCE,),
            ).fetchall(),
            q("SELECT uid, version, content_hash, record FROM onestop.dossier ORDER BY uid").fetchall(),
            q(
                "SELECT record_id, errors, error_class, payload FROM onestop.quarantine ORDER BY record_id"
            ).fetchall(),
        )

    rows = [r for r in truth_at(district) if not r["bad"]]
    values = ['"Nguy\\u0000n"', '"A", "fullname": "B"', '"A" , "x" : 1e400', f'"{CITIZEN_ID}\\u0007"']
    bad = {r["id"]: v for r, v in zip(rows[::50], values, strict=False)}
    monkeypatch.setenv("ONESTOP_NORMALIZE_PROCESSES", processes)
    monkeypatch.setattr(pipeline.normalize, "PARALLEL_FROM", 0)
    with serving(district, lambda page, body: taint(body, bad)):
        split = pipeline.sync(SOURCE)
        expected = outcome()
        db.execute("TRUNCATE onestop.dossier, onestop.dossier_version_past, onestop.status_history,"
                   " onestop.outbox, onestop.quarantine, onestop.conflict, onestop.watermark, onestop.message_log")  # fmt: skip
        monkeypatch.setattr(RestSource, "leave_records_unparsed", lambda self: False)
        assert pipeline.sync(SOURCE) == split
    assert outcome() == expected
    defects = [row[2] for row in expected[0] if row[2]]
    assert len(defects) == len(bad) and CITIZEN_ID not in json.dumps(defects), defects


@pytest.mark.parametrize(
    ("rewrite", "cause"),
    [
        (
            lambda page, body: b"<html><body>Service Unavailable</body></html>",
            "not JSON (expecting a value) at byte 0",
        ),
        (lambda page, body: body[: len(body) // 2], "not JSON"),
        (lambda page, body: b"[" * 100_000, "nested too deep"),
    ],
    ids=["html", "truncated", "deep"],
)
def test_a_page_that_cannot_be_read_fails_the_run_cleanly_and_is_kept_for_the_console(
    db: psycopg.Connection, district: str, rewrite: Rewrite, cause: str
) -> None:
    with serving(district, lambda page, body: body):
        pipeline.sync(SOURCE)
    before = state(db)
    with serving(district, rewrite), pytest.raises(RefusedAnswer):
        pipeline.sync(SOURCE)
    after = state(db)
    assert after["state"] == "failed" and after["error"].startswith(f"RefusedAnswer: {SOURCE}: page 1: ")
    assert cause in after["error"]
    assert after["watermark"] == before["watermark"] and after["failed_staging"] == 0
    refused = db.execute(
        "SELECT page, excerpt, state FROM onestop.attempt WHERE run_id = %s AND excerpt IS NOT NULL",
        (after["run"],),
    ).fetchall()
    assert len(refused) == 1 and refused[0][0] == 1 and refused[0][2] == "open" and refused[0][1]
    failures = db.execute("SELECT kind, open, ref FROM onestop.failure WHERE kind = 'refused'").fetchall()
    assert failures == [("refused", True, "page 1")]


def test_a_refused_page_can_be_skipped_and_the_source_moves_on(db: psycopg.Connection, district: str) -> None:
    html = b"<html>Loi he thong</html>"
    with serving(district, lambda page, body: html if page == 1 else body):
        with pytest.raises(RefusedAnswer):
            pipeline.sync(SOURCE)
        with psycopg.connect(db.info.dsn, autocommit=True) as conn:
            refusals.request_skip(conn, SOURCE, "admin", "the vendor cannot fix it tonight")
        pipeline.sync(SOURCE)
    after = state(db)
    good_ids = {r["id"] for r in truth_at(district) if not r["bad"]}
    assert after["state"] == "loaded" and 0 < after["dossiers"] < len(good_ids)  # page 1 skipped
    assert after["dossiers"] + after["quarantine_rows"] == 450 - 200
    action = db.execute(
        "SELECT state, result FROM onestop.admin_action WHERE action = 'skip' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert action[0] == "done" and [s["page"] for s in action[1]["skipped"]] == [2]
    assert action[1]["skipped"][0]["page_value"] == 1 and action[1]["skipped"][0]["offset"] == 200
    states = dict(
        db.execute(
            "SELECT state, count(*) FROM onestop.attempt WHERE endpoint = %s AND excerpt IS NOT NULL GROUP BY 1",
            (SOURCE,),
        ).fetchall()
    )
    assert states == {"cleared": 1, "skipped": 1}  # the first refusal cleared by the run that loaded


def test_a_run_killed_mid_way_is_marked_failed_by_the_next(db: psycopg.Connection, district: str) -> None:
    with serving(district, lambda page, body: body):
        killed = pipeline.plan(SOURCE)  # as if its process died before extracting
        pipeline.sync(SOURCE)
    row = db.execute(
        "SELECT state, error FROM onestop.sync_run WHERE run_id = %s", (killed.run_id,)
    ).fetchone()
    assert row[0] == "failed" and row[1].startswith("interrupted")


def test_sync_of_several_sources_goes_on_past_a_failing_one_and_exits_non_zero(
    db: psycopg.Connection, district: str
) -> None:
    with serving(district, lambda page, body: b"\x00garbage" if page == 0 else body):
        with start_simulator("igate", "--seed", "12", "--count", "30") as other:
            set_connection(f"onestop_src_{OTHER}", other.url, **IGATE_FIELDS)
            result = CliRunner().invoke(app, ["sync", SOURCE, OTHER])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["source"] for line in lines] == [OTHER] and lines[0]["loaded"] == 30
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["source"] == SOURCE and error["error"] == "RefusedAnswer" and "page 1" in error["message"]
