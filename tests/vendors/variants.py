"""A vendor onboarded again with its registry entry changed as an administrator would change it (another version
of the same product, another setting of the same system): the folder's entry, edited, pasted as the test's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from tests.vendors import harness


def reconfigure(vendor: harness.Vendor, monkeypatch: Any, edit: Callable[[dict[str, Any]], None],
                connection: dict[str, Any] | None = None) -> None:  # fmt: skip
    """harness.configure, then the entry as `edit` leaves it."""
    harness.configure(vendor, monkeypatch, connection)
    registry = vendor.work / "sources.yaml"
    data = yaml.safe_load(registry.read_text(encoding="utf-8"))
    edit(data["sources"][0])
    registry.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
