"""Domino Access Services holds its contract spoken directly (test_vendors onboards it): a view paged by
`Range: items=a-b` and answered with `Content-Range` (none past the end), the login form with HTTP 200 for a
request without a session and for refused credentials; and a session ended mid-read is one new login through the
form, the refused page asked again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from tests.vendors import harness
from tests.vendors.domino_das.server import LOGIN, PASSWORD, REFUSAL, VIEW

WINDOW = {"search": "[NgayCapNhat]>=01/01/2025 AND [NgayCapNhat]<=31/12/2025"}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with harness.start_server("domino_das") as server:
        yield server.url


def session(url: str, password: str = PASSWORD) -> requests.Session:
    s = requests.Session()
    s.post(
        f"{url}/names.nsf?Login",
        data={"Username": LOGIN, "Password": password, "RedirectTo": "/"},
        timeout=10,
    )
    return s


def test_the_view_is_paged_by_a_range_header_and_says_its_total_in_content_range(url: str) -> None:
    s = session(url)
    first = s.get(f"{url}{VIEW}", params=WINDOW, headers={"Range": "items=0-49"}, timeout=10)
    assert first.headers["Content-Range"] == f"items 0-49/{harness.COUNT}"
    entries = first.json()
    assert len(entries) == 50 and entries[0]["@position"] == "1" and len(entries[0]["@unid"]) == 32
    # IBM commons' JsonWriter escapes every '/'
    assert "\\/" in first.text
    last = s.get(f"{url}{VIEW}", params=WINDOW, headers={"Range": "items=200-299"}, timeout=10)
    assert last.headers["Content-Range"] == "items 200-249/250" and len(last.json()) == 50
    past = s.get(f"{url}{VIEW}", params=WINDOW, headers={"Range": "items=250-299"}, timeout=10)
    assert past.json() == [] and "Content-Range" not in past.headers


def test_without_a_range_das_serves_its_default_ten_and_counts_it_refused(url: str) -> None:
    harness.refused_once(
        url, lambda: session(url).get(f"{url}{VIEW}", params=WINDOW, timeout=10), 200, ['"@position": "10"']
    )


def test_no_session_and_refused_credentials_are_the_login_form_with_http_200(url: str) -> None:
    harness.refused_once(
        url,
        lambda: requests.get(f"{url}{VIEW}", headers={"Range": "items=0-9"}, timeout=10),
        200,
        ['name="Username"'],
    )
    harness.refused_once(url, lambda: session(url, "sai").get(f"{url}/", timeout=10), 200, [])
    said = requests.post(f"{url}/names.nsf?Login", data={"Username": LOGIN, "Password": "sai"}, timeout=10)
    assert (
        said.status_code == 200
        and REFUSAL in said.text
        and "DomAuthSessId" not in said.headers.get("Set-Cookie", "")
    )


def test_an_ended_session_means_one_new_login_and_the_same_range(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counts, stats = harness.sync_with_revocation("domino_das", tmp_path, monkeypatch, revoke_at=2)

    assert counts.loaded == harness.COUNT
    assert [r["reason"] for r in stats["refusals"]] == ["no session"]
    asked = [
        (r["method"], r["path"], r["headers"].get("Range")) for r in stats["requests"] if r["path"] != "/"
    ]
    view = ("GET", VIEW)
    assert asked == [
        ("POST", "/names.nsf", None),
        (*view, "items=0-49"),
        (*view, "items=50-99"),
        ("POST", "/names.nsf", None),
        (*view, "items=50-99"),
        (*view, "items=100-149"),
        (*view, "items=150-199"),
        (*view, "items=200-249"),
    ]
