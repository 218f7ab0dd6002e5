"""A cookie session the vendor drops mid-read (`ma_loi` "11" inside HTTP 200, an error rule with `means: auth`):
the connector logs in again once, sends the new cookie, and goes on from the same cursor."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.vendors import harness

PAGES = "/api/ho_so/dong_bo"


def test_a_dropped_cookie_session_means_one_new_login_and_the_same_cursor(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counts, stats = harness.sync_with_revocation("cursor", tmp_path, monkeypatch, revoke_at=2)

    assert counts.loaded == harness.COUNT
    assert [r["reason"].split()[0] for r in stats["refusals"]] == ["11"]
    calls = [
        ("login", None) if r["path"] != PAGES else ("page", r["query"].get("con_tro"))
        for r in stats["requests"]
    ]
    assert [kind for kind, _ in calls] == ["login", "page", "page", "login", "page", "page", "page"]
    assert calls[2][1] is not None and calls[2][1] == calls[4][1]  # the refused cursor is asked again
    cookies = [r["headers"].get("Cookie") for r in stats["requests"] if r["path"] == PAGES]
    assert cookies[0] == cookies[1] != cookies[2] == cookies[-1]
