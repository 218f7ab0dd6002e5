"""Zendesk's cursor-based incremental export through the real pipeline: the first run asks by start_time, reads by
after_cursor until end_of_stream; the last page's after_cursor is kept and the next run asks with it alone, getting
only the tickets updated since."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import psycopg
import pytest
import requests

from onestop import pipeline
from tests.vendors import harness

NAME = "zendesk_incremental"


@pytest.fixture
def desk(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[harness.Vendor]:
    with harness.started(NAME, tmp_path / "desk") as running:  # type: ignore[operator]
        harness.configure(running, monkeypatch)
        yield running


def exports(vendor: harness.Vendor) -> list[dict[str, str]]:
    return [r["query"] for r in vendor.stats()["requests"] if r["path"].endswith("/cursor.json")]


def test_the_next_run_asks_with_the_kept_after_cursor_alone(
    desk: harness.Vendor, db: psycopg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first = pipeline.sync(desk.source)
    assert first.loaded == 250 and first.quarantined == 0
    asked = exports(desk)
    assert "start_time" in asked[0] and all(set(q) == {"cursor", "per_page"} for q in asked[1:])
    row = db.execute("SELECT cursor FROM onestop.watermark WHERE source = %s", (desk.source,)).fetchone()
    assert row is not None and row[0] and row[0] not in caplog.text

    again = pipeline.sync(desk.source)
    assert again.fetched == 0 and exports(desk)[len(asked)] == {"cursor": row[0], "per_page": "100"}

    requests.post(f"{desk.server.url}/_vendor/change", params={"update": 3}, timeout=30).raise_for_status()
    changed = pipeline.sync(desk.source)
    assert (changed.fetched, changed.loaded) == (3, 3)
    result = harness.compare(db, desk.source, desk.truth())
    assert not result.missing and not result.mismatches and desk.stats()["refused"] == 0
