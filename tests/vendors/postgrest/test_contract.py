"""PostgREST holds its contract spoken directly (test_vendors onboards it): rows paged by a Range of items and
counted in a unit-less Content-Range with 206 for a part, 416 PGRST103 past the end, a query string decoded as
Warp decodes it (a `+` is a space: a time's `+07:00` sent unencoded is no timestamptz), an expired JWT refused
with PGRST301; and a sync sends the window with its offset intact, and reads an empty window (`*/0`) as no rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import requests

from onestop import pipeline
from tests.vendors import harness
from tests.vendors.postgrest.server import REFUSAL, TOKEN, WRONG_CONNECTION

AUTH = {"Authorization": f"Bearer {TOKEN}", "Prefer": "count=exact"}
WINDOW = "updated_at=gte.2025-01-01T00:00:00%2B07:00&updated_at=lt.2026-01-01T00:00:00%2B07:00"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with harness.start_server("postgrest") as server:
        yield server.url


def test_a_part_is_206_with_a_content_range_without_unit_and_the_whole_is_200(url: str) -> None:
    first = requests.get(f"{url}/ho_so?{WINDOW}&order=id", headers={**AUTH, "Range": "0-99"}, timeout=10)
    assert (first.status_code, first.headers["Content-Range"]) == (206, f"0-99/{harness.COUNT}")
    assert len(first.json()) == 100 and "qua_trinh" not in first.json()[0]  # embedded only when selected
    last = requests.get(f"{url}/ho_so?{WINDOW}&order=id&limit=100&offset=200", headers=AUTH, timeout=10)
    assert (last.status_code, last.headers["Content-Range"]) == (206, "200-249/250")
    whole = requests.get(f"{url}/ho_so?{WINDOW}&order=id&select=*,qua_trinh(*)", headers=AUTH, timeout=10)
    assert whole.headers["Content-Range"] == "0-99/250"  # db-max-rows: 100 a answer, whatever is asked
    assert isinstance(whole.json()[0]["qua_trinh"], list)


def test_past_the_end_is_416_pgrst103_and_an_empty_window_is_star_over_zero(url: str) -> None:
    harness.refused_once(
        url,
        lambda: requests.get(
            f"{url}/ho_so?{WINDOW}&order=id", headers={**AUTH, "Range": "300-399"}, timeout=10
        ),
        416,
        ['"code": "PGRST103"', "Requested range not satisfiable", "only 250 rows"],
    )
    empty = WINDOW.replace("2025-01-01", "2025-12-31")
    none = requests.get(f"{url}/ho_so?{empty}&order=id", headers={**AUTH, "Range": "0-99"}, timeout=10)
    assert (none.status_code, none.headers["Content-Range"], none.json()) == (200, "*/0", [])


def test_a_plus_sent_unencoded_is_a_space_and_no_timestamptz(url: str) -> None:
    raw = WINDOW.replace("%2B", "+")
    harness.refused_once(
        url,
        lambda: requests.get(f"{url}/ho_so?{raw}&order=id", headers=AUTH, timeout=10),
        400,
        ['"code": "22007"', "2025-01-01T00:00:00 07:00"],
    )


def test_an_expired_jwt_is_401_pgrst301_in_postgrests_words(url: str) -> None:
    expired = {"Authorization": f"Bearer {WRONG_CONNECTION['password']}"}
    harness.refused_once(
        url,
        lambda: requests.get(f"{url}/ho_so?{WINDOW}", headers=expired, timeout=10),
        401,
        ['"code": "PGRST301"', REFUSAL],
    )
    forged = {"Authorization": f"Bearer {TOKEN[:-4]}AAAA"}
    harness.refused_once(
        url,
        lambda: requests.get(f"{url}/ho_so?{WINDOW}", headers=forged, timeout=10),
        401,
        ["JWSInvalidSignature"],
    )


def test_a_sync_sends_the_window_with_its_offset_intact_and_reads_ranges(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("postgrest", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        stats = vendor.stats()

    assert counts.loaded == harness.COUNT and stats["refused"] == 0  # type: ignore[attr-defined]
    asked = stats["requests"]
    assert [r["headers"]["Range"] for r in asked] == ["0-99", "100-199", "200-299"]
    for request in asked:
        lower, upper = request["query"]["updated_at"]
        assert lower.startswith("gte.") and lower.endswith("+07:00")  # decoded as PostgREST decodes: %2B -> +
        assert upper.startswith("lt.") and upper.endswith("+07:00")
        assert request["query"]["order"] == "updated_at.asc,id.asc"
        assert quote("+") not in request["path"]


def test_an_empty_window_is_a_run_without_rows_not_a_failure(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("postgrest", tmp_path, "--count", "0") as vendor:
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        stats = vendor.stats()

    assert (counts.loaded, counts.quarantined) == (0, 0)  # type: ignore[attr-defined]
    assert len(stats["requests"]) == 1 and stats["refused"] == 0


def test_rows_deleted_under_a_read_make_the_last_range_416_and_the_window_is_read_again(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """60 rows deleted before the third page: 250 became 190, so `200-299` is past the end (416 PGRST103) while
    the rows that were 200-249 moved up to 140-189, past the pages read. The window is read again from its first
    page, as when a page's total says the list shrank: nothing is lost, and the run does not fail."""
    with harness.started("postgrest", tmp_path, "--delete-at", "3", "--delete", "60") as vendor:
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        stats = vendor.stats()
        survivors = vendor.truth()
        compared = harness.compare(db, vendor.source, survivors)

    assert len(survivors) == harness.COUNT - 60
    assert [r["headers"]["Range"] for r in stats["requests"]] == [
        "0-99",
        "100-199",
        "200-299",
        "0-99",
        "100-199",
    ]
    assert [r["status"] for r in stats["refusals"]] == [416]
    assert compared.missing == [] and compared.mismatches == []
    assert counts.loaded >= len(survivors)  # type: ignore[attr-defined]


def test_a_row_holding_what_postgresql_allows_and_no_dossier_should_costs_that_dossier_alone(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """timestamptz `infinity`, a step's status NULL, numeric `NaN` in an embedded fee: each row is quarantined
    naming the source, the record and the field, never its applicant's data; the rest of its page loads."""
    with harness.started("postgrest", tmp_path, "--corrupt", "3") as vendor:
        harness.configure(vendor, monkeypatch)
        items = vendor.truth()
        counts = pipeline.sync(vendor.source)
        rows = db.execute(
            "SELECT record_id, errors FROM onestop.quarantine WHERE source = %s AND state = 'open'",
            (vendor.source,),
        ).fetchall()
        spoiled = sorted(items, key=lambda i: (i["source_updated_at"], int(i["source_record_id"])))[:3]
        compared = harness.compare(db, vendor.source, [i for i in items if i not in spoiled])

    assert (counts.loaded, counts.quarantined) == (harness.COUNT - 3, 3)  # type: ignore[attr-defined]
    named = {r[0]: sorted((e["field"], e["source_path"]) for e in r[1]) for r in rows}
    assert named == {
        spoiled[0]["source_record_id"]: [("due_at", "han_tra")],
        spoiled[1]["source_record_id"]: [("history[0].status", "qua_trinh[0].trang_thai")],
        spoiled[2]["source_record_id"]: [("fees[0].amount_vnd", "le_phi[0].so_tien")],
    }
    said = " ".join(str(e) for r in rows for e in r[1])
    for item in spoiled:
        assert item["applicant"]["phone"] not in said and item["applicant"]["id_number"] not in said
    assert compared.mismatches == [] and compared.missing == []
