"""A session the vendor drops mid-read (an envelope `UNAUTHORIZED` inside HTTP 200, matched by the entry's
`means: auth` error rule): the connector logs in again once and asks for the same page with the new token."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.vendors import harness


def test_a_dropped_session_means_one_new_login_and_the_same_page(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counts, stats = harness.sync_with_revocation("post_pages", tmp_path, monkeypatch, revoke_at=3)

    assert counts.loaded == harness.COUNT
    assert [r["reason"] for r in stats["refusals"]] == ["UNAUTHORIZED"]
    calls = [
        "login" if r["path"] == "/api/auth/dang-nhap" else json.loads(r["body"])["phanTrang"]["trang"]
        for r in stats["requests"]
    ]
    assert calls[:6] == ["login", 1, 2, 3, "login", 3]
    tokens = [
        r["headers"].get("X-Auth-Token") for r in stats["requests"] if r["path"] == "/api/hoso/tim-kiem"
    ]
    assert tokens[2] != tokens[3] == tokens[-1]
