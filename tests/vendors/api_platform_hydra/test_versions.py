"""API Platform 4 writes Hydra without its prefix (`member`, `totalItems`, `view.next`): the same system, read by
the same entry with its two paths written so, loads the same dossiers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from onestop import pipeline
from tests.vendors import harness
from tests.vendors.variants import read_whole


def unprefixed(entry: dict[str, Any]) -> None:
    entry["rest"]["records"] = "member"
    entry["rest"]["paginator"]["next_path"] = "view.next"


def test_api_platform_4_without_the_hydra_prefix_is_read_by_its_paths(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    read_whole(db, monkeypatch, tmp_path, "api_platform_hydra", ["--no-prefix"], unprefixed)


def test_a_prefixed_entry_refuses_a_prefixless_answer_rather_than_read_nothing(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from connectors.errors import RefusedAnswer

    with harness.started("api_platform_hydra", tmp_path, "--no-prefix") as vendor:
        harness.configure(vendor, monkeypatch)
        with pytest.raises(RefusedAnswer, match=r"no list of records at 'hydra:member'.*'member'"):
            pipeline.sync(vendor.source)


def test_a_revoked_jwt_is_renewed_once_and_nothing_is_lost(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counts, stats = harness.sync_with_revocation("api_platform_hydra", tmp_path, monkeypatch, revoke_at=2)
    assert counts.loaded == harness.COUNT
    assert [r["reason"] for r in stats["refusals"]] == ["Invalid JWT Token"]
    assert [r["path"] for r in stats["requests"]].count("/api/login_check") == 2
