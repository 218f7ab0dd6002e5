"""The gateway's 429 (Retry-After as an HTTP-date) and 503 maintenance page: waited out, nothing lost; a gateway
that stays down fails the run saying so."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from connectors.errors import TransientError
from onestop import pipeline
from tests.vendors import harness


def test_busy_and_maintenance_answers_are_waited_out(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("busy_gateway", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        stats = vendor.stats()
    assert counts.loaded == harness.COUNT
    asked = [(datetime.fromisoformat(r["at"]), r["query"]["offset"]) for r in stats["requests"]]
    busy = 2  # the 3rd data request was answered 429, Retry-After two seconds ahead (an HTTP-date)
    assert asked[busy][1] == asked[busy + 1][1]  # the same page asked again
    assert (asked[busy + 1][0] - asked[busy][0]).total_seconds() >= 0.9  # not before the date said
    assert sorted({o for _, o in asked}, key=int) == ["0", "60", "120", "180", "240"]


def test_a_gateway_that_stays_down_fails_the_run_clearly(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started(
        "busy_gateway", tmp_path, "--maintenance-at", "1", "--maintenance-for", "99"
    ) as vendor:
        harness.configure(vendor, monkeypatch)
        with pytest.raises(TransientError) as failure:
            pipeline.sync(vendor.source)
        asked = len(vendor.stats()["requests"])
    said = str(failure.value)
    assert said.startswith("vendor_busy_gateway: page: HTTP 503: ") and "Hệ thống đang bảo trì" in said
    assert asked == 5  # max_attempts, then the run fails (the next run reads the window again)
