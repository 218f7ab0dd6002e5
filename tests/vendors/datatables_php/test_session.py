"""The DataTables screen's script: the grid's own parameters (draw counting up, start by the rows read, length),
recordsTotal as the stop; a session dropped mid-read (DataTables' `error` saying so) means one new login and the
same rows asked again; a row's cells are named by the screen's column order, its action link too."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml

from onestop import pipeline
from tests.vendors import harness
from tests.vendors.datatables_php.server import COLUMNS

ROWS = "/ajax/ho-so-ssp.php"


def test_a_dropped_session_means_one_new_login_and_the_same_rows_asked_again(
    db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with harness.started("datatables_php", tmp_path, "--revoke-at", "2") as vendor:
        harness.configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        stats, items = vendor.stats(), vendor.truth()

    assert counts.loaded == len(items) == harness.COUNT and counts.quarantined == 0
    assert not harness.compare(db, vendor.source, items).missing
    assert [r["reason"] for r in stats["refusals"]] == ["no session"]
    calls = [
        (r["method"], r["path"], r["query"].get("draw"), r["query"].get("start")) for r in stats["requests"]
    ]
    login = ("POST", "/ajax/dang-nhap.php", None, None)
    assert calls == [
        login, ("GET", ROWS, "1", "0"), ("GET", ROWS, "2", "100"),
        login, ("GET", ROWS, "2", "100"), ("GET", ROWS, "3", "200"),
    ]  # fmt: skip
    assert {r["query"]["length"] for r in stats["requests"] if r["path"] == ROWS} == {"100"}


def test_the_registry_names_every_column_of_the_screen_in_its_order() -> None:
    entry = yaml.safe_load((harness.VENDORS_DIR / "datatables_php" / "source.yaml").read_text("utf-8"))[0]
    assert entry["rest"]["records"]["rows"]["columns"] == COLUMNS
