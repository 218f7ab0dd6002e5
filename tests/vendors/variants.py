"""A vendor onboarded again with its registry entry changed as an administrator would change it (another version
of the same product, another setting of the same system): the folder's entry, edited, pasted as the test's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import yaml

from onestop import pipeline
from tests.vendors import harness


def reconfigure(vendor: harness.Vendor, monkeypatch: Any, edit: Callable[[dict[str, Any]], None],
                connection: dict[str, Any] | None = None) -> None:  # fmt: skip
    """harness.configure, then the entry as `edit` leaves it."""
    harness.configure(vendor, monkeypatch, connection)
    registry = vendor.work / "sources.yaml"
    data = yaml.safe_load(registry.read_text(encoding="utf-8"))
    edit(data["sources"][0])
    registry.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def read_whole(db: psycopg.Connection, monkeypatch: Any, work: Path, vendor_name: str, server_args: list[str],
               edit: Callable[[dict[str, Any]], None]) -> None:  # fmt: skip
    """The vendor started with `server_args` and synced by its entry as `edit` leaves it: every truth dossier
    loaded as served, none quarantined, nothing refused."""
    with harness.started(vendor_name, work, *server_args) as vendor:
        items = vendor.truth()
        reconfigure(vendor, monkeypatch, edit)
        counts = pipeline.sync(vendor.source)
        stats = vendor.stats()
    assert stats["refused"] == 0 and counts.quarantined == 0
    result = harness.compare(db, vendor.source, items)
    assert result.loaded == len(items) and not result.mismatches
