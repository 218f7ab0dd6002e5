"""The 31-day search cap: the vendor refuses a longer window with its own error, and the sync (incremental.step:
30d) asks only for slices under the cap that cover its window end to end, following each slice's Link headers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise

import psycopg
import pytest
import requests

from onestop import pipeline
from schemas.dossier import HCM
from tests.vendors import harness
from tests.vendors.link_header.server import API_KEY, LOCAL, MAX_WINDOW, ROUTE


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Vendor]:
    with harness.started("link_header", tmp_path_factory.mktemp("link_header-cap")) as running:
        yield running


def search(vendor: harness.Vendor, start: str, end: str, key: str = API_KEY) -> requests.Response:
    query = {"FromDate": start, "ToDate": end, "PageIndex": 1, "PageSize": 20}
    return requests.get(
        f"{vendor.server.url}{ROUTE}", params=query, headers={"X-DVC-ApiKey": key}, timeout=10
    )


def test_a_window_over_31_days_is_refused_with_the_vendors_error(vendor: harness.Vendor) -> None:
    refused = vendor.stats()["refused"]
    assert search(vendor, "01-01-2025 00:00:00", "01-02-2025 00:00:00").status_code == 200  # exactly 31 days

    answer = search(vendor, "01-01-2025 00:00:00", "01-02-2025 00:00:01")

    assert answer.status_code == 400
    assert answer.json()["ErrorCode"] == "DATE_RANGE_TOO_LARGE"
    assert vendor.stats()["refused"] == refused + 1


def test_the_last_page_has_no_next_link(vendor: harness.Vendor) -> None:
    first = search(vendor, "01-03-2025 00:00:00", "31-03-2025 00:00:00")
    assert "next" in first.links and "prev" not in first.links
    last = requests.get(first.links["last"]["url"], headers={"X-DVC-ApiKey": API_KEY}, timeout=10)
    assert last.json() and "next" not in last.links and "prev" in last.links


def test_the_sync_slices_its_window_under_the_cap_and_follows_the_links(
    vendor: harness.Vendor, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.configure(vendor, monkeypatch)
    earlier = vendor.stats()
    before, refused = len(earlier["requests"]), earlier["refused"]

    pipeline.sync(vendor.source)

    window_start, window_end = db.execute(
        "SELECT window_start, window_end FROM onestop.sync_run WHERE source = %s", (vendor.source,)
    ).fetchone()
    stats = vendor.stats()
    asked = [r["query"] for r in stats["requests"][before:]]
    slices = sorted({(parse(q["FromDate"]), parse(q["ToDate"])) for q in asked})
    assert slices[0][0] == window_start.astimezone(HCM).replace(microsecond=0)
    assert abs(slices[-1][1] - window_end) < timedelta(seconds=1)
    assert all(a[1] == b[0] for a, b in pairwise(slices)), "contiguous slices"
    assert all(end - start <= MAX_WINDOW for start, end in slices)
    # within a slice the pages are 1, 2, … as the Link headers said; some slice needed more than one page
    for window in slices:
        pages = [int(q["PageIndex"]) for q in asked if (parse(q["FromDate"]), parse(q["ToDate"])) == window]
        assert pages == list(range(1, len(pages) + 1))
    assert max(int(q["PageIndex"]) for q in asked) >= 2
    assert stats["refused"] == refused


def parse(text: str) -> datetime:
    return datetime.strptime(text, LOCAL).replace(tzinfo=HCM)
