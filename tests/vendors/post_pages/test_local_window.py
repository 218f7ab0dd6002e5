"""The zone-less vendor receives its window in Asia/Ho_Chi_Minh wall-clock time: the run's window (UTC in
onestop.sync_run) is what the server saw, converted to local time; a window sent in UTC would read 7 hours early
and silently miss the latest dossiers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise

import psycopg
import pytest

from onestop import pipeline
from schemas.dossier import HCM
from tests.vendors import harness
from tests.vendors.post_pages.server import LOCAL


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Vendor]:
    with harness.started("post_pages", tmp_path_factory.mktemp("post_pages-window")) as running:
        yield running


def searched_windows(vendor: harness.Vendor) -> list[tuple[datetime, datetime]]:
    bodies = [json.loads(r["body"]) for r in vendor.stats()["requests"] if r["path"] == "/api/hoso/tim-kiem"]
    windows = {(b["dieuKien"]["tuNgay"], b["dieuKien"]["denNgay"]) for b in bodies}  # pages repeat a slice
    return sorted((datetime.strptime(s, LOCAL), datetime.strptime(e, LOCAL)) for s, e in windows)


def test_the_window_is_sent_in_local_time(
    vendor: harness.Vendor, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.configure(vendor, monkeypatch)
    pipeline.sync(vendor.source)
    window_start, window_end = db.execute(
        "SELECT window_start, window_end FROM onestop.sync_run WHERE source = %s", (vendor.source,)
    ).fetchone()

    slices = searched_windows(vendor)

    local_start = window_start.astimezone(HCM).replace(tzinfo=None)
    local_end = window_end.astimezone(HCM).replace(tzinfo=None)
    assert slices[0][0] == local_start.replace(microsecond=0) == datetime(2025, 1, 1)  # the registry's start
    assert abs(slices[-1][1] - local_end) < timedelta(seconds=1)
    # the slices (incremental.step: 180d) cover the window end to end, each under the vendor's 366-day cap
    assert all(a[1] == b[0] for a, b in pairwise(slices))
    assert all(end - start <= timedelta(days=180) for start, end in slices)
