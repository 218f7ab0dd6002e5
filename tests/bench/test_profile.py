"""`make profile`: one real sync profiled call by call; the pages name the pipeline's own steps."""

from __future__ import annotations

import os

from bench.profile import profile
from bench.run import REST


def test_a_sync_is_profiled_step_by_step(tmp_path, monkeypatch) -> None:
    # profile() sets these for itself (its own database, simulator and connection): restored after the test.
    for name in (
        "ONESTOP_VAR",
        "ONESTOP_DB_URL",
        "ONESTOP_NORMALIZE_PROCESSES",
        f"AIRFLOW_CONN_ONESTOP_SRC_{REST.upper()}",
    ):
        monkeypatch.setenv(name, os.environ.get(name, ""))

    pages = profile(300, tmp_path / "var", tmp_path / "results")

    assert set(pages) == {"extract", "load"}
    extract = pages["extract"].read_text(encoding="utf-8")
    assert "stage" in extract and "normalize_chunk" in extract  # each page normalized as it arrives
    assert "finish" in pages["load"].read_text(encoding="utf-8")  # the load: the merge, in SQL
