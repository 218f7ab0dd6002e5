"""`onestop source preview`: what a source would give, before its first sync, and nothing written anywhere."""

from __future__ import annotations

import json
import time
from urllib.parse import quote_plus

import psycopg
import pytest
from lxml import etree
from typer.testing import CliRunner, Result

from onestop import pipeline
from onestop.cli import app
from tests.conftest import IGATE_FIELDS, ROOT, set_connection

SOURCE = "hd_chi_linh"


def snapshot(conn: psycopg.Connection) -> dict:
    """A content checksum of every onestop table, its insert/update/delete counters, and the anchors file."""
    tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'onestop'")]
    sums = {
        t: conn.execute(
            f"SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM onestop.{t} x"
        ).fetchone()
        for t in tables
    }
    time.sleep(1.2)  # other backends publish their counters within a second of their transaction's end
    conn.execute("SELECT pg_stat_clear_snapshot()")
    counters = conn.execute(
        "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables WHERE schemaname = 'onestop'"
    ).fetchall()
    anchors = pipeline.anchor_file()
    return {
        "tables": sums,
        "counters": sorted(counters),
        "anchors": anchors.read_bytes() if anchors.exists() else None,
    }


def cli(*args: str) -> Result:
    """The `onestop` command, run in this process (stdout and stderr apart)."""
    return CliRunner().invoke(app, list(args))


def preview_cli(*args: str) -> Result:
    return cli("source", "preview", SOURCE, *args)


def test_a_preview_shows_requests_pages_and_normalized_records_and_writes_nothing(db, districts) -> None:
    pipeline.sync(SOURCE)  # a database with content and a message log with anchors
    before = snapshot(db)

    result = preview_cli("--pages", "2", "--json", "--show", "2")

    assert result.exit_code == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["error"] is None and shown["records_per_page"] == [200, 100]
    token_call, first_page = shown["requests"][0], shown["requests"][1]
    assert token_call["url"].endswith("/oauth/token") and token_call["auth"] == "basic ***"
    assert first_page["query"]["page"] == 0 and first_page["headers"]["Authorization"] == "***"
    assert first_page["query"]["updatedFrom"].endswith("+07:00")  # the window in the source's zone
    assert IGATE_FIELDS["password"] not in result.stdout
    assert len(shown["records"]) == 2 and all(r["source"] == SOURCE for r in shown["records"])
    assert not any(r["applicant"].get("id_number", "").isdigit() for r in shown["records"])  # masked
    assert shown["would_quarantine"], "the simulator serves ~1% bad records: their reasons are listed"
    assert snapshot(db) == before


def test_a_refused_credential_exits_non_zero_with_the_system_s_words(db, districts) -> None:
    set_connection(f"onestop_src_{SOURCE}", districts[SOURCE].url, login="igate", password="wrong")
    try:
        before = snapshot(db)
        result = preview_cli()
        assert result.exit_code == 1
        assert (
            "failed:" in result.stdout and "HTTP 401" in result.stdout and "invalid_client" in result.stdout
        )
        assert snapshot(db) == before  # not even the failed call is recorded
    finally:
        set_connection(f"onestop_src_{SOURCE}", districts[SOURCE].url, **IGATE_FIELDS)


def test_config_check_live_reports_paths_the_answer_lacks(tmp_path, monkeypatch, districts) -> None:
    import yaml

    config = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
    rest = config["profiles"]["igate"]["rest"]
    rest["paginator"] = {
        "type": "page_number",
        "base": 0,
        "stop": "total_count",
        "total_path": "totalElements",
    }
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("ONESTOP_SOURCES", str(tmp_path / "sources.yaml"))
    result = cli("config", "check", "--live", SOURCE)
    assert result.exit_code == 1
    assert f"{SOURCE} (live): paginator.total_path 'totalElements' is not in the answer" in result.stderr

    rest["paginator"] = {"type": "page_number", "base": 0}
    rest["records"] = "items"
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    result = cli("config", "check", "--live", SOURCE)
    assert "no list of records at 'items': the answer's keys are ['content', 'page', 'size']" in result.stderr


@pytest.fixture(autouse=True)
def _connections(districts) -> None:
    for name, sim in districts.items():
        set_connection(f"onestop_src_{name}", sim.url, **IGATE_FIELDS)


def _in_xml(password: str, attribute: bool) -> str:
    element = etree.Element("MatKhau")
    if attribute:
        element.set("value", password)
    else:
        element.text = password
    return etree.tostring(element, encoding="unicode")


@pytest.mark.parametrize(
    "carried",
    [
        lambda p: _in_xml(p, attribute=False),  # zeep's envelope: a header element's text
        lambda p: _in_xml(p, attribute=True),
        lambda p: json.dumps({"matKhau": p}),
        lambda p: "tenDangNhap=u&matKhau=" + quote_plus(p),
    ],
    ids=["xml-text", "xml-attribute", "json", "form"],
)
def test_a_password_is_masked_in_every_form_a_request_body_carries_it(carried) -> None:
    from onestop.operations.preview import _request_entry, _Secrets

    password = "KM&HoSo<2025>\"'đ/+ x"
    body = carried(password)
    assert password not in body  # the form the request carries is not the password as written
    shown = _request_entry("POST", "http://h/x", {"data": body.encode()}, _Secrets([password]))["body"]
    assert "***" in shown
    for fragment in ("HoSo", "2025"):
        assert fragment not in shown, shown
