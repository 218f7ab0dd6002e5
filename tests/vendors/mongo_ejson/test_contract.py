"""The Atlas Data API holds its contract spoken directly (test_vendors onboards it): a `find` whose filter writes
its dates as plain texts is answered with no documents and no error (a text never equals a Date), canonical and
relaxed Extended JSON are the same documents, a wrong key is 401 InvalidSession; and a document whose EJSON does
not fit (a $date of no number, an integer with two type keys: a hand edit in Compass) costs that dossier alone,
quarantined naming the field and the value's path, while the rest of its page loads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from mappings.typed import build
from onestop import pipeline
from tests.vendors import harness
from tests.vendors.common import updated
from tests.vendors.mongo_ejson.server import API_KEY, REFUSAL, ROUTE, oid

FIND = {
    "dataSource": "mongodb-atlas",
    "database": "motcua",
    "collection": "hoSo",
    "filter": {
        "updatedAt": {"$gte": {"$date": "2025-01-01T00:00:00Z"}, "$lt": {"$date": "2026-01-01T00:00:00Z"}}
    },
    "sort": {"updatedAt": 1, "_id": 1},
    "limit": 5,
}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with harness.start_server("mongo_ejson") as server:
        yield server.url


def find(
    url: str, body: dict[str, Any], accept: str = "application/ejson", key: str = API_KEY
) -> requests.Response:
    headers = {"apiKey": key, "Content-Type": "application/ejson", "Accept": accept}
    return requests.post(f"{url}{ROUTE}", data=json.dumps(body), headers=headers, timeout=10)


def test_canonical_and_relaxed_ejson_are_the_same_documents_once_read(url: str) -> None:
    canonical = find(url, FIND).json()["documents"]
    relaxed = find(url, FIND, accept="application/json").json()["documents"]
    assert (
        canonical[0]["updatedAt"]["$date"].keys() == {"$numberLong"}
        and "$numberInt" in canonical[0]["kenhNop"]
    )
    assert isinstance(relaxed[0]["kenhNop"], int) and isinstance(relaxed[0]["updatedAt"]["$date"], str)
    ejson = build("mongo_ejson", None, "")
    assert [ejson.decode(d) for d in canonical] == [ejson.decode(d) for d in relaxed]
    assert all(ejson.decode(d)[1] == [] for d in canonical)


def test_a_date_written_as_a_plain_text_matches_nothing_and_says_nothing(url: str) -> None:
    plain = {**FIND, "filter": {"updatedAt": {"$gte": "2025-01-01T00:00:00Z"}}}
    answer = find(url, plain)
    assert (answer.status_code, answer.json()) == (
        200,
        {"documents": []},
    )  # why the window must be {$date: …}


def test_a_wrong_key_is_401_invalid_session(url: str) -> None:
    harness.refused_once(
        url, lambda: find(url, FIND, key="sai"), 401, ['"error_code": "InvalidSession"', REFUSAL]
    )
    harness.refused_once(url, lambda: find(url, {**FIND, "limit": "5"}), 400, ["InvalidParameter"])
    numeric = {**FIND, "filter": {"updatedAt": {"$gte": {"$date": {"$numberLong": 1735689600000}}}}}
    harness.refused_once(url, lambda: find(url, numeric), 400, ["invalid extended JSON $date"])


def test_a_sync_sends_ejson_dates_and_integer_skip_and_limit(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("mongo_ejson", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        stats = vendor.stats()

    assert counts.loaded == harness.COUNT and stats["refused"] == 0  # type: ignore[attr-defined]
    bodies = [json.loads(r["body"]) for r in stats["requests"]]
    assert [(b["skip"], b["limit"]) for b in bodies] == [(0, 100), (100, 100), (200, 100)]
    window = bodies[0]["filter"]["updatedAt"]
    for bound in (window["$gte"], window["$lt"]):
        assert list(bound) == ["$date"] and isinstance(bound["$date"]["$numberLong"], str)  # canonical EJSON


def test_a_document_whose_ejson_does_not_fit_costs_that_dossier_alone(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("mongo_ejson", tmp_path, "--corrupt", "2") as vendor:
        harness.configure(vendor, monkeypatch)
        items = vendor.truth()
        counts = pipeline.sync(vendor.source)
        rows = db.execute(
            "SELECT record_id, errors, payload FROM onestop.quarantine WHERE source = %s AND state = 'open'",
            (vendor.source,),
        ).fetchall()
        first, second = sorted(items, key=lambda i: (updated(i), oid(i)))[:2]
        compared = harness.compare(db, vendor.source, [i for i in items if i not in (first, second)])

    assert (counts.loaded, counts.quarantined) == (harness.COUNT - 2, 2)  # type: ignore[attr-defined]
    named = {r[0]: [(e["field"], e["source_path"], e["reason"]) for e in r[1]] for r in rows}
    assert named == {
        first["source_record_id"]: [("received_at", "ngayTiepNhan", "typed value: '$numberLong': not a 64-bit integer")],
        second["source_record_id"]: [
            ("status", "trangThai", "typed value: a typed value '$numberInt' has other keys beside it "
                                    "('$numberLong'): it is expected alone")
        ],
    }  # fmt: skip
    for _record_id, _errors, payload in rows:
        assert '"$oid"' in payload  # the document as it came
    assert compared.mismatches == [] and compared.missing == []
