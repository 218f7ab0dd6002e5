"""A read that outlives its OAuth2 token: the connector takes a new one before `expires_in` runs out (the server
never has to refuse an expired token), and when the server revokes a token early it answers the 401 by taking
a new token and asking again."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from onestop import pipeline
from tests.vendors import harness

PAGES = "/api/v2/dossiers"


def tokens_used(stats: dict) -> list[str]:
    return [r["headers"].get("Authorization", "") for r in stats["requests"] if r["path"] == PAGES]


def test_a_token_is_renewed_before_it_expires(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("has_more", tmp_path) as vendor:
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        stats = vendor.stats()

    grants = [r for r in stats["requests"] if r["path"] == "/oauth/token"]
    assert counts.loaded == harness.COUNT
    assert len(grants) >= 2, "the read takes longer than one token lives"
    assert len(set(tokens_used(stats))) >= 2
    assert stats["refused"] == 0, stats["refusals"]


def test_a_revoked_token_is_replaced_and_the_page_asked_again(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counts, stats = harness.sync_with_revocation("has_more", tmp_path, monkeypatch, revoke_at=2)

    assert counts.loaded == harness.COUNT
    assert [r["reason"] for r in stats["refusals"]] == ["invalid_token"]
    pages = [r["query"]["page"] for r in stats["requests"] if r["path"] == PAGES]
    assert pages == ["0", "1", "1", "2", "3", "4"]
