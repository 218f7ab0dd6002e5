"""Next-page links: the sync asks for the first page with the window and then follows the vendor's
root-relative links exactly as given (behind the /motcua proxy prefix), which carry nothing but the opaque
TiepTheo token; the vendor refuses a link that a client has added to."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import requests

from onestop import pipeline
from tests.vendors import harness
from tests.vendors.next_link.server import FIRST_PAGE, PASSWORD, REFUSAL, ROUTE, USER


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Vendor]:
    with harness.started("next_link", tmp_path_factory.mktemp("next_link-links")) as running:
        yield running


def first_page(vendor: harness.Vendor, auth: tuple[str, str] = (USER, PASSWORD)) -> requests.Response:
    query = {"TuNgay": "2025-01-01T00:00:00+07:00", "DenNgay": "2025-12-31T00:00:00+07:00", "SoLuong": 50}
    return requests.get(f"{vendor.server.url}{ROUTE}", params=query, auth=auth, timeout=10)


def test_a_followed_link_must_not_be_added_to(vendor: harness.Vendor) -> None:
    link = first_page(vendor).json()["LienKet"]["TrangSau"]
    assert link.startswith(f"{ROUTE}?TiepTheo=")
    refused = vendor.stats()["refused"]

    answer = requests.get(f"{vendor.server.url}{link}&SoLuong=50", auth=(USER, PASSWORD), timeout=10)

    assert answer.status_code == 400 and answer.json()["MaLoi"] == "THAM_SO_THUA"
    assert vendor.stats()["refused"] == refused + 1


def test_a_wrong_password_is_refused_with_a_basic_challenge(vendor: harness.Vendor) -> None:
    answer = first_page(vendor, (USER, "sai-mat-khau"))
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic ")
    assert answer.json()["ThongBao"] == REFUSAL


def test_the_sync_follows_the_links_as_given(
    vendor: harness.Vendor, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.configure(vendor, monkeypatch)
    earlier = vendor.stats()
    before, refused = len(earlier["requests"]), earlier["refused"]

    counts = pipeline.sync(vendor.source)

    stats = vendor.stats()
    asked = stats["requests"][before:]
    assert {r["path"] for r in asked} == {ROUTE}
    assert set(asked[0]["query"]) == FIRST_PAGE
    assert [set(r["query"]) for r in asked[1:]] == [{"TiepTheo"}] * (len(asked) - 1)
    assert len(asked) >= 3 and counts.loaded == 250 and stats["refused"] == refused
