"""What a DynamoDB table holds a reader to, past the onboarding test: an item whose typed JSON does not fit (two type
keys, an N that is no number: an app's bug, a hand edit in the console) costs that dossier alone, quarantined
naming the field that reads it and the value's path, its raw item kept as it came; a throttled Scan (HTTP 400 with
a ProvisionedThroughputExceededException, as every DynamoDB error comes) is retried, not the run failed."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from onestop import pipeline
from tests.vendors import harness
from tests.vendors.dynamodb_json.server import hash_order


def test_an_item_whose_typed_values_do_not_fit_costs_that_dossier_alone(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("dynamodb_json", tmp_path, "--corrupt", "2") as vendor:
        harness.configure(vendor, monkeypatch)
        items = vendor.truth()
        counts = pipeline.sync(vendor.source)
        rows = db.execute(
            "SELECT record_id, errors, payload FROM onestop.quarantine WHERE source = %s AND state = 'open'"
            " ORDER BY record_id",
            (vendor.source,),
        ).fetchall()
        compared = harness.compare(
            db, vendor.source, [i for i in items if i not in sorted(items, key=hash_order)[:2]]
        )

    assert (counts.loaded, counts.quarantined) == (harness.COUNT - 2, 2)  # type: ignore[attr-defined]
    first, second = sorted(items, key=hash_order)[:2]
    named = {r[0]: [(e["field"], e["source_path"], e["reason"]) for e in r[1]] for r in rows}
    assert named == {
        first["source_record_id"]: [
            ("status", "trangThai", "typed value: a typed value has 2 type keys ('N', 'S'): one is expected")
        ],
        second["source_record_id"]: [("channel", "kenhNop", "typed value: 'N': not a number")],
    }
    for _record_id, _errors, payload in rows:
        assert '"pk": {"S": "HOSO#' in payload or '"pk":{"S":"HOSO#' in payload  # the item as it came
    assert compared.mismatches == [] and compared.missing == []


def test_a_throttled_scan_is_retried_and_the_run_loads_everything(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("dynamodb_json", tmp_path, "--throttle-at", "2") as vendor:
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        stats = vendor.stats()
        compared = harness.compare(db, vendor.source, vendor.truth())

    assert counts.loaded == harness.COUNT and (compared.mismatches, compared.missing) == ([], [])  # type: ignore[attr-defined]
    bodies = [json.loads(r["body"]) for r in stats["requests"]]
    assert bodies[1] == bodies[2]  # the throttled page asked again, its ExclusiveStartKey as it was
    assert stats["refused"] == 0
