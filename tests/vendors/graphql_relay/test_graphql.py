"""A GraphQL system, served by graphql-core (it parses, validates and executes what it is sent): the operation
goes as written, with the window, the page size and the cursor as its variables; a token the system drops
mid-read (UNAUTHENTICATED inside HTTP 200) means one new login and the same cursor; a query the schema does not
allow fails the run with the system's own words; a field the system could not read for one dossier (a partial
result: null, and an error naming its path) costs that dossier alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import requests
import yaml

from connectors.errors import ConnectorError
from onestop import pipeline
from tests.vendors import harness

FOLDER = Path(__file__).parent


def operations(stats: dict) -> list[tuple[str, dict]]:
    """(operationName, variables) of each request the system answered."""
    sent = [json.loads(r["body"]) for r in stats["requests"]]
    return [(body.get("operationName") or "DangNhap", body["variables"]) for body in sent]


def test_the_operation_goes_as_written_and_a_dropped_token_means_one_login_and_the_same_cursor(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counts, stats = harness.sync_with_revocation("graphql_relay", tmp_path, monkeypatch, revoke_at=2)

    assert counts.loaded == harness.COUNT
    assert [r["reason"] for r in stats["refusals"]] == ["UNAUTHENTICATED"]
    calls = operations(stats)
    assert [name for name, _ in calls] == ["DangNhap", *["HoSoThayDoi"] * 2, "DangNhap", *["HoSoThayDoi"] * 4]
    pages = [variables for name, variables in calls if name == "HoSoThayDoi"]
    assert (
        "after" not in pages[0] and pages[1]["after"] == pages[2]["after"]
    )  # the refused cursor, asked again
    assert {p["first"] for p in pages} == {60} and len({(p["tu"], p["den"]) for p in pages}) == 1
    written = yaml.safe_load((FOLDER / "source.yaml").read_text(encoding="utf-8"))[0]["rest"]["request"]
    sent = json.loads(stats["requests"][1]["body"])["query"]
    assert (
        sent == written["graphql"]["query"] and "}}" in sent
    )  # GraphQL's braces, never taken for placeholders
    tokens = [r["headers"]["Authorization"] for r in stats["requests"] if "HoSoThayDoi" in r["body"]]
    assert tokens[0] == tokens[1] != tokens[2] == tokens[-1]


def test_a_query_the_schema_does_not_allow_fails_the_run_in_the_systems_words(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("graphql_relay", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        registry_file = vendor.work / "sources.yaml"
        registry_file.write_text(registry_file.read_text().replace("ten maMau", "ten maMauDon"))
        with pytest.raises(ConnectorError) as caught:
            pipeline.sync(vendor.source)
        stats = vendor.stats()

    assert "Cannot query field 'maMauDon' on type 'GiayTo'" in str(caught.value)
    assert [r["reason"] for r in stats["refusals"]] == [
        "validation"
    ]  # not retried: asking again changes nothing
    assert db.execute("SELECT count(*) FROM onestop.dossier").fetchone() == (0,)


def test_a_field_the_system_could_not_read_costs_its_dossier_alone_until_a_backfill_reads_it_whole(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("graphql_relay", tmp_path, "--field-errors", "7") as vendor:
        harness.configure(vendor, monkeypatch)
        first = pipeline.sync(vendor.source)
        failing = sorted(i["source_record_id"] for i in vendor.truth() if int(i["source_record_id"]) % 7 == 0)
        quarantined = db.execute(
            "SELECT record_id, errors FROM onestop.quarantine WHERE state = 'open' ORDER BY record_id"
        ).fetchall()
        requests.post(f"{vendor.server.url}/_vendor/heal", timeout=10).raise_for_status()
        backfill = pipeline.sync(
            vendor.source, interval=(datetime(2025, 1, 1, tzinfo=UTC), datetime.now(UTC))
        )
        left_open = db.execute("SELECT count(*) FROM onestop.quarantine WHERE state = 'open'").fetchone()

    assert failing and (first.loaded, first.quarantined) == (harness.COUNT - len(failing), len(failing))
    assert sorted(r for r, _ in quarantined) == failing
    said = f"the system reported an error for this field: {vendor.module.APPLICANT_DOWN}"
    assert {tuple((e["field"], e["reason"]) for e in errors) for _, errors in quarantined} == {
        (("node.chuHoSo", said),)
    }
    assert backfill.loaded == len(failing) and left_open == (0,)  # read whole, each leaves the open failures
