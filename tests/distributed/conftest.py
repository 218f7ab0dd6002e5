"""The distributed tier (`make test-distributed`): runs only when `-m` names it.

Until the root conftest registers the marker and `make test` excludes it, this file does both for this folder:
a plain `pytest` (make test's `-m "not scheduler and not browser"`) deselects these tests instead of spending
minutes on a Celery cluster.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "distributed: CeleryExecutor, two workers, this machine's PostgreSQL and Redis (`make test-distributed`)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "distributed" in (config.getoption("markexpr") or ""):
        return
    mine = [
        i for i in items if HERE in Path(i.path).resolve().parents and i.get_closest_marker("distributed")
    ]
    if mine:
        config.hook.pytest_deselected(items=mine)
        items[:] = [i for i in items if i not in mine]
