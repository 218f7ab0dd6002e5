"""`onestop source preview` for every kind beyond REST: a SOAP service with a login, a legacy XML system, a gateway
whose records are base64 of a JSON text inside its answer, and a change feed are read (or peeked) as a sync would, secrets masked, nothing written; a feed's batch is not leased,
so the next real sync gets it at once."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from onestop import pipeline
from onestop.cli import app
from tests.onestop.operations.test_preview import snapshot
from tests.vendors import harness


def preview(vendor: harness.Vendor) -> dict:
    result = CliRunner().invoke(app, ["source", "preview", vendor.source, "--json", "--since", "1000d"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert vendor.connection["password"] not in result.stdout, "the password shown"
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", ["soap_login", "xml_form", "json_string", "list_detail"])
def test_a_preview_of_a_soap_or_xml_system_or_of_data_inside_a_text_reads_as_a_sync_would_and_writes_nothing(
    name: str, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started(name, tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        before = snapshot(db)
        shown = preview(vendor)
        assert snapshot(db) == before
    assert shown["error"] is None and shown["problems"] == []
    assert shown["records_per_page"] and shown["records_per_page"][0] > 0 and shown["records"]
    assert shown["would_quarantine"] == {}
    page_calls = [r for r in shown["requests"] if r["method"] == "POST" or "query" in r]
    assert page_calls, shown["requests"]
    if name == "soap_login":  # the login envelope's password and the session token are masked in the envelope
        login, page = shown["requests"][-2:]
        assert "password>***</" in login["body"]
        assert "SessionToken>***<" in page["body"]
    if name == "list_detail":  # each listed record's detail call, its id percent-encoded, the token masked
        details = [r for r in shown["requests"] if r["url"].endswith("/chi-tiet")]
        assert len(details) == shown["records_per_page"][0] and "/NS%2F" in details[0]["url"]
        assert all(r["headers"]["Authorization"] == "***" for r in details)
        assert all(r["procedure_code"] and r["history"] for r in shown["records"])  # mapped from the details


def test_a_preview_of_a_feed_peeks_and_leaves_the_batch_to_the_real_sync(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("feed_kafka_rest", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        before = snapshot(db)
        shown = preview(vendor)
        assert snapshot(db) == before
        assert shown["error"] is None and shown["records_per_page"] == [100]
        assert [r["url"].rsplit("/", 1)[-1].split("?")[0] for r in shown["requests"]] == ["token", "peek"]

        counts = pipeline.sync(vendor.source)  # at once: nothing was leased by the preview
        paths = [r["path"].rsplit("/", 1)[-1] for r in vendor.stats()["requests"]]
        deleted = vendor.deleted()
    assert counts.loaded == harness.COUNT + len(deleted) and paths.count("records") == 6
    assert paths.count("commit") == 5


def test_a_feed_without_a_peek_call_is_not_previewed(monkeypatch: pytest.MonkeyPatch) -> None:
    from onestop import registry
    from onestop.operations.preview import preview as run_preview

    source = next(s for s in registry.load().sources if s.kind == "feed")
    assert source.feed is not None and source.feed.peek is None
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{source.conn_id.upper()}", json.dumps({"host": "http://127.0.0.1:9", "password": "k"})
    )
    result = run_preview(source)
    assert result.error is not None and "declares no `peek` call" in result.error
    assert result.requests == []  # not even a connection attempt
