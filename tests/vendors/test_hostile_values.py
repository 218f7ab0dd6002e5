"""Hostile values in the answers of vendors onboarded by configuration: each costs what it must and no more.

An ADO Recordset whose columns hold control characters (a raw byte, `&#0;`: XML forbids both) costs those dossiers
alone, quarantined naming the source, the record and the field, the rest of their page loaded; a Hydra next link
that names another host is followed on the connection's own host, the credential never sent elsewhere; an
Elasticsearch scroll whose id is a megabyte is read and cleared, and one that expires fails the run in the
cluster's words.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from connectors.errors import ConnectorError
from onestop import pipeline
from tests.vendors import harness


def test_ado_control_characters_cost_their_dossiers_alone(
    tmp_path: Path, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    with harness.started("ado_recordset_xml", tmp_path, "--raw-control", "3", "--nul-ref", "100") as vendor:
        items = vendor.truth()
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
    bad = {items[3]["source_record_id"]: "@HoTen", items[100]["source_record_id"]: "@DiaChi"}
    assert counts.quarantined == 2
    rows = db.execute(
        "SELECT record_id, errors FROM onestop.quarantine WHERE source = %s ORDER BY record_id",
        (vendor.source,),
    ).fetchall()
    assert {r: [(e["field"], e["reason"]) for e in errors] for r, errors in rows} == {
        items[3]["source_record_id"]: [("@HoTen", "a control character U+0001 at position 1")],
        items[100]["source_record_id"]: [("@DiaChi", "a control character U+0000 at position 1")],
    }
    said = json.dumps([errors for _, errors in rows], ensure_ascii=False)
    assert items[3]["applicant"]["name"] not in said and items[100]["applicant"]["address"] not in said
    loaded = {r for (r,) in db.execute("SELECT source_record_id FROM onestop.dossier WHERE source = %s",
                                         (vendor.source,))}  # fmt: skip
    assert loaded == {i["source_record_id"] for i in items} - set(bad)  # the rest of both pages loaded


def test_a_hydra_next_link_to_another_host_is_followed_on_the_connections_own(
    tmp_path: Path, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    with harness.started(
        "api_platform_hydra", tmp_path, "--link-host", "http://attacker.invalid:81"
    ) as vendor:
        items = vendor.truth()
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        stats = vendor.stats()
    assert counts.quarantined == 0 and stats["refused"] == 0
    assert harness.compare(db, vendor.source, items).loaded == len(items)
    pages = [r for r in stats["requests"] if r["path"] == "/api/ho_sos"]
    assert len(pages) >= 4 and all(r["headers"]["Host"].startswith("127.0.0.1") for r in pages)


def test_an_elasticsearch_scroll_is_cleared_when_the_read_ends(
    tmp_path: Path, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    with harness.started("elastic_scroll", tmp_path, "--scroll-id-bytes", str(1 << 20)) as vendor:
        items = vendor.truth()
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        contexts = harness.control(vendor.server.url, "contexts")
        stats = vendor.stats()
    assert counts.quarantined == 0 and stats["refused"] == 0
    assert harness.compare(db, vendor.source, items).loaded == len(items)
    # a megabyte scroll id went back in the body, never in a URL; and the cluster holds nothing afterwards
    assert contexts["opened"] >= 1 and contexts["open"] == 0
    assert all(len(r["path"]) + len(json.dumps(r["query"])) < 200 for r in stats["requests"])


def test_an_expired_scroll_fails_the_run_naming_the_source_in_elasticsearchs_words(
    tmp_path: Path, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    with harness.started("elastic_scroll", tmp_path, "--expire-after", "1") as vendor:
        harness.configure(vendor, monkeypatch)
        with pytest.raises(ConnectorError) as failed:
            pipeline.sync(vendor.source)
    said = str(failed.value)
    assert said.startswith(f"{vendor.source}: ") and "search_context_missing_exception" in said
    assert db.execute("SELECT count(*) FROM onestop.dossier").fetchone() == (0,)
